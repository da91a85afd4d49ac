/**
 * The node's LMDB environment (lmdb-js): one per node, named sub-databases per unit.
 *
 * Writes go through `transact(cb)`: lmdb-js runs every callback queued in the same event turn
 * (and while the previous commit is still being written) inside one write transaction, so
 * concurrent writers share one commit — a group commit — and each callback is atomic on its
 * own as long as it does not throw halfway through its puts (do the checks first, then write).
 *
 * The environment is opened with `overlappingSync: false`: a commit is fsynced before the
 * write lock is released and before the returned promise resolves, so a resolved write is on
 * disk, and what a reader sees is what a crash keeps. (lmdb-js' default on Linux resolves at
 * commit and flushes afterwards; measured here, its batched throughput is no better than this.)
 */
import { open, type Database, type Key as LmdbKey, type RootDatabase } from 'lmdb';

/** A key: a string, a number, or an array of them (compared element by element, as LMDB orders them). */
export type Key = string | number | boolean | null | Uint8Array | readonly Key[];

export interface RangeOptions {
  /** Inclusive; with `reverse`, the highest key. */
  start?: Key;
  /** Exclusive; with `reverse`, the lowest key (not included). */
  end?: Key;
  reverse?: boolean;
  limit?: number;
}

/**
 * A named sub-database. Outside a transaction callback, reads see what is committed and a
 * `put` or `remove` is queued for the next commit (its promise resolves once committed); inside
 * one, reads see the transaction's own writes.
 */
export interface Table<V = any, K extends Key = Key> {
  get(key: K): V | undefined;
  put(key: K, value: V): Promise<boolean>;
  remove(key: K): Promise<boolean>;
  getRange(options?: RangeOptions): Iterable<{ key: K; value: V }>;
  getKeys(options?: RangeOptions): Iterable<K>;
}

export interface TableOptions {
  /** How values are stored: msgpack (default) or raw bytes. */
  encoding?: 'msgpack' | 'binary';
}

/**
 * A node's storage: named tables and write transactions. LmdbStore is the real one; a
 * simulation gives a disk of its own with the same semantics (runtime/sim/disk.ts).
 */
export interface Store {
  readonly path: string;
  /** A named table; the same object for the same name. */
  db<V = any, K extends Key = Key>(name: string, options?: TableOptions): Table<V, K>;
  transact<T>(cb: () => T): Promise<T>;
  /** Resolves once every write issued so far is committed. */
  committed(): Promise<void>;
  readonly closed: boolean;
  /** Waits for pending writes, then closes. Idempotent. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Sub-databases the environment can hold; default 32. */
  maxDbs?: number;
  /** Initial map size in bytes (LMDB grows it as needed). */
  mapSize?: number;
}

export class LmdbStore implements Store {
  readonly env: RootDatabase;
  private readonly dbs = new Map<string, Database<any, any>>();
  private closing: Promise<void> | undefined;

  private constructor(readonly path: string, options: StoreOptions) {
    this.env = open({
      path,
      maxDbs: options.maxDbs ?? 32,
      overlappingSync: false,
      ...(options.mapSize !== undefined ? { mapSize: options.mapSize } : {}),
    });
  }

  /** Opens (creating if needed) the environment in directory `path`. */
  static open(path: string, options: StoreOptions = {}): LmdbStore {
    return new LmdbStore(path, options);
  }

  /** A named sub-database; the same object for the same name. */
  db<V = any, K extends Key = Key>(name: string, options: TableOptions = {}): Database<V, K & LmdbKey> & Table<V, K> {
    let db = this.dbs.get(name);
    if (!db) {
      db = this.env.openDB<V, any>({ ...options, name });
      this.dbs.set(name, db);
    }
    return db as Database<V, K & LmdbKey> & Table<V, K>;
  }

  transact<T>(cb: () => T): Promise<T> {
    return this.env.transaction(cb) as Promise<T>;
  }

  committed(): Promise<void> {
    return Promise.resolve(this.env.committed).then(() => undefined);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.committed();
      } finally {
        await this.env.close();
      }
    })();
    return this.closing;
  }
}

/** The LMDB store: `Store.open(path)`. */
export const Store = {
  open: (path: string, options: StoreOptions = {}): LmdbStore => LmdbStore.open(path, options),
};
