/**
 * Where the MU keeps its durable records: the interface `MuStore`, which the job and monitor
 * actors use, and its implementation in the node's LMDB environment (`LmdbMuStore`):
 *
 *   mu.jobs      job id → JobRecord
 *   mu.tree      [root, job id] → true   (the jobs of one push)
 *   mu.monitors  process id → MonitorRecord
 *   mu.push-size root → how many jobs the push has (what its budget is counted against)
 *
 * A parent's move to `done` and its children's records are written in one transaction, so
 * after a crash either both exist or neither does. Listeners hear about each committed change
 * (tests and `settled` wait on them instead of polling).
 *
 * In a cluster the jobs' durable truth is in JetStream (units/cluster/mu-jobs.ts, behind this
 * same interface), and the LMDB store is the node's copy of the jobs it runs.
 */
import { EventEmitter } from 'node:events';
import type { Store, Table } from '../../runtime/store.js';
import { RealClock, type Clock } from '../../runtime/clock.js';
import { enforced } from '../safety.js';
import { isTerminal, type JobRecord } from './job.js';

export interface MonitorRecord {
  processId: string;
  /** Where the next page of cron results starts (a CU cursor, or a unix-ms timestamp). */
  cursor: string;
  since: number;
  /** The address that started it (counted against its per-owner cap). */
  by?: string;
}

/** A job write that does not follow the revision it was based on: another incarnation moved on. */
export class StaleJob extends Error {
  override readonly name = 'StaleJob';
}

/** The MU's durable records, as its actors and API use them. */
export interface MuStore {
  /**
   * Whether a write issued before the SU is asked to schedule is durable by the time the SU's
   * commit is (true for the LMDB store: one environment commits in order, so the write shares
   * the SU's commit or precedes it). Then the MU need not wait for a root job's write before
   * scheduling its item; otherwise it must.
   */
  readonly sharesSuCommits: boolean;
  /** This node's copy of a job (a write issued here is seen at once, before its commit). */
  job(id: string): JobRecord | undefined;
  /** A job as the durable truth has it (in a cluster, whichever node runs it). */
  current(id: string): Promise<JobRecord | undefined>;
  /** Whether this node runs the job (in a cluster, another node may have taken it over). */
  owns(id: string): boolean;
  /** Every job of the push rooted at `root` that this node knows. */
  push(root: string): JobRecord[];
  /** This node's jobs that have not ended (to resume at start). */
  unfinished(): JobRecord[];
  /**
   * Writes `update` (which must follow the revision stored, else StaleJob) and the `created`
   * jobs (one that exists already is left as it is), all or nothing as far as a reader can
   * tell: a created job counts only once its parent's update that lists it is written.
   */
  write(update: JobRecord | undefined, created?: JobRecord[], maxPushJobs?: number): Promise<void>;
  /** How many jobs the push rooted at `root` has made, as far as this node counts (its budget). */
  pushSize(root: string): number;
  /** Removes a root job that was refused before anything came of it. */
  forget(r: JobRecord): Promise<void>;
  monitor(processId: string): MonitorRecord | undefined;
  allMonitors(): MonitorRecord[];
  /**
   * Writes a monitor's cursor together with the jobs its cron results made, if its cursor is
   * still `from` (else StaleMonitor, nothing written: see LmdbMuStore.advanceMonitor).
   */
  advanceMonitor(m: MonitorRecord, created: JobRecord[], from?: string): Promise<void>;
  putMonitor(m: MonitorRecord): Promise<void>;
  removeMonitor(processId: string): Promise<boolean>;
  /** Calls `listener` with every job record written here from now on; returns the unsubscribe. */
  onJob(listener: (r: JobRecord) => void): () => void;
  /** Resolves with the push's jobs once every one has ended; rejects after `timeoutMs`. */
  settled(root: string, timeoutMs?: number): Promise<JobRecord[]>;
}

/** A monitor's cursor moved since the page was read (nothing was written). */
export class StaleMonitor extends Error {
  override readonly name = 'StaleMonitor';
}

