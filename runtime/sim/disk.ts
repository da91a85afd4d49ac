/**
 * A simulated disk with the Store semantics of the LMDB one (runtime/store.ts), so that a
 * simulated node crash keeps exactly what was committed:
 *
 * - Write transactions are batched as lmdb-js batches them: callbacks queued while no batch runs
 *   (and while one is being committed) form the next batch; the batch's callbacks run one after
 *   another in one write transaction, then the commit takes the disk's latency (chosen by the
 *   simulation: slow disks are long ones), then every promise of the batch resolves.
 * - Readers outside a transaction see the last commit; inside a callback, the batch's writes.
 * - A callback that throws rejects its own promise; its writes before the throw stay in the
 *   batch (as in lmdb-js).
 * - `crash` drops the batch in progress and everything queued; none of their promises settles.
 * - A commit may fail (`failCommit`, an I/O error): none of its batch's writes is kept, and every
 *   promise of the batch rejects.
 *
 * `SimDisk` is the medium (it outlives a node's crash, unless the disk is lost); `SimStore` is a
 * node incarnation's open environment on it.
 */
import { Packr } from 'msgpackr';
import type { Key, RangeOptions, Store, Table, TableOptions } from '../store.js';
import { compareKeys, copyKey, keyId } from './keys.js';
import type { SimScheduler } from './scheduler.js';

// As lmdb-js' default msgpack encoding: bytes come back as Buffers, plain objects as objects.
const packr = new Packr({ useRecords: false });

interface Entry {
  key: Key;
  /** Encoded value. */
  bytes: Uint8Array;
}

/**
 * One table's committed entries, sorted by key. A commit replaces the array, so a range being
 * read (a reader's snapshot, as LMDB gives one) does not move under its reader.
 */
class Sorted {
  entries: Entry[] = [];

  /** Index of the first entry with key >= k. */
  lowerBound(k: Key): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(this.entries[mid]!.key, k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(k: Key): Entry | undefined {
    const i = this.lowerBound(k);
    const e = this.entries[i];
    return e && compareKeys(e.key, k) === 0 ? e : undefined;
  }

  /** Applies a commit's writes (undefined: removed). */
  apply(writes: Iterable<[Key, Uint8Array | undefined]>): number {
    const old = this.entries;
    this.entries = old.slice();
    let n = 0;
    for (const [k, bytes] of writes) {
      this.set(k, bytes);
      n++;
    }
    return n;
  }

  private set(k: Key, bytes: Uint8Array | undefined): void {
    const i = this.lowerBound(k);
    const hit = this.entries[i] && compareKeys(this.entries[i]!.key, k) === 0;
    if (bytes === undefined) {
      if (hit) this.entries.splice(i, 1);
    } else if (hit) this.entries[i] = { key: k, bytes };
    else this.entries.splice(i, 0, { key: k, bytes });
  }

  /** Entries in range order (forward: start ≤ k < end; reverse: start ≥ k > end). */
  *range(o: RangeOptions): Generator<Entry> {
    const es = this.entries;
    if (!o.reverse) {
      for (let i = o.start === undefined ? 0 : this.lowerBound(o.start); i < es.length; i++) {
        if (o.end !== undefined && compareKeys(es[i]!.key, o.end) >= 0) return;
        yield es[i]!;
      }
    } else {
      let i = es.length - 1;
      if (o.start !== undefined) {
        i = this.lowerBound(o.start);
        if (!(es[i] && compareKeys(es[i]!.key, o.start) === 0)) i--;
      }
      for (; i >= 0; i--) {
        if (o.end !== undefined && compareKeys(es[i]!.key, o.end) <= 0) return;
        yield es[i]!;
      }
    }
  }
}

/** The medium: committed tables. Survives the crash of the node that wrote it. */
export class SimDisk {
  readonly tables = new Map<string, Sorted>();
  /** Commits made, over the disk's life. */
  commits = 0;

  table(name: string): Sorted {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Sorted()));
    return t;
  }
}

interface Queued {
  cb: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface SimStoreOptions {
  sched: SimScheduler;
  /** The node incarnation whose events the commits are. */
  owner: string;
  /** ms one commit takes (called per commit). */
  latency: () => number;
  /** Told of each commit (the trace). */
  onCommit?: (writes: number) => void;
  /** Whether this commit fails (an I/O error): nothing of the batch is written, every callback of it is rejected. */
  failCommit?: () => boolean;
}

const DELETED = undefined;

export class SimStore implements Store {
  readonly path: string;
  private readonly tables = new Map<string, SimTable<any, any>>();
  private queue: Queued[] = [];
  private busy = false;
  private dead = false;
  private closing: Promise<void> | undefined;
  /** The batch being written: table → key id → [key, bytes or DELETED]. */
  overlay: Map<string, Map<string, [Key, Uint8Array | undefined]>> | undefined;

  constructor(
    readonly disk: SimDisk,
    private readonly o: SimStoreOptions,
  ) {
    this.path = `sim:${o.owner}`;
  }

