/**
 * The SU's processes by owner, by tag and in spawn order, for the gateway's GraphQL: aos finds
 * a wallet's process again by `transactions(owners: [wallet], tags: [Type=Process, Name=…])`,
 * and explorers list processes by tags. Written with each process's first slot, in the same
 * transaction (SuStore.append), so the index holds exactly the processes in the log.
 *
 * One sub-database, `su.process-index`, keyed by arrays (ordered by LMDB):
 *   ['s', timestamp, processId]               every process, in spawn order
 *   ['o', owner, timestamp, processId]        by owner address
 *   ['t', name, value, timestamp, processId]  by tag (tags whose name and value fit a key)
 *   ['v']                                     the index version (built for older logs at open)
 * The timestamp is slot 0's (the SU's time of the spawn).
 *
 * `candidates(filter)` answers ids among which every match of the filter is (the caller still
 * checks each): from the owner index when owners are given, else from the narrowest tag index
 * an EQ filter can use, else every process; newest first or oldest first.
 */
import type { Store, Table } from '../../runtime/store.js';
import { ownerAddress, parseDataItem, type Tag } from '../ans104/index.js';

export interface ProcessEntry {
  id: string;
  owner: string;
  tags: readonly Tag[];
  /** Slot 0's Timestamp. */
  timestamp: number;
}

/** Tags longer than this (name and value bytes) are not indexed (an LMDB key holds ~2 KB). */
const MAX_TAG_KEY_BYTES = 1024;
const VERSION = 1;
const COUNT_CAP = 1000;

type IndexKey = (string | number)[];

export interface ProcessFilter {
  owners?: readonly string[] | null | undefined;
  tags?: readonly { name: string; values: readonly string[]; op?: 'EQ' | 'NEQ' | null }[] | null | undefined;
}

const indexable = (name: string, value: string) => Buffer.byteLength(name) + Buffer.byteLength(value) <= MAX_TAG_KEY_BYTES;

export class ProcessIndex {
  private readonly db: Table<true | number, IndexKey>;

  constructor(store: Store) {
    this.db = store.db<true | number, IndexKey>('su.process-index');
  }

  /** What the index keeps of a spawn (parse it before the transaction that writes slot 0). */
  static entry(spawn: Uint8Array, timestamp: number): ProcessEntry {
    const item = parseDataItem(spawn);
    return { id: item.id, owner: ownerAddress(item), tags: item.tags, timestamp };
  }

  /** The entry, or undefined for bytes that are not an item (then the process is not indexed: its log must still be written). */
  static tryEntry(spawn: Uint8Array, timestamp: number): ProcessEntry | undefined {
    try {
      return ProcessIndex.entry(spawn, timestamp);
    } catch {
      return undefined;
    }
  }

  /** A process's entries: put them inside the transaction that writes its slot 0. */
  add(e: ProcessEntry): void {
    void this.db.put(['s', e.timestamp, e.id], true);
    void this.db.put(['o', e.owner, e.timestamp, e.id], true);
    for (const t of e.tags) if (indexable(t.name, t.value)) void this.db.put(['t', t.name, t.value, e.timestamp, e.id], true);
  }

  /**
   * Builds the index of a log written before it existed, in one transaction (once: the version
   * is recorded with it). `spawns` yields each process's spawn item and slot 0 timestamp.
   */
  async buildOnce(store: Store, spawns: () => Iterable<{ item: Uint8Array; timestamp: number }>): Promise<void> {
    if (this.db.get(['v']) === VERSION) return;
    await store.transact(() => {
      for (const s of spawns()) {
        const e = ProcessIndex.tryEntry(s.item, s.timestamp);
        if (e) this.add(e);
      }
      void this.db.put(['v'], VERSION);
    });
  }

  /** Process ids that may match `filter` (every match is among them), newest or oldest first. */
  *candidates(filter: ProcessFilter, newestFirst: boolean): Generator<string> {
    const owners = filter.owners ? [...new Set(filter.owners)] : undefined;
    if (owners) {
      yield* merge(
        owners.map((o) => this.range(['o', o], newestFirst)),
        newestFirst,
      );
      return;
    }
    const usable = (filter.tags ?? []).filter((f) => (f.op ?? 'EQ') === 'EQ' && f.values.every((v) => indexable(f.name, v)));
    let best: { name: string; values: string[]; count: number } | undefined;
    for (const f of usable) {
      const values = [...new Set(f.values)];
      const count = values.reduce((n, v) => n + this.count(['t', f.name, v]), 0);
      if (!best || count < best.count) best = { name: f.name, values, count };
    }
    if (best) {
      const { name } = best;
      yield* merge(
        best.values.map((v) => this.range(['t', name, v], newestFirst)),
        newestFirst,
      );
      return;
    }
    yield* merge([this.range(['s'], newestFirst)], newestFirst);
  }

  /** Entries under `prefix`, counted up to COUNT_CAP (enough to tell a narrow filter from a broad one). */
  private count(prefix: IndexKey): number {
    let n = 0;
    for (const _ of this.db.getKeys({ ...bounds(prefix), limit: COUNT_CAP })) n++;
    return n;
  }

  /** [timestamp, id] of the entries under `prefix`, in order. */
  private *range(prefix: IndexKey, newestFirst: boolean): Generator<[number, string]> {
    const b = bounds(prefix);
    const range = newestFirst ? this.db.getKeys({ start: b.end, end: b.start, reverse: true }) : this.db.getKeys(b);
    for (const key of range) yield [key[key.length - 2] as number, key[key.length - 1] as string];
  }
}

/** Keys starting with `prefix`: from the prefix itself to just before its successor. */
function bounds(prefix: IndexKey): { start: IndexKey; end: IndexKey } {
  return { start: prefix, end: [...prefix, '\uffff'] };
}

/** Merges ordered [timestamp, id] streams into one stream of ids, in the same order, no repeats. */
function* merge(streams: Iterator<[number, string]>[], newestFirst: boolean): Generator<string> {
  const heads = streams.map((s) => s.next());
  const before = (a: [number, string], b: [number, string]) => (newestFirst ? a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]) : a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]));
  let last: string | undefined;
  for (;;) {
    let pick = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && (pick < 0 || before(h.value, (heads[pick] as IteratorYieldResult<[number, string]>).value))) pick = i;
    }
    if (pick < 0) return;
    const value = (heads[pick] as IteratorYieldResult<[number, string]>).value;
    heads[pick] = streams[pick]!.next();
    if (value[1] !== last) yield value[1];
    last = value[1];
  }
}
