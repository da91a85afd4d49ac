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
import { open, type Database, type DatabaseOptions, type Key, type RootDatabase } from 'lmdb';

export interface StoreOptions {
  /** Sub-databases the environment can hold; default 32. */
  maxDbs?: number;
  /** Initial map size in bytes (LMDB grows it as needed). */
  mapSize?: number;
}

export class Store {
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
  static open(path: string, options: StoreOptions = {}): Store {
    return new Store(path, options);
  }

  /** A named sub-database; the same object for the same name. */
  db<V = any, K extends Key = Key>(name: string, options: Omit<DatabaseOptions, 'name'> = {}): Database<V, K> {
    let db = this.dbs.get(name);
    if (!db) {
      db = this.env.openDB<V, K>({ ...options, name });
      this.dbs.set(name, db);
    }
    return db as Database<V, K>;
  }

  /**
   * Runs `cb` inside the next write transaction (shared with the other writes of this event
   * turn). Resolves with its result once that transaction is committed to disk; rejects with
   * what `cb` threw (its writes before the throw stay in the batch, so check before writing),
   * or when the commit fails.
   */
  transact<T>(cb: () => T): Promise<T> {
    return this.env.transaction(cb) as Promise<T>;
  }

  /** Resolves once every write issued so far is committed. */
  committed(): Promise<void> {
    return Promise.resolve(this.env.committed).then(() => undefined);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Waits for pending writes, then closes the environment. Idempotent. */
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