/** A write whose new jobs would take their push past its budget (nothing was written). */
export class PushBudgetExceeded extends Error {
  override readonly name = 'PushBudgetExceeded';
}

export class LmdbMuStore implements MuStore {
  readonly sharesSuCommits = true;
  /** Records written and not committed yet, shown to this node's readers meanwhile. */
  private readonly unflushed = new Map<string, JobRecord>();
  private readonly jobs: Table<JobRecord, string>;
  private readonly tree: Table<true, [string, string]>;
  private readonly monitors: Table<MonitorRecord, string>;
  private readonly pushSizes: Table<number, string>;
  private readonly events = new EventEmitter();

  /** `clock`: what `settled`'s deadline is measured on (default the real one). */
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = new RealClock(),
  ) {
    this.jobs = store.db<JobRecord, string>('mu.jobs');
    this.tree = store.db<true, [string, string]>('mu.tree');
    this.monitors = store.db<MonitorRecord, string>('mu.monitors');
    this.pushSizes = store.db<number, string>('mu.push-size');
    this.events.setMaxListeners(0);
  }

  job(id: string): JobRecord | undefined {
    return this.unflushed.get(id) ?? this.jobs.get(id);
  }

  async current(id: string): Promise<JobRecord | undefined> {
    return this.job(id);
  }

  owns(id: string): boolean {
    return this.job(id) !== undefined;
  }

  /**
   * Keeps `r` as this node's copy of a job, whatever copy it had (a job taken over from another
   * node, or a write already fenced elsewhere), with the `created` jobs it does not have yet.
   */
  async adopt(r: JobRecord | undefined, created: JobRecord[] = []): Promise<void> {
    await this.store.transact(() => {
      this.create(created);
      if (r) {
        this.jobs.put(r.id, r);
        this.tree.put([r.root, r.id], true);
      }
    });
    for (const x of [...created, ...(r ? [r] : [])]) this.events.emit('job', x);
  }

  /** Drops this node's copy of a job that another node runs now. */
  async drop(id: string): Promise<void> {
    await this.store.transact(() => {
      const r = this.jobs.get(id);
      if (!r) return;
      this.jobs.remove(id);
      this.tree.remove([r.root, id]);
    });
  }

  /** Every job of the push rooted at `root`. */
  push(root: string): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { key } of this.tree.getRange({ start: [root], end: [root, '\uffff'] })) {
      const r = this.jobs.get(key[1]);
      if (r) out.push(r);
    }
    return out;
  }

  /** How many jobs the push rooted at `root` has made (its root included). */
  pushSize(root: string): number {
    return this.pushSizes.get(root) ?? 0;
  }

  /** Jobs that have not ended (to resume at start). */
  unfinished(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const { value } of this.jobs.getRange()) if (!isTerminal(value)) out.push(value);
    return out;
  }

  /**
   * Writes `update` and the `created` jobs in one transaction. A created job that already exists
   * is left as it is (two submissions of one item). `update` must be the revision after the one
   * stored, or nothing is written (StaleJob): a job actor killed while it awaited something may
   * still finish its handler, and its restarted incarnation works from the same record, so
   * without this check both could write an outbox — signed twice, with different ids under RSA.
   * With `maxPushJobs`, the created jobs must also fit their push's budget (PushBudgetExceeded):
   * checked here, in the write, because sibling jobs of one push finish their results at once.
   */
  async write(update: JobRecord | undefined, created: JobRecord[] = [], maxPushJobs = Infinity): Promise<void> {
    // Seen at once by this node's readers (the job actor it is about to start, say); durable when
    // this resolves; gone again if the write is refused.
    const shown = [...created.filter((c) => this.job(c.id) === undefined), ...(update ? [update] : [])];
    for (const r of shown) this.unflushed.set(r.id, r);
    const unshow = () => {
      for (const r of shown) if (this.unflushed.get(r.id) === r) this.unflushed.delete(r.id);
    };
    await this.store.transact(() => {
      if (update && enforced('mu-signed-once')) {
        const current = this.jobs.get(update.id);
        if ((current?.rev ?? -1) !== update.rev - 1) {
          throw new StaleJob(`job ${update.id}: revision ${update.rev - 1} was replaced (stored: ${current?.rev ?? 'none'})`);
        }
      }
      const root = created[0]?.root;
      if (root !== undefined && this.pushSize(root) + created.length > maxPushJobs) {
        throw new PushBudgetExceeded(
          `push budget exhausted: the push has made ${this.pushSize(root)} of at most ${maxPushJobs} jobs; ${created.length} outbox item(s) of this message were not pushed`,
        );
      }
      this.create(created);
      if (update) {
        this.jobs.put(update.id, update);
        this.tree.put([update.root, update.id], true);
      }
    }).finally(unshow);
    for (const r of [...created, ...(update ? [update] : [])]) this.events.emit('job', r);
  }

  /** Inside a transaction: new jobs (one that exists already is left as it is), counted in their push. */
  private create(created: JobRecord[]): void {
    const added = new Map<string, number>();
    for (const c of created) {
      if (this.jobs.get(c.id)) continue;
      this.jobs.put(c.id, c);
      this.tree.put([c.root, c.id], true);
      added.set(c.root, (added.get(c.root) ?? 0) + 1);
    }
    for (const [root, n] of added) this.pushSizes.put(root, this.pushSize(root) + n);
  }

  /** Removes a root job that was refused before anything came of it. */
  async forget(r: JobRecord): Promise<void> {
    await this.store.transact(() => {
      this.jobs.remove(r.id);
      this.tree.remove([r.root, r.id]);
      if (r.root === r.id) this.pushSizes.remove(r.root);
    });
  }

  monitor(processId: string): MonitorRecord | undefined {
    return this.monitors.get(processId);
  }

  allMonitors(): MonitorRecord[] {
    return [...this.monitors.getRange()].map((e) => e.value);
  }

  /**
   * Writes a monitor's cursor together with the jobs its cron results made, if the cursor is
   * still `from` (the one the page was read from); else nothing is written (StaleMonitor): a
   * monitor killed while it awaited the page, and its restarted incarnation, read the same
   * cursor, and each signed the page's outbox (under RSA, with different ids): only one may push.
   */
  async advanceMonitor(m: MonitorRecord, created: JobRecord[], from: string = m.cursor): Promise<void> {
    await this.store.transact(() => {
      const current = this.monitors.get(m.processId);
      if (current && current.cursor !== from && enforced('mu-signed-once')) {
        throw new StaleMonitor(`monitor of ${m.processId}: its cursor moved from ${from} to ${current.cursor}`);
      }
      // An unmonitored process keeps no cursor; its last page's jobs are still pushed.
      if (current) this.monitors.put(m.processId, m);
      this.create(created);
    });
    for (const r of created) this.events.emit('job', r);
  }

  async putMonitor(m: MonitorRecord): Promise<void> {
    await this.store.transact(() => this.monitors.put(m.processId, m));
  }

  async removeMonitor(processId: string): Promise<boolean> {
    return this.store.transact(() => this.monitors.remove(processId));
  }

  /** Calls `listener` with every job record written from now on; returns the unsubscribe. */
  onJob(listener: (r: JobRecord) => void): () => void {
    this.events.on('job', listener);
    return () => this.events.off('job', listener);
  }

  /**
   * Resolves with the push's jobs once every one has ended (children of a done job are written
   * with it, so an ended tree has no job still to come). Rejects after `timeoutMs`.
   */
  settled(root: string, timeoutMs = 60_000): Promise<JobRecord[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const jobs = this.push(root);
        if (jobs.length > 0 && jobs.every(isTerminal)) {
          done();
          resolve(jobs);
        }
      };
      const off = this.onJob((r) => {
        if (r.root === root) check();
      });
      const timer = this.clock.setTimeout(() => {
        done();
        const open = this.push(root).filter((r) => !isTerminal(r)).map((r) => `${r.id} (${r.stage})`);
        reject(new Error(`push ${root} did not settle in ${timeoutMs} ms; still open: ${open.join(', ') || 'none known'}`));
      }, timeoutMs);
      const done = () => {
        off();
        this.clock.clearTimeout(timer);
      };
      check();
    });
  }
}