  db<V = any, K extends Key = Key>(name: string, options: TableOptions = {}): Table<V, K> {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new SimTable<V, K>(this, name, options.encoding === 'binary')));
    return t as SimTable<V, K>;
  }

  get inTransaction(): boolean {
    return this.overlay !== undefined;
  }

  transact<T>(cb: () => T): Promise<T> {
    if (this.dead) return new Promise<T>(() => undefined);
    if (this.closing) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ cb, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  committed(): Promise<void> {
    if (this.queue.length === 0 && !this.busy) return Promise.resolve();
    return this.transact(() => undefined);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= this.dead ? Promise.resolve() : (this.queue.length || this.busy ? this.transact(() => undefined).then(() => undefined) : Promise.resolve());
    return this.closing;
  }

  /** The node crashed: what is not committed is gone, and nothing more is written. */
  crash(): void {
    this.dead = true;
    this.queue = [];
    this.overlay = undefined;
  }

  private kick(): void {
    if (this.busy || this.queue.length === 0 || this.dead) return;
    this.busy = true;
    // Everything queued until this event fires joins the batch (lmdb-js: the same event turn).
    this.o.sched.after(0, () => this.begin(), this.o.owner, 'disk.begin');
  }

  private begin(): void {
    if (this.dead) return;
    const batch = this.queue;
    this.queue = [];
    this.overlay = new Map();
    const outcomes: { ok: boolean; value: unknown }[] = [];
    for (const q of batch) {
      try {
        outcomes.push({ ok: true, value: q.cb() });
      } catch (e) {
        outcomes.push({ ok: false, value: e });
      }
    }
    const writes = this.overlay;
    this.overlay = undefined;
    this.o.sched.after(
      this.o.latency(),
      () => {
        if (this.dead) return;
        if (this.o.failCommit?.()) {
          this.busy = false;
          const e = new Error('I/O error: the commit failed');
          batch.forEach((q) => q.reject(e));
          this.kick();
          return;
        }
        let n = 0;
        for (const [table, entries] of writes) n += this.disk.table(table).apply(entries.values());
        this.disk.commits++;
        this.o.onCommit?.(n);
        this.busy = false;
        batch.forEach((q, i) => (outcomes[i]!.ok ? q.resolve(outcomes[i]!.value) : q.reject(outcomes[i]!.value)));
        this.kick();
      },
      this.o.owner,
      'disk.commit',
    );
  }
}

class SimTable<V, K extends Key> implements Table<V, K> {
  constructor(
    private readonly store: SimStore,
    readonly name: string,
    private readonly binary: boolean,
  ) {}

  private encode(v: V): Uint8Array {
    if (this.binary) return Buffer.from(v as Uint8Array);
    return packr.pack(v);
  }

  private decode(bytes: Uint8Array): V {
    if (this.binary) return Buffer.from(bytes) as V;
    return packr.unpack(bytes) as V;
  }

  private get committed(): Sorted {
    return this.store.disk.table(this.name);
  }

  private get writes(): Map<string, [Key, Uint8Array | undefined]> | undefined {
    const o = this.store.overlay;
    if (!o) return undefined;
    let w = o.get(this.name);
    if (!w) o.set(this.name, (w = new Map()));
    return w;
  }

  get(key: K): V | undefined {
    const w = this.store.overlay?.get(this.name)?.get(keyId(key));
    if (w) return w[1] === DELETED ? undefined : this.decode(w[1]);
    const e = this.committed.get(key);
    return e ? this.decode(e.bytes) : undefined;
  }

  put(key: K, value: V): Promise<boolean> {
    const w = this.writes;
    if (w) {
      w.set(keyId(key), [copyKey(key), this.encode(value)]);
      return Promise.resolve(true);
    }
    const bytes = this.encode(value);
    const k = copyKey(key);
    return this.store.transact(() => {
      this.writes!.set(keyId(k), [k, bytes]);
      return true;
    });
  }

  remove(key: K): Promise<boolean> {
    const w = this.writes;
    if (w) {
      w.set(keyId(key), [copyKey(key), DELETED]);
      return Promise.resolve(true);
    }
    const k = copyKey(key);
    return this.store.transact(() => {
      this.writes!.set(keyId(k), [k, DELETED]);
      return true;
    });
  }

  *getRange(options: RangeOptions = {}): Generator<{ key: K; value: V }> {
    let left = options.limit ?? Infinity;
    if (left <= 0) return;
    for (const e of this.merged(options)) {
      yield { key: copyKey(e.key) as K, value: this.decode(e.bytes) };
      if (--left <= 0) return;
    }
  }

  *getKeys(options: RangeOptions = {}): Generator<K> {
    let left = options.limit ?? Infinity;
    if (left <= 0) return;
    for (const e of this.merged(options)) {
      yield copyKey(e.key) as K;
      if (--left <= 0) return;
    }
  }

  /** Committed entries in range, with the batch's writes over them (inside a transaction). */
  private *merged(o: RangeOptions): Generator<Entry> {
    const w = this.store.overlay?.get(this.name);
    if (!w || w.size === 0) {
      yield* this.committed.range(o);
      return;
    }
    const dir = o.reverse ? -1 : 1;
    const inRange = (k: Key) =>
      (o.start === undefined || dir * compareKeys(k, o.start) >= 0) && (o.end === undefined || dir * compareKeys(k, o.end) < 0);
    const mine = [...w.values()].filter(([k]) => inRange(k)).sort((a, b) => dir * compareKeys(a[0], b[0]));
    let i = 0;
    for (const e of this.committed.range(o)) {
      while (i < mine.length && dir * compareKeys(mine[i]![0], e.key) < 0) {
        const [k, bytes] = mine[i++]!;
        if (bytes !== DELETED) yield { key: k, bytes };
      }
      if (i < mine.length && compareKeys(mine[i]![0], e.key) === 0) {
        const [k, bytes] = mine[i++]!;
        if (bytes !== DELETED) yield { key: k, bytes };
        continue;
      }
      yield e;
    }
    for (; i < mine.length; i++) {
      const [k, bytes] = mine[i]!;
      if (bytes !== DELETED) yield { key: k, bytes };
    }
  }
}
