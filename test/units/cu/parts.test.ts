import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, parseDataItem } from '../../../units/ans104/index.js';
import {
  BUNDLED,
  InvalidLimit,
  dryRunMessage,
  memoryLimits,
  parseBound,
  parseSize,
  prepareBinary,
  processLimits,
  withMemoryMaximum,
} from '../../../units/cu/index.js';
import { bundledDir } from '../../../units/cu/modules.js';
import { addressOf, messageFromSlot, shapeMessage } from '../../../units/cu/message.js';

const binary = (file: string) => readFileSync(join(bundledDir()!, file));

describe('Memory-Limit and Compute-Limit', () => {
  it('reads sizes as the reference does (dash dropped, powers of 1024)', () => {
    expect(parseSize('1-gb')).toBe(2 ** 30);
    expect(parseSize('512-mb')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5GB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('16777216')).toBe(16777216);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseSize('-5-mb')).toBeUndefined();
  });

  it("the process's tags override the module's; limits past what the CU accepts are refused", () => {
    const mod = [{ name: 'Memory-Limit', value: '1-gb' }, { name: 'Compute-Limit', value: '9000000000000' }];
    const bounds = { maxMemory: 4 * 2 ** 30, maxCompute: 9e12 };
    expect(processLimits([], mod, bounds)).toEqual({ memory: 2 ** 30, compute: 9e12 });
    expect(processLimits([{ name: 'Memory-Limit', value: '256-mb' }, { name: 'Compute-Limit', value: '1000' }], mod, bounds)).toEqual({ memory: 256 * 2 ** 20, compute: 1000 });
    expect(() => processLimits([{ name: 'Memory-Limit', value: '8-gb' }], mod, bounds)).toThrow(InvalidLimit);
    expect(() => processLimits([{ name: 'Compute-Limit', value: '1e3' }], mod, bounds)).toThrow(/not an integer/);
    expect(() => processLimits([], [], bounds)).toThrow(/no Memory-Limit/);
  });

  it.each([
    ['aos2_0_4_32.wasm', false],
    ['aos2_0_6.wasm', true],
  ])('lowers the memory maximum declared by %s, never raises it, refuses one below its start', (file, memory64) => {
    const b = binary(file);
    expect(memoryLimits(b)).toEqual({ initial: 1088, maximum: 8192, memory64 });
    const limited = withMemoryMaximum(b, 2048);
    expect(memoryLimits(limited)).toEqual({ initial: 1088, maximum: 2048, memory64 });
    expect(WebAssembly.validate(limited as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(withMemoryMaximum(b, 100_000)).toBe(b);
    expect(() => withMemoryMaximum(b, 1000)).toThrow(/starts with 1088/);
  });

  it('meters the binary for the -metering formats (an import of metering.usegas appears)', () => {
    const metered = prepareBinary(binary('aos2_0_4_32.wasm'), 'wasm32-unknown-emscripten-metering', 2 ** 30);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>));
    expect(imports).toContainEqual({ module: 'metering', name: 'usegas', kind: 'function' });
    expect(BUNDLED.map((b) => b.format)).toContain('wasm32-unknown-emscripten-metering');
  });
});

