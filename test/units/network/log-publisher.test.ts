/**
 * The log publisher over a real SuStore in LMDB and a bundler that is a function: bundles of at
 * most the configured bytes, in slot order, each slot's assignment and message in them; a
 * bundler that refuses holds the mark where it is (the backlog grows) until it takes them; a
 * new publisher (a restart) goes on from the mark.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDownMessage, Node, type DownMessage } from '../../../runtime/index.js';
import { Store } from '../../../runtime/store.js';
import { createDataItem, generateWallet, isBundle, parseDataItem, unbundle, type Wallet } from '../../../units/ans104/index.js';
import { LOG_PUBLISHER, logPublisher, PublishedLog } from '../../../units/network/index.js';
import type { SlotRecord } from '../../../units/su/index.js';
import { SuStore } from '../../../units/su/store.js';
import { tempDir } from '../mu/support.js';

const dir = tempDir('aotp-logpub-');
let store: Store;
let log: SuStore;
let wallet: Wallet;
let node: Node;
const PID = 'P'.repeat(43);

/** Marks, telling each commit of one. */
class WatchedLog extends PublishedLog {
  private waiters: (() => void)[] = [];
  override async mark(through: ReadonlyMap<string, number>): Promise<void> {
    await super.mark(through);
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
  /** Resolves once the process's mark reaches `slot`. */
  async reached(processId: string, slot: number): Promise<void> {
    while (this.through(processId) < slot) await new Promise<void>((r) => this.waiters.push(r));
  }
}

/** A bundler: takes or refuses; keeps the nested ids of what it took, tells each attempt. */
function bundler() {
  const b = {
    refusing: false,
    taken: [] as string[][],
    single: [] as string[],
    attempts: 0,
    waiters: [] as (() => void)[],
    async upload(raw: Uint8Array): Promise<void> {
      b.attempts++;
      const w = b.waiters;
      b.waiters = [];
      w.forEach((f) => f());
      if (b.refusing) throw new Error('bundler down');
      const item = parseDataItem(raw);
      if (isBundle(item.tags)) b.taken.push(unbundle(item.data).map((r) => parseDataItem(r).id));
      else b.single.push(item.id);
    },
    attempted: () => new Promise<void>((r) => b.waiters.push(r)),
  };
  return b;
}

let next = 0;
/** Appends `n` slots (assignment and message items of ~600 bytes) to the log; answers their ids in order. */
async function append(n: number, bytes = 500): Promise<string[]> {
  const run: SlotRecord[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const slot = next++;
    const message = await createDataItem({ data: 'm'.repeat(bytes), tags: [{ name: 'Slot', value: String(slot) }] }, wallet);
    const assignment = await createDataItem({ data: '', tags: [{ name: 'Message', value: message.id }] }, wallet);
    run.push({ slot, kind: slot === 0 ? 'process' : 'message', assignmentId: assignment.id, messageId: message.id, timestamp: slot, blockHeight: 0, hashChain: 'h', assignment: assignment.raw, item: message.raw });
    ids.push(assignment.id, message.id);
  }
  await log.append(PID, run);
  return ids;
}

beforeAll(async () => {
  store = Store.open(join(dir, 'lmdb'));
  log = new SuStore(store);
  wallet = await generateWallet('ed25519');
  node = await Node.start({ name: 'logpub-test', encodeLocal: true, callTimeout: 10_000 });
});

afterAll(async () => {
  await node.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('log publisher', () => {
  it('bundles of at most the configured bytes, in slot order; a refusing bundler holds the mark; a restart goes on from it; a slot too large goes alone', async () => {
    const published = new WatchedLog(store);
    const b = bundler();
    // Room for two slots (an assignment of ~200 bytes and a message of ~650 each) per bundle.
    const args = { wallet, log, published, upload: b.upload, everyMs: 5, bundleBytes: 2000 };
    const first = await node.spawn({ behaviour: logPublisher, args }, { name: LOG_PUBLISHER });
    if (!('ok' in first)) throw new Error('did not start');
    const ids = await append(5);
    await published.reached(PID, 4);
    expect(b.taken.length).toBeGreaterThanOrEqual(3);
    expect(b.taken.every((t) => t.length <= 4)).toBe(true);
    expect(b.taken.flat()).toEqual(ids);
    expect(published.status(PID, 5)).toEqual({ through: 4, backlog: 0 });

    // Refused: the commits add to the backlog, nothing is marked.
    b.refusing = true;
    const tried = b.attempted();
    const more = await append(3);
    await tried;
    expect(published.status(PID, 8)).toEqual({ through: 4, backlog: 3 });
    // Stopped while refused; a new publisher starts from the mark in LMDB.
    const watcher = node.inbox();
    const ref = watcher.monitor(first.ok);
    node.exit(first.ok, 'shutdown');
    await watcher.receive<DownMessage>((m): m is DownMessage => isDownMessage(m) && m.ref === ref, 10_000);
    b.refusing = false;
    const second = await node.spawn({ behaviour: logPublisher, args }, { name: LOG_PUBLISHER });
    if (!('ok' in second)) throw new Error('did not start again');
    await published.reached(PID, 7);
    expect(b.taken.flat()).toEqual([...ids, ...more]);
    expect(published.status(PID, 8)).toEqual({ through: 7, backlog: 0 });

    // A slot larger than a bundle may be: its assignment and message go up as single items.
    const large = await append(1, 3000);
    await published.reached(PID, 8);
    expect(b.single).toEqual(large);
    expect(b.taken.flat()).toEqual([...ids, ...more]);
  });
});
