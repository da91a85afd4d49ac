/**
 * The MU's push jobs in a cluster (the MuStore of units/mu/store.ts): their durable truth is in
 * JetStream, so that a job outlives its node, disk included. This node's LMDB store keeps a
 * copy of the jobs it runs (the actors read it synchronously) and of their pushes.
 *
 *   <cluster>_mu_jobs   KV bucket (R3): key = job id ('@' → '='), value = { owner, record }.
 *                       Every write is a compare-and-set on the key's revision (the fencing
 *                       token of the job's owner), with a Nats-Msg-Id of `<key>@<expected>`
 *                       as in lease.ts, so at most one write follows any revision.
 *   <CLUSTER>_MU_OPEN   stream (R3): one empty message per unfinished job, on subject
 *                       `<cluster>.mu.open.<owner>.<key>`: who runs what, listable by owner
 *                       (a stream info with a subject filter); purged when the job ends.
 *
 * Atomicity: a parent's move to `done` and its children cannot be one write. The children are
 * written first, the parent's update (which lists them) last; a child counts only once its
 * parent lists it (`live`). A crash in between leaves inert children: the parent's next owner
 * computes its outbox again and, signing the same items (Ed25519 signatures are deterministic),
 * adopts them; under RSA it signs new ones and the inert ones are never pushed. Either way every
 * outbox item is stored before it is pushed and pushed by one job only (the SU dedupes by id).
 *
 * Ownership: a job's owner writes it. When a member is known down, the survivors take its open
 * jobs over (`takeOver`: compare-and-set of the owner at the current revision, so one wins);
 * a job whose owner was only thought down finds its next write refused (StaleJob) and stops.
 * A node that starts again (disk lost or not) reloads its own open jobs from JetStream
 * (`hydrate`) before its MU resumes them.
 *
 * Limits: a job's record holds its item, so items over NATS' max_payload (1 MiB by default)
 * cannot be kept here (as in the SU's replicated log). Cron monitors stay in this node's LMDB.
 */
import { pack, unpack } from 'msgpackr';
import { ErrorCode, NatsError, type JetStreamClient, type JetStreamManager, type KV, type KvEntry, type NatsConnection } from 'nats';
import { isTerminal, type JobRecord } from '../mu/job.js';
import { PushBudgetExceeded, StaleJob, StaleMonitor, type LmdbMuStore, type MonitorRecord, type MuStore } from '../mu/store.js';
import { enforced } from '../safety.js';
import type { Clock } from '../../runtime/clock.js';
import { clocked, isWrongLastSequence, retrying } from './retry.js';
import { ensureStream } from './ensure-stream.js';

interface Stored {
  owner: string;
  record: JobRecord;
}

export interface ClusterJobsOptions {
  /** The cluster's subject prefix (nats.cluster). */
  cluster: string;
  replicas?: number;
  requestTimeoutMs?: number;
  /** How long one write keeps retrying while JetStream has no leader (~5–8 s after a server dies). */
  retryBudgetMs?: number;
  /** A crash point for tests (see crash-point.ts): only set on chaos-enabled test nodes. */
  crashAt?: (point: string) => void;
  /** Pauses between retries are timed on it (default the real timers). */
  clock?: Clock;
}

/** A compare-and-set lost: the key was not at the expected revision. */
class Conflict extends Error {}

const keyOf = (id: string) => id.replace('@', '=');
const idOf = (key: string) => key.replace('=', '@');

