/**
 * State attestations: a CU serves its newest checkpoint of a process as an item it signs; a
 * second CU that trusts it starts the process from it instead of replaying the log, after
 * checking the signature, the signer and the memory hash; it computes the next message as the
 * first CU does. Untrusted, tampered and mislabelled checkpoints are refused with the reason.
 */
import { DataItem } from '@dha-team/arbundles';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWallet, parseDataItem, tagValue } from '../../../units/ans104/index.js';
import { cuRoutes, signCheckpoint } from '../../../units/cu/index.js';
import { MODULES, evalLua, lastLine, printed, resultOf, spawnAos, startCu, wallets, type CuHarness } from './support/harness.js';

let a: CuHarness;
let b: CuHarness;
let appA: FastifyInstance;
let appB: FastifyInstance;
let pid: string;

async function mount(h: CuHarness) {
  const app = Fastify();
  await app.register(cuRoutes(h.api, { resultWaitMs: 5000 }), { prefix: '/cu' });
  await app.ready();
  return app;
}

beforeAll(async () => {
  a = await startCu({ name: 'cu-a' });
  appA = await mount(a);
  pid = await spawnAos(a, MODULES[0]);
  for (let i = 1; i <= 5; i++) await resultOf(a, pid, (await evalLua(a, pid, `x = (x or 0) + ${i}; return x`)).id);
  b = await startCu({ name: 'cu-b', reader: a.su.reader, config: { trustedCus: [a.cu.address] } });
  appB = await mount(b);
}, 60_000);
afterAll(async () => {
  await appA?.close();
  await appB?.close();
  await b?.stop();
  await a?.stop();
}, 60_000);

const importInto = (app: FastifyInstance, raw: Uint8Array) =>
  app.inject({ method: 'POST', url: '/cu/checkpoint', payload: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' } });

describe('signed checkpoints', () => {
  let raw: Buffer;

  it("GET /cu/checkpoint/:processId is the newest checkpoint, signed by the CU, naming the memory's hash", async () => {
    const r = await appA.inject({ method: 'GET', url: `/cu/checkpoint/${pid}` });
    expect(r.statusCode, r.body).toBe(200);
    raw = r.rawPayload;
    expect(await DataItem.verify(raw)).toBe(true);
    const tags = parseDataItem(raw).tags;
    const now = await a.api.hash(pid);
    expect(tagValue(tags, 'Type')).toBe('Checkpoint');
    expect(tagValue(tags, 'Slot')).toBe(String(now.slot));
    expect(now.slot).toBe(5);
    expect(tagValue(tags, 'Memory-Hash')).toBe(now.memoryHash);
    expect(tagValue(tags, 'Module')).toBe(a.cu.bundled[MODULES[0]]);
    expect((await appA.inject({ method: 'GET', url: `/cu/checkpoint/${'q'.repeat(43)}` })).statusCode).toBe(404);
  });

  it('untrusted, tampered or mislabelled checkpoints are refused and change nothing', async () => {
    const record = a.cu.runtime.store.checkpoint(pid, 5)!;
    const stranger = await generateWallet('ed25519');
    const { node } = await wallets();
    const broken = Buffer.from(raw);
    broken[broken.length - 10] ^= 1;
    const cases: [Uint8Array, number, RegExp][] = [
      [await signCheckpoint(stranger.key, record), 403, /not by a CU this one trusts/],
      [await signCheckpoint(node.key, { ...record, image: { ...record.image, memoryHash: 'f'.repeat(64) } }), 400, /the pages hash to [0-9a-f]{64}, not to the Memory-Hash f{64}/],
      [broken, 400, /does not verify/],
      [await signCheckpoint(node.key, { ...record, timestamp: record.timestamp + 1 }), 409, /not the one the checkpoint was made at/],
      [Buffer.from('junk'), 400, /not a data item/],
    ];
    for (const [bytes, status, reason] of cases) {
      const r = await importInto(appB, bytes);
      expect(r.statusCode, String(reason)).toBe(status);
      expect(r.json().error).toMatch(reason);
    }
    expect(b.cu.runtime.store.checkpointSlots(pid)).toEqual([]);
  });

  it('a trusting CU starts from it instead of replaying, and computes the next message as the first does', async () => {
    const r = await importInto(appB, raw);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ processId: pid, slot: 5, cron: -1 });
    const next = await evalLua(a, pid, 'x = x + 100; return x');
    const theirs = await resultOf(b, pid, next.id);
    expect(lastLine(printed(theirs))).toBe('115');
    expect(theirs).toEqual(await resultOf(a, pid, next.id));
    const s = await b.api.status(pid);
    expect(s.stats).toMatchObject({ evaluated: 1, replayed: 0, restores: 1 });
    expect((await b.api.hash(pid)).memoryHash).toBe((await a.api.hash(pid)).memoryHash);
    // Once it has computed the process, another checkpoint is not taken.
    const again = await importInto(appB, raw);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatch(/has computed .* already/);
  }, 60_000);
});
