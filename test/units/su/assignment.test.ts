import { createHash } from 'node:crypto';
import { DataItem } from '@dha-team/arbundles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, parseDataItem, verifyDataItem, type Wallet } from '../../../units/ans104/index.js';
import type { SignPool } from '../../../units/ans104/sign-pool.js';
import {
  AssignmentSigner,
  assignmentSignPool,
  encodeTags,
  firstHashChain,
  formatBlockHeight,
  nextHashChain,
} from '../../../units/su/assignment.js';

const PROCESS = createHash('sha256').update('a process').digest('base64url');
const MESSAGE = createHash('sha256').update('a message').digest('base64url');

const wallets = {} as Record<'rsa' | 'ed25519', Wallet>;
const pools: SignPool[] = [];
beforeAll(async () => {
  [wallets.rsa, wallets.ed25519] = await Promise.all([generateWallet('rsa'), generateWallet('ed25519')]);
}, 60_000);
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const REFERENCE_ORDER = ['Process', 'Message', 'Epoch', 'Nonce', 'Hash-Chain', 'Block-Height', 'Timestamp', 'Data-Protocol', 'Type', 'Variant'];

describe('hash chain and formats', () => {
  it('slot 0 chains from the process id; each next slot from the previous assignment id and chain', () => {
    const pidBytes = Buffer.from(PROCESS, 'base64url');
    expect(firstHashChain(PROCESS)).toBe(createHash('sha256').update(pidBytes).digest('base64url'));
    const prevId = MESSAGE;
    const prevChain = firstHashChain(PROCESS);
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from(prevId, 'base64url'), Buffer.from(prevChain, 'base64url')]))
      .digest('base64url');
    expect(nextHashChain(prevId, prevChain)).toBe(expected);
    expect(Buffer.from(expected, 'base64url')).toHaveLength(32);
  });

  it('block heights are 12 digits, zero padded', () => {
    expect(formatBlockHeight(0)).toBe('000000000000');
    expect(formatBlockHeight(1393008)).toBe('000001393008');
  });

  it('the tag block is byte for byte what arbundles writes', async () => {
    const tags = [
      { name: 'Process', value: PROCESS },
      { name: 'Ünïcödé', value: 'välue ✓' },
      { name: 'Long', value: 'x'.repeat(300) },
    ];
    const { raw } = await createDataItem({ data: '', tags }, wallets.ed25519);
    const item = new DataItem(Buffer.from(raw));
    expect(encodeTags(tags)).toEqual(item.rawTags);
    expect(encodeTags([])).toHaveLength(0);
  });
});

describe.each([
  ['ed25519', false],
  ['ed25519', true],
  ['rsa', false],
  ['rsa', true],
] as const)('%s assignments (pool: %s)', (kind, pooled) => {
  const signer = () => {
    const pool = pooled ? assignmentSignPool(wallets[kind], 2) : undefined;
    if (pool) pools.push(pool);
    return new AssignmentSigner(wallets[kind], pool);
  };

  it('are valid ANS-104 items with the reference tags, in order, signed by the SU wallet', async () => {
    const s = signer();
    expect(s.inline).toBe(!pooled);
    const [a] = await s.signRun({
      processId: PROCESS,
      prev: null,
      items: [{ messageId: PROCESS, slot: 0, timestamp: 1711676638471, blockHeight: 1393008, exclude: ['Data', 'Anchor'] }],
    });
    const raw = Buffer.from(a!.raw);
    expect(await DataItem.verify(raw)).toBe(true);
    expect(await verifyDataItem(raw)).toBe(true);
    const item = parseDataItem(raw);
    const theirs = new DataItem(raw);
    expect(a!.id).toBe(theirs.id);
    expect(item.id).toBe(a!.id);
    expect(item.signatureType).toBe(kind === 'rsa' ? 1 : 2);
    expect(item.owner).toBe(Buffer.from(wallets[kind].owner).toString('base64url'));
    expect(item.target).toBeUndefined();
    expect(item.rawAnchor).toBeUndefined();
    expect(item.data).toHaveLength(0);
    expect(item.tags.map((t) => t.name)).toEqual([...REFERENCE_ORDER, 'Exclude', 'Exclude']);
    expect(Object.fromEntries(item.tags.slice(0, 10).map((t) => [t.name, t.value]))).toEqual({
      Process: PROCESS,
      Message: PROCESS,
      Epoch: '0',
      Nonce: '0',
      'Hash-Chain': firstHashChain(PROCESS),
      'Block-Height': '000001393008',
      Timestamp: '1711676638471',
      'Data-Protocol': 'ao',
      Type: 'Assignment',
      Variant: 'ao.TN.1',
    });
    expect(item.tags.slice(10).map((t) => t.value)).toEqual(['Data', 'Anchor']);
    expect(a!.hashChain).toBe(firstHashChain(PROCESS));
  });

  it('a run chains each assignment to the one before, continuing from prev', async () => {
    const s = signer();
    const n = kind === 'rsa' ? 3 : 20;
    const items = Array.from({ length: n }, (_, i) => ({ messageId: i === 0 ? PROCESS : MESSAGE, slot: i, timestamp: 1000 + i, blockHeight: 0 }));
    const run = await s.signRun({ processId: PROCESS, prev: null, items });
    let prev: { id: string; chain: string } | undefined;
    for (const [i, a] of run.entries()) {
      const item = parseDataItem(a.raw);
      const chain = prev ? nextHashChain(prev.id, prev.chain) : firstHashChain(PROCESS);
      expect(a.hashChain).toBe(chain);
      expect(item.tags.find((t) => t.name === 'Hash-Chain')!.value).toBe(chain);
      expect(item.tags.find((t) => t.name === 'Nonce')!.value).toBe(String(i));
      prev = { id: a.id, chain: a.hashChain };
    }
    expect(await verifyDataItem(run[n - 1]!.raw)).toBe(true);
    // Continuing a log in a second run gives the same chain as one long run would.
    const last = run[n - 1]!;
    const [more] = await s.signRun({
      processId: PROCESS,
      prev: { slot: n - 1, id: last.id, hashChain: last.hashChain },
      items: [{ messageId: MESSAGE, slot: n, timestamp: 5000, blockHeight: 0 }],
    });
    expect(more!.hashChain).toBe(nextHashChain(last.id, last.hashChain));
  });

  it('refuses a run that does not follow its prev', async () => {
    const s = signer();
    const bad = { processId: PROCESS, prev: { slot: 4, id: MESSAGE, hashChain: MESSAGE }, items: [{ messageId: MESSAGE, slot: 6, timestamp: 1, blockHeight: 0 }] };
    await expect(Promise.resolve().then(() => s.signRun(bad))).rejects.toThrow(/does not follow/);
    await expect(Promise.resolve().then(() => s.signRun({ ...bad, prev: null }))).rejects.toThrow(/no previous assignment/);
  });
});
