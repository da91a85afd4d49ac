/** Test harness for the SU: a real LMDB environment in a temp dir, real wallets, a real node. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataItem } from '@dha-team/arbundles';
import { expect } from 'vitest';
import { Node, supervisorSpec, type Clock } from '../../../runtime/index.js';
import { Store, type LmdbStore } from '../../../runtime/store.js';
import { SEQUENCERS, suTree } from '../../../supervisors/su.js';
import { createDataItem, generateWallet, parseDataItem, tagValue, verifyDataItem, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { firstHashChain, nextHashChain } from '../../../units/su/assignment.js';
import { assembleSu, SuClient, type Su, type SuRuntime } from '../../../units/su/index.js';

export interface Harness {
  dir: string;
  store: LmdbStore;
  su: Su;
  /** What the sequencers run with (its store, its signer): for fault injection and waiting on commits. */
  runtime: SuRuntime;
  node: Node;
  client: SuClient;
  wallet: Wallet;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  kind?: 'ed25519' | 'rsa';
  wallet?: Wallet;
  signers?: number;
  idleMs?: number;
  maxRun?: number;
  dir?: string;
  now?: () => number;
  /** Attempts per schedule call (SuClient); default 4. */
  attempts?: number;
  /** The node's clock (the actors' timers: idle stops, call timeouts); default the real one. */
  clock?: Clock;
}

export const tempDir = (prefix = 'aotp-su-') => mkdtempSync(join(tmpdir(), prefix));

export async function startSu(o: HarnessOptions = {}): Promise<Harness> {
  const dir = o.dir ?? tempDir();
  const store = Store.open(join(dir, 'lmdb'));
  const wallet = o.wallet ?? (await generateWallet(o.kind ?? 'ed25519'));
  const { su, runtime } = assembleSu({
    wallet,
    store,
    signers: o.signers ?? 0,
    idleMs: o.idleMs ?? 0,
    maxRun: o.maxRun ?? 512,
    ...(o.now ? { now: o.now } : {}),
  });
  const node = await Node.start({ name: 'su-test', encodeLocal: true, callTimeout: 30_000, ...(o.clock ? { clock: o.clock } : {}) });
  const root = await node.spawn(
    supervisorSpec({ strategy: 'one_for_one', intensity: 5, period: 5, children: [suTree(su.sequencers, { intensity: 1000, period: 5, shutdownMs: 5000 })] }),
    { name: 'root' },
  );
  if (!('ok' in root)) throw new Error(`SU tree did not start: ${JSON.stringify(root)}`);
  const client = new SuClient(node, node, { supervisor: SEQUENCERS, timeout: 30_000, attempts: o.attempts ?? 4 });
  let stopped = false;
  return {
    dir,
    store,
    su,
    runtime,
    node,
    client,
    wallet,
    async stop() {
      if (stopped) return;
      stopped = true;
      await node.stop();
      await su.close();
      await store.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let users: Wallet | undefined;
/** A user wallet (Ed25519: cheap to sign with). */
export async function user(): Promise<Wallet> {
  users ??= await generateWallet('ed25519');
  return users;
}

/** Ed25519 signatures are deterministic: equal fields make equal ids, so every item gets unique data. */
const unique = () => `${Date.now()}-${Math.random()}`;

export async function spawnItem(suAddress: string, extra: Tag[] = [], data = `spawn ${unique()}`) {
  return createDataItem(
    {
      data,
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: 'M'.repeat(43) },
        { name: 'Scheduler', value: suAddress },
        ...extra,
      ],
    },
    await user(),
  );
}

let counter = 0;
export async function messageItem(processId: string, data = `msg ${++counter} ${unique()}`, extra: Tag[] = []) {
  return createDataItem(
    {
      data,
      target: processId,
      tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: 'Message' }, ...extra],
    },
    await user(),
  );
}

/** Spawns a process through the client; returns its id. */
export async function spawnProcess(h: Harness): Promise<string> {
  const s = await spawnItem(h.su.address);
  const r = await h.client.schedule(s.id, { op: 'spawn', id: s.id, raw: s.raw });
  if (!('ok' in r)) throw new Error(r.error);
  expect(r.ok.slot).toBe(0);
  return s.id;
}

export interface LogSummary {
  /** message id by slot */
  messages: string[];
  nextSlot: number;
}

/**
 * Checks every invariant of a process's durable log and returns it: slots 0..next-1 all
 * present (no gaps), each assignment a valid signed item naming its process, slot, message and
 * the hash chain from slot 0; the refs index agrees; no message twice; message bytes kept.
 */
export async function checkLog(su: Su, processId: string, opts: { verifyAll?: boolean; signer?: string } = {}): Promise<LogSummary> {
  const record = su.log.process(processId);
  expect(record, `process record of ${processId}`).toBeDefined();
  const next = record!.nextSlot;
  const slots = su.log.slotRange(processId, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  expect(slots.map((s) => s.slot)).toEqual([...Array(next).keys()]);
  const seen = new Set<string>();
  const messages: string[] = [];
  let prev: { id: string; chain: string } | undefined;
  for (const s of slots) {
    const a = parseDataItem(s.assignment);
    expect(a.id).toBe(s.assignmentId);
    const tags = Object.fromEntries(a.tags.map((t) => [t.name, t.value]));
    expect(tags.Process).toBe(processId);
    expect(tags.Nonce).toBe(String(s.slot));
    expect(tags.Message).toBe(s.messageId);
    expect(tags.Timestamp).toBe(String(s.timestamp));
    expect(tags['Hash-Chain']).toBe(s.hashChain);
    const chain = prev ? nextHashChain(prev.id, prev.chain) : firstHashChain(processId);
    expect(s.hashChain, `hash chain at slot ${s.slot}`).toBe(chain);
    if (opts.signer) expect(a.owner).toBe(opts.signer);
    if (opts.verifyAll || s.slot < 3 || s.slot === next - 1) expect(await verifyDataItem(s.assignment), `assignment ${s.slot} verifies`).toBe(true);
    expect(seen.has(s.messageId), `message ${s.messageId} twice`).toBe(false);
    seen.add(s.messageId);
    expect(su.log.slotOf(s.messageId, processId)).toBe(s.slot);
    expect(su.log.slotOf(s.assignmentId, processId)).toBe(s.slot);
    if (s.kind !== 'assign') expect(parseDataItem(su.log.item(s.messageId)!).id).toBe(s.messageId);
    messages.push(s.messageId);
    prev = { id: s.assignmentId, chain: s.hashChain };
  }
  expect(record!.head).toMatchObject({ slot: next - 1, id: prev!.id, hashChain: prev!.chain });
  return { messages, nextSlot: next };
}

/** arbundles' own verdict on an item. */
export const arbundlesVerify = (raw: Uint8Array) => DataItem.verify(Buffer.from(raw));

export const tag = (raw: Uint8Array, name: string) => tagValue(parseDataItem(raw).tags, name);