describe('messages as the reference CU builds them', () => {
  const assignment = async (wallet: Awaited<ReturnType<typeof generateWallet>>, processId: string, messageId: string, slot: number) =>
    createDataItem(
      {
        data: '',
        anchor: randomBytes(32),
        tags: [
          { name: 'Process', value: processId },
          { name: 'Message', value: messageId },
          { name: 'Epoch', value: '0' },
          { name: 'Nonce', value: String(slot) },
          { name: 'Hash-Chain', value: 'H'.repeat(43) },
          { name: 'Block-Height', value: '000000001234' },
          { name: 'Timestamp', value: '1700000000123' },
          { name: 'Data-Protocol', value: 'ao' },
          { name: 'Type', value: 'Assignment' },
        ],
      },
      wallet,
    );

  const anId = () => randomBytes(32).toString('base64url');

  it('From is From-Process when a MU forwarded the message (Forwarded-By is the signer); tags From/Owner are dropped', async () => {
    const [mu, su] = [await generateWallet('ed25519'), await generateWallet('ed25519')];
    const pid = anId();
    const m = await createDataItem(
      {
        data: 'héllo',
        target: pid,
        anchor: '00000000000000000000000000000007',
        tags: [
          { name: 'Action', value: 'Hi' },
          { name: 'From-Process', value: 'F'.repeat(43) },
          { name: 'From', value: 'spoof' },
          { name: 'Owner', value: 'spoof' },
        ],
      },
      mu,
    );
    const a = await assignment(su, pid, m.id, 5);
    const msg = messageFromSlot(
      { processId: pid, slot: 5, assignment: a.raw, assignmentId: a.id, message: m.raw, messageId: m.id, timestamp: 1700000000123, blockHeight: 1234, hashChain: 'H'.repeat(43) },
      pid,
    )!;
    expect(msg).toEqual({
      Id: m.id,
      Signature: parseDataItem(m.raw).signature,
      Owner: mu.address,
      From: 'F'.repeat(43),
      'Forwarded-By': mu.address,
      Tags: [
        { name: 'Action', value: 'Hi' },
        { name: 'From-Process', value: 'F'.repeat(43) },
      ],
      Message: m.id,
      Target: pid,
      Epoch: 0,
      Nonce: 5,
      Timestamp: 1700000000123,
      'Block-Height': 1234,
      'Hash-Chain': 'H'.repeat(43),
      Cron: false,
      Data: 'héllo',
      Anchor: '00000000000000000000000000000007',
    });
    expect(addressOf(parseDataItem(m.raw).owner)).toBe(mu.address);
  });

  it('data that is not UTF-8 is left out; an assigned message of another process keeps its own target', async () => {
    const w = await generateWallet('ed25519');
    const other = anId();
    const m = await createDataItem({ data: Uint8Array.from([0xff, 0xfe, 0x00]), target: other }, w);
    const msg = shapeMessage(parseDataItem(m.raw), { processId: 'P'.repeat(43), message: m.id, epoch: 0, nonce: 3, timestamp: 1, blockHeight: 0, hashChain: 'h' });
    expect(msg.Data).toBeUndefined();
    expect(msg.Target).toBe(other);
    expect(msg.From).toBe(w.address);
    expect(msg['Forwarded-By']).toBeUndefined();
  });

  it('a dry-run message: the latest Timestamp and Block-Height unless given, Read-Only, From from the claimed Owner', () => {
    const pid = 'P'.repeat(43);
    expect(dryRunMessage({ Owner: 'me', Tags: [{ name: 'Action', value: 'Info' }] }, pid, { timestamp: 5, blockHeight: 6 })).toEqual({
      Timestamp: 5,
      'Block-Height': 6,
      Target: pid,
      Owner: 'me',
      From: 'me',
      Tags: [{ name: 'Action', value: 'Info' }],
      Cron: false,
      'Read-Only': true,
    });
    expect(dryRunMessage({ Tags: [{ name: 'From-Process', value: 'X' }], Timestamp: '9' }, pid, { timestamp: 5 })).toMatchObject({ From: 'X', Timestamp: 9 });
    expect(() => dryRunMessage([], pid, {})).toThrow(/JSON object/);
    expect(() => dryRunMessage({ Tags: [{ name: 'A' }] }, pid, {})).toThrow(/Tags/);
    expect(() => dryRunMessage({ Owner: 5 }, pid, {})).toThrow(/Owner/);
  });

  it('result cursors are the reference CU cursors; a plain value is a timestamp', () => {
    const cursor = Buffer.from(JSON.stringify({ timestamp: 17, ordinate: '4', sort: 'ASC' })).toString('base64');
    expect(parseBound(cursor)).toEqual({ position: { slot: 4, cron: -1 } });
    const cron = Buffer.from(JSON.stringify({ timestamp: 1700000001000, ordinate: '4', cron: '0-1-second', sort: 'ASC' })).toString('base64');
    expect(parseBound(cron)).toEqual({ position: { slot: 4, cron: 1700000001000 } });
    expect(parseBound('1700000000000')).toEqual({ timestamp: 1700000000000 });
    expect(parseBound(undefined)).toBeUndefined();
    expect(() => parseBound('not-a-thing')).toThrow(/neither a cursor nor a timestamp/);
  });
});