export class ClusterMuStore implements MuStore {
  /** JetStream and the SU's LMDB commit apart: a root job must be stored before its item is scheduled. */
  readonly sharesSuCommits = false;
  /** KV revisions of the jobs this node runs (unfinished ones): owning one = knowing its revision. */
  private readonly revs = new Map<string, number>();
  /**
   * The record revision (JobRecord.rev) of the write each of those KV revisions holds: a write
   * must follow it (the signed-once rule: two incarnations of one job on this node share `revs`,
   * so the KV revision alone would let the second one's outbox replace the first's).
   */
  private readonly based = new Map<string, number>();
  private readonly bucket: string;
  private readonly stream: string;
  private readonly openPrefix: string;
  private readonly budgetMs: number;
  private readonly clocked: { clock?: Clock };

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    readonly node: string,
    readonly local: LmdbMuStore,
    private readonly o: ClusterJobsOptions,
  ) {
    this.bucket = `${o.cluster}_mu_jobs`;
    this.stream = `${o.cluster.toUpperCase()}_MU_OPEN`;
    this.openPrefix = `${o.cluster}.mu.open`;
    this.budgetMs = o.retryBudgetMs ?? 15_000;
    this.clocked = clocked(o);
  }

  static async open(nc: NatsConnection, node: string, local: LmdbMuStore, o: ClusterJobsOptions): Promise<ClusterMuStore> {
    const timeout = o.requestTimeoutMs ?? 2000;
    const budgetMs = o.retryBudgetMs ?? 15_000;
    const replicas = o.replicas ?? 3;
    const js = nc.jetstream({ timeout });
    const jsm = await retrying(() => nc.jetstreamManager({ timeout }), { budgetMs, ...clocked(o) });
    const kv = await retrying(() => js.views.kv(`${o.cluster}_mu_jobs`, { replicas, history: 1, allow_direct: false, timeout }), { budgetMs, ...clocked(o) });
    const stream = `${o.cluster.toUpperCase()}_MU_OPEN`;
    await ensureStream(jsm, { name: stream, subjects: [`${o.cluster}.mu.open.>`], num_replicas: replicas, max_msgs_per_subject: 1 }, { budgetMs, ...clocked(o) });
    return new ClusterMuStore(js, jsm, kv, node, local, o);
  }

  // --- JetStream ---------------------------------------------------------------------------

  private async get(id: string): Promise<{ stored: Stored; rev: number } | undefined> {
    const e = await retrying(() => this.kv.get(keyOf(id)), { budgetMs: this.budgetMs, ...this.clocked });
    return e ? decode(e) : undefined;
  }

  /** Writes `value` as the revision after `expected` (0: absent); its stored revision, or Conflict. */
  private async cas(id: string, value: Stored, expected: number): Promise<number> {
    const key = keyOf(id);
    const data = pack(value);
    let ack;
    try {
      ack = await retrying(
        async () => {
          const a = await this.js.publish(`$KV.${this.bucket}.${key}`, data, { msgID: `${key}@${expected}`, expect: { lastSubjectSequence: expected } });
          // A duplicate of a write still in Raft has no revision yet: ask again shortly.
          if (a.duplicate && a.seq === 0) throw new NatsError('duplicate of a write in flight', ErrorCode.Timeout);
          return a;
        },
        { budgetMs: this.budgetMs, ...this.clocked },
      );
    } catch (e) {
      if (isWrongLastSequence(e)) throw new Conflict(`job ${id}: revision ${expected} is not the last`);
      throw e;
    }
    if (!ack.duplicate) return ack.seq;
    // A write after `expected` exists: this very one (a retry), or another.
    const e = await this.kv.get(key, { revision: ack.seq });
    const there = e ? decode(e) : undefined;
    if (there && same(there.stored, value)) return ack.seq;
    throw new Conflict(`job ${id}: revision ${expected} was followed by another write`);
  }

  private openSubject(owner: string, id: string): string {
    return `${this.openPrefix}.${owner}.${keyOf(id)}`;
  }

  private async markOpen(owner: string, id: string): Promise<void> {
    await retrying(() => this.js.publish(this.openSubject(owner, id), new Uint8Array(0)), { budgetMs: this.budgetMs, ...this.clocked });
  }

  private async unmarkOpen(owner: string, id: string): Promise<void> {
    await retrying(() => this.jsm.streams.purge(this.stream, { filter: this.openSubject(owner, id) }), { budgetMs: this.budgetMs, ...this.clocked });
  }

  /** The open jobs JetStream lists, by owner (all owners, or one). */
  async openJobs(owner?: string): Promise<Map<string, string[]>> {
    const info = await retrying(() => this.jsm.streams.info(this.stream, { subjects_filter: `${this.openPrefix}.${owner ?? '*'}.>` }), { budgetMs: this.budgetMs, ...this.clocked });
    const out = new Map<string, string[]>();
    const skip = this.openPrefix.length + 1;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const rest = subject.slice(skip);
      const dot = rest.indexOf('.');
      const o = rest.slice(0, dot);
      if (!out.has(o)) out.set(o, []);
      out.get(o)!.push(idOf(rest.slice(dot + 1)));
    }
    return out;
  }

  /** A child counts once its parent is done and lists it (see the module comment). */
  private async live(r: JobRecord): Promise<boolean> {
    if (r.parent === undefined) return true;
    const parent = await this.get(r.parent);
    return parent !== undefined && parent.stored.record.stage === 'done' && (parent.stored.record.children ?? []).includes(r.id);
  }

  // --- taking jobs over ----------------------------------------------------------------------

  /**
   * Reloads this node's open jobs from JetStream into its LMDB copy (after a restart, with or
   * without its disk), before the MU resumes them; drops the marks of jobs that ended or moved.
   */
  async hydrate(): Promise<number> {
    let n = 0;
    for (const id of (await this.openJobs(this.node)).get(this.node) ?? []) {
      const cur = await this.get(id);
      if (!cur || cur.stored.owner !== this.node || isTerminal(cur.stored.record) || !(await this.live(cur.stored.record))) {
        await this.unmarkOpen(this.node, id);
        continue;
      }
      this.revs.set(id, cur.rev);
      this.based.set(id, cur.stored.record.rev);
      await this.local.adopt(cur.stored.record);
      n++;
    }
    return n;
  }

  /**
   * Takes over the open jobs of `from` (a member known down) that `mine` picks: each becomes
   * this node's at the revision it was found at, or stays where it is if anyone wrote it since.
   * Answers the ids taken (to be started).
   */
  async takeOver(from: string, ids: string[], mine: (id: string) => boolean): Promise<string[]> {
    const taken: string[] = [];
    for (const id of ids) {
      if (!mine(id)) continue;
      const cur = await this.get(id);
      if (!cur || cur.stored.owner !== from || isTerminal(cur.stored.record) || !(await this.live(cur.stored.record))) {
        // Ended, moved, never written, or an inert child (its parent's owner adopts it, if ever).
        await this.unmarkOpen(from, id);
        continue;
      }
      await this.markOpen(this.node, id);
      try {
        this.revs.set(id, await this.cas(id, { owner: this.node, record: cur.stored.record }, cur.rev));
        this.based.set(id, cur.stored.record.rev);
      } catch (e) {
        if (!(e instanceof Conflict)) throw e;
        await this.unmarkOpen(this.node, id);
        continue;
      }
      await this.local.adopt(cur.stored.record);
      await this.unmarkOpen(from, id);
      taken.push(id);
    }
    return taken;
  }

  // --- MuStore --------------------------------------------------------------------------------

  job(id: string): JobRecord | undefined {
    return this.local.job(id);
  }

  async current(id: string): Promise<JobRecord | undefined> {
    return (await this.get(id))?.stored.record;
  }

  owns(id: string): boolean {
    if (this.revs.has(id)) return true;
    // An ended job may still start its children (each checks its own ownership).
    const r = this.local.job(id);
    return r !== undefined && isTerminal(r);
  }

  push(root: string): JobRecord[] {
    return this.local.push(root);
  }

  pushSize(root: string): number {
    return this.local.pushSize(root);
  }

  unfinished(): JobRecord[] {
    return this.local.unfinished().filter((r) => this.revs.has(r.id));
  }

  /**
   * Writes of one job on this node, one after the other: two incarnations of a job (one killed
   * while it wrote) share this node's revisions of it, so the check that a write follows the
   * record last written, and the compare-and-set on that revision, must not interleave — else
   * both pass and both outboxes are stored.
   */
  async write(update: JobRecord | undefined, created: JobRecord[] = [], maxPushJobs = Infinity): Promise<void> {
    if (!update || !enforced('mu-signed-once')) return this.writeNow(update, created, maxPushJobs);
    const before = this.writing.get(update.id) ?? Promise.resolve();
    const mine = before.then(() => this.writeNow(update, created, maxPushJobs));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(update.id, settled);
    void settled.then(() => {
      if (this.writing.get(update.id) === settled) this.writing.delete(update.id);
    });
    return mine;
  }

  /** The write in progress of each job (see `write`). */
  private readonly writing = new Map<string, Promise<void>>();

  private async writeNow(update: JobRecord | undefined, created: JobRecord[], maxPushJobs: number): Promise<void> {
    // The budget is counted by the node that runs the push (a push that moved starts its count
    // again on its new node, from the jobs it took over).
    const root = created[0]?.root;
    if (root !== undefined && this.local.pushSize(root) + created.length > maxPushJobs) {
      throw new PushBudgetExceeded(
        `push budget exhausted: the push has made ${this.local.pushSize(root)} of at most ${maxPushJobs} jobs; ${created.length} outbox item(s) of this message were not pushed`,
      );
    }
    if (update && !this.revs.has(update.id)) {
      // Another node runs it now (this one was thought down, or started again meanwhile); or it
      // ended here, written by an earlier incarnation (killed during that write): its copy stays,
      // and the incarnation that reloads it starts the children it made.
      const mine = this.local.job(update.id);
      if (!(mine && isTerminal(mine))) await this.local.drop(update.id);
      throw new StaleJob(`job ${update.id} is not this node's (${this.node}) to write`);
    }
    await this.followsKnown(update);
    for (const c of created) await this.create(c);
    try {
      if (update) {
        await this.followsKnown(update);
        const rev = this.revs.get(update.id)!;
        // Between pushing an outbox item (the SU answered) and recording it.
        if (update.depth > 0 && update.slot !== undefined && this.local.job(update.id)?.stage === 'schedule') this.o.crashAt?.('mu:pushed-unrecorded');
        try {
          this.revs.set(update.id, await this.cas(update.id, { owner: this.node, record: update }, rev));
          this.based.set(update.id, update.rev);
        } catch (e) {
          if (!(e instanceof Conflict)) throw e;
          await this.refresh(update.id);
          throw new StaleJob(`job ${update.id}: revision ${rev} was replaced in JetStream`);
        }
        // Between storing signed outbox items and pushing any of them.
        if (update.stage === 'done' && created.length > 0) this.o.crashAt?.('mu:outbox-stored');
      }
    } catch (e) {
      if (update && e instanceof StaleJob) {
        // The children this write created that the stored parent does not list are inert: no
        // job of this node may run them (a resumer would push them, as a second outbox).
        const listed = new Set(this.local.job(update.id)?.children ?? []);
        for (const c of created) if (!listed.has(c.id)) await this.abandon(c.id);
      }
      throw e;
    }
    // JetStream fenced the write: this node's copy follows it, whatever the copy was.
    await this.local.adopt(update, created);
    // Only now is an ended job no longer this node's: an incarnation started meanwhile (its
    // predecessor killed during this write) sees it still owned, or ended in the copy, never
    // neither — else it would stop at once and leave the children this write made unstarted.
    if (update && isTerminal(update)) {
      this.revs.delete(update.id);
      // A mark left behind is dropped by whoever looks at it next (hydrate, takeOver).
      await this.unmarkOpen(this.node, update.id).catch(() => undefined);
    }
  }

  /** StaleJob (after refreshing this node's copy) unless `update` follows the record this node last wrote or read. */
  private async followsKnown(update: JobRecord | undefined): Promise<void> {
    if (!update || !enforced('mu-signed-once')) return;
    const known = this.based.get(update.id);
    if (known === undefined || known === update.rev - 1) return;
    await this.refresh(update.id);
    throw new StaleJob(`job ${update.id}: revision ${update.rev - 1} was replaced (stored: ${known})`);
  }

  /** Creates a job (mark first, then the record); a child found already written is adopted. */
  private async create(c: JobRecord): Promise<void> {
    await this.markOpen(this.node, c.id);
    try {
      this.revs.set(c.id, await this.cas(c.id, { owner: this.node, record: c }, 0));
      this.based.set(c.id, c.rev);
      return;
    } catch (e) {
      if (!(e instanceof Conflict)) throw e;
    }
    const cur = await this.get(c.id);
    // A root sent twice (maybe to two nodes) is left to whoever wrote it first.
    if (!cur || c.parent === undefined || isTerminal(cur.stored.record)) {
      if (cur?.stored.owner !== this.node) await this.unmarkOpen(this.node, c.id);
      return;
    }
    // An inert child of this parent (an earlier attempt of its outbox, maybe by another node).
    const rev = cur.stored.owner === this.node ? cur.rev : await this.cas(c.id, { owner: this.node, record: cur.stored.record }, cur.rev);
    this.revs.set(c.id, rev);
    this.based.set(c.id, cur.stored.record.rev);
    await this.local.adopt(cur.stored.record);
  }

  /** An inert child: not this node's to run (it stays in JetStream, where nothing counts it). */
  private async abandon(id: string): Promise<void> {
    this.revs.delete(id);
    await this.local.drop(id);
    await this.unmarkOpen(this.node, id).catch(() => undefined);
  }

  /** After a refused write: this node's copy follows JetStream's, and ownership with it. */
  private async refresh(id: string): Promise<void> {
    const cur = await this.get(id);
    if (!cur || cur.stored.owner !== this.node) {
      // Another node's now: this copy goes, so that the actor that wrote it stops.
      this.revs.delete(id);
      await this.local.drop(id);
      return;
    }
    const r = cur.stored.record;
    if (isTerminal(r)) this.revs.delete(id);
    else this.revs.set(id, cur.rev);
    this.based.set(id, r.rev);
    // A `done` written by an earlier incarnation: its children, so that this one starts them.
    const children: JobRecord[] = [];
    for (const c of r.stage === 'done' ? (r.children ?? []) : []) {
      const child = await this.get(c);
      if (!child || child.stored.owner !== this.node || isTerminal(child.stored.record)) continue;
      this.revs.set(c, child.rev);
      this.based.set(c, child.stored.record.rev);
      children.push(child.stored.record);
    }
    await this.local.adopt(r, children);
  }

  async forget(r: JobRecord): Promise<void> {
    const rev = this.revs.get(r.id);
    if (rev !== undefined) {
      await retrying(() => this.kv.purge(keyOf(r.id)), { budgetMs: this.budgetMs, ...this.clocked });
      this.revs.delete(r.id);
      await this.unmarkOpen(this.node, r.id);
    }
    await this.local.forget(r);
  }

  monitor(processId: string): MonitorRecord | undefined {
    return this.local.monitor(processId);
  }

  allMonitors(): MonitorRecord[] {
    return this.local.allMonitors();
  }

  async advanceMonitor(m: MonitorRecord, created: JobRecord[], from: string = m.cursor): Promise<void> {
    // Monitors are this node's: a stale incarnation's page is refused before its jobs reach
    // JetStream (and again by the local write, which is the compare-and-set).
    const current = this.local.monitor(m.processId);
    if (current && current.cursor !== from && enforced('mu-signed-once')) throw new StaleMonitor(`monitor of ${m.processId}: its cursor moved from ${from} to ${current.cursor}`);
    for (const c of created) await this.create(c);
    try {
      await this.local.advanceMonitor(m, created, from);
    } catch (e) {
      // Another incarnation pushed this page first: the jobs this one wrote for it go (a node
      // restarting would otherwise reload them from JetStream and push the page twice).
      if (e instanceof StaleMonitor) for (const c of created) await this.forget(c);
      throw e;
    }
  }

  putMonitor(m: MonitorRecord): Promise<void> {
    return this.local.putMonitor(m);
  }

  removeMonitor(processId: string): Promise<boolean> {
    return this.local.removeMonitor(processId);
  }

  onJob(listener: (r: JobRecord) => void): () => void {
    return this.local.onJob(listener);
  }

  settled(root: string, timeoutMs?: number): Promise<JobRecord[]> {
    return this.local.settled(root, timeoutMs);
  }
}

function decode(e: KvEntry): { stored: Stored; rev: number } | undefined {
  if (e.operation !== 'PUT' || e.length === 0) return undefined;
  return { stored: unpack(e.value) as Stored, rev: e.revision };
}

/** Whether two writes are one (a retried publish), not two writes of the same job. */
const same = (a: Stored, b: Stored) =>
  a.owner === b.owner && a.record.rev === b.record.rev && a.record.stage === b.record.stage && a.record.updatedAt === b.record.updatedAt;
