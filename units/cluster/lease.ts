/**
 * Ownership of `su/<processId>` as a lease in a JetStream KV bucket (default `aotp_su_leases`,
 * R3): key = process id, value = { holder, incarnation, expiresAt } as JSON.
 *
 *   acquire  create the key if absent (expected revision 0), or take over a lease whose
 *            `expiresAt` has passed, that was released, or whose holder membership knows to
 *            be down (`holderDown`), with update(expected revision). Another live lease:
 *            LeaseHeld { holder, expiresAt }.
 *
 * Taking over from a holder that is down, before its lease expires, is safe because the lease
 * is not what keeps one writer: the replicated log's fence is (replicated-log.ts). A holder
 * wrongly thought down finds its next append refused and its next renewal lost. The lease
 * only says who should write while everyone is up; its ttl bounds how long a holder that is
 * up but cannot renew keeps a process.
 *   renew    update(expected revision) by the holder, on a timer (`startRenewing`), retrying
 *            transient failures (an R3 bucket refuses writes ~5–8 s after its leader dies);
 *            a write by anyone else in between: LeaseLost.
 *   release  update(expected revision) with expiresAt 0, so another node may take it at once.
 *
 * Fencing token: the KV revision of the write that acquired the lease (`lease.token`). Any
 * later acquisition is a later write to the bucket, so tokens grow across owners; renewals
 * move `lease.revision` but not the token.
 *
 * 2.9's KV has no per-key TTL: expiry is judged from the record's `expiresAt` (wall clock;
 * nodes' clocks must agree to well within `ttlMs`) and made safe by the expected revision: a
 * takeover and a late renewal cannot both succeed.
 *
 * Compare-and-set: nats-server 2.9.10 checks a clustered stream's expected-last-subject-
 * sequence (when ≠ 0) against what is applied, not against writes still in Raft: measured
 * here, two concurrent writes with the same expected revision BOTH succeed in ~60-75% of races. So every
 * write is also published with Nats-Msg-Id `<key>@<expected revision>`: the stream's duplicate
 * window (2 min) stages in-flight ids, so at most one write per expected revision is stored and
 * the other gets a duplicate ack naming the winner's revision (then compared with ours).
 *
 * Reads go to the stream leader (allow_direct off), so a node never decides on a follower's
 * stale copy; a write with a stale expected revision is refused anyway, and acquire re-reads.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, NatsError, type JetStreamClient, type KV, type KvEntry, type NatsConnection } from 'nats';
import { isTransient, isWrongLastSequence, retrying, sleep } from './retry.js';

export interface LeaseRecord {
  /** Node name of the holder. */
  holder: string;
  /** Unique per acquisition: tells the holder's own (maybe timed-out) writes from others'. */
  incarnation: string;
  /** Unix ms; 0 when released. */
  expiresAt: number;
}

export interface LeaseOptions {
  bucket?: string;
  replicas?: number;
  /** How long a lease lives without renewal. Must exceed the KV's failover time (~8 s). */
  ttlMs?: number;
  /** Whether membership knows `holder` to be down: its live lease may then be taken over. */
  holderDown?: (holder: string) => boolean;
  /** Renewal period of `startRenewing`; default ttl / 4. */
  renewEveryMs?: number;
  /** How long one acquire/renew/release keeps retrying transient failures; default ttl. */
  retryBudgetMs?: number;
  /** Timeout of one KV request. */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** Another node holds a live lease. */
export class LeaseHeld extends Error {
  override readonly name = 'LeaseHeld';
  constructor(
    readonly processId: string,
    readonly holder: string,
    readonly expiresAt: number,
    readonly revision: number,
  ) {
    super(`su/${processId} is held by ${holder} until ${new Date(expiresAt).toISOString()} (revision ${revision})`);
  }
}

/** The holder no longer holds the lease: someone else wrote it, or it could not be renewed. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(
    readonly processId: string,
    readonly reason: 'taken' | 'unreachable' | 'released',
    /** The record found instead of ours, when `taken`. */
    readonly current?: LeaseRecord & { revision: number },
  ) {
    super(
      reason === 'taken'
        ? `lease of su/${processId} was taken${current ? ` by ${current.holder} (revision ${current.revision})` : ''}`
        : reason === 'released'
          ? `lease of su/${processId} was released`
          : `lease of su/${processId} could not be renewed in time`,
    );
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A compare-and-set lost: the key's revision was not the expected one. */
class Conflict extends Error {}

const isConflict = (e: unknown) => e instanceof Conflict || isWrongLastSequence(e);

function decode(e: KvEntry): LeaseRecord | undefined {
  if (e.operation !== 'PUT' || e.length === 0) return undefined;
  return JSON.parse(dec.decode(e.value)) as LeaseRecord;
}

export class LeaseManager {
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  readonly retryBudgetMs: number;
  readonly now: () => number;
  private readonly holderDown: (holder: string) => boolean;

  private constructor(
    readonly kv: KV,
    private readonly js: JetStreamClient,
    readonly bucket: string,
    readonly node: string,
    o: LeaseOptions,
  ) {
    this.ttlMs = o.ttlMs ?? 20_000;
    this.renewEveryMs = o.renewEveryMs ?? Math.floor(this.ttlMs / 4);
    this.retryBudgetMs = o.retryBudgetMs ?? this.ttlMs;
    this.now = o.now ?? Date.now;
    this.holderDown = o.holderDown ?? (() => false);
  }

  /** Binds to (creating if needed) the lease bucket, as node `node`. */
  static async open(nc: NatsConnection, node: string, o: LeaseOptions = {}): Promise<LeaseManager> {
    const js = nc.jetstream({ timeout: o.requestTimeoutMs ?? 2000 });
    const bucket = o.bucket ?? 'aotp_su_leases';
    const kv = await retrying(
      () =>
        js.views.kv(bucket, {
          replicas: o.replicas ?? 3,
          history: 1,
          allow_direct: false,
          timeout: o.requestTimeoutMs ?? 2000,
        }),
      { budgetMs: o.retryBudgetMs ?? 20_000 },
    );
    return new LeaseManager(kv, js, bucket, node, o);
  }

  /**
   * Writes `record` as the key's next revision if its revision is `expected` (0: absent).
   * Resolves with the stored revision and record (an earlier attempt of this same incarnation
   * may be what was stored); rejects with a conflict (see isConflict) if another write won.
   */
  async cas(processId: string, record: LeaseRecord, expected: number): Promise<{ revision: number; record: LeaseRecord }> {
    const ack = await this.js.publish(`$KV.${this.bucket}.${processId}`, enc.encode(JSON.stringify(record)), {
      msgID: `${processId}@${expected}`,
      expect: { lastSubjectSequence: expected },
    });
    if (!ack.duplicate) return { revision: ack.seq, record };
    // A duplicate of a write still in Raft has no revision yet: a transient answer, retried.
    if (ack.seq === 0) throw new NatsError('duplicate of a write in flight', ErrorCode.Timeout);
    // Someone wrote after `expected` with this id: us (a retry), or a concurrent writer.
    const e = await this.kv.get(processId, { revision: ack.seq });
    const stored = e ? decode(e) : undefined;
    if (stored && stored.holder === record.holder && stored.incarnation === record.incarnation) return { revision: ack.seq, record: stored };
    throw new Conflict(`${processId}: revision ${expected} was followed by another write`);
  }

  /** The lease record of `processId` with its revision, as the bucket's leader has it. */
  async read(processId: string): Promise<(LeaseRecord & { revision: number }) | undefined> {
    const e = await retrying(() => this.kv.get(processId), { budgetMs: this.retryBudgetMs, now: this.now });
    if (!e) return undefined;
    const r = decode(e);
    return r ? { ...r, revision: e.revision } : { holder: '', incarnation: '', expiresAt: 0, revision: e.revision };
  }

  /**
   * Takes the lease of `processId` for this node: creates it, or takes over an expired or
   * released one, or one whose holder is down. Throws LeaseHeld while another node that is not
   * known down holds a live lease. A live lease of this same node (an earlier incarnation that
   * did not release it) is taken over too.
   */
  async acquire(processId: string): Promise<Lease> {
    const incarnation = randomBytes(8).toString('hex');
    const deadline = this.now() + this.retryBudgetMs;
    for (;;) {
      const cur = await this.read(processId);
      const live = cur !== undefined && cur.expiresAt > this.now() && cur.holder !== this.node;
      if (live && !this.holderDown(cur.holder)) throw new LeaseHeld(processId, cur.holder, cur.expiresAt, cur.revision);
      const record: LeaseRecord = { holder: this.node, incarnation, expiresAt: this.now() + this.ttlMs };
      const expected = cur?.revision ?? 0;
      try {
        const w = await this.cas(processId, record, expected);
        return new Lease(this, processId, incarnation, w.revision, w.record.expiresAt);
      } catch (e) {
        if (isConflict(e)) {
          // Someone wrote since our read (or our own timed-out attempt landed): look again.
          const now = await this.read(processId);
          if (now && now.holder === this.node && now.incarnation === incarnation) {
            return new Lease(this, processId, incarnation, now.revision, now.expiresAt);
          }
          continue;
        }
        if (!isTransient(e) || this.now() > deadline) throw e;
        await sleep(200);
      }
    }
  }
}

export class Lease {
  private lost: LeaseLost | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** The revision of the acquiring write: the fencing token. */
  readonly token: number;

  constructor(
    private readonly m: LeaseManager,
    readonly processId: string,
    readonly incarnation: string,
    /** The current KV revision (moves with every renewal). */
    public revision: number,
    /** Until when the lease is ours if no renewal succeeds (unix ms). */
    public expiresAt: number,
  ) {
    this.token = revision;
  }

  get holder(): string {
    return this.m.node;
  }

  /** Held, not lost, not past its expiry by this node's clock. */
  get valid(): boolean {
    return this.lost === undefined && this.m.now() < this.expiresAt;
  }

  /** Why it was lost, if it was. */
  get lostReason(): LeaseLost | undefined {
    return this.lost;
  }

  /**
   * Extends the lease by ttl (update with the expected revision), retrying transient failures
   * within the retry budget. Throws LeaseLost (and the lease stays lost) if anyone else wrote
   * the key, or if no renewal got through in the budget.
   */
  async renew(): Promise<void> {
    if (this.lost) throw this.lost;
    const m = this.m;
    const deadline = m.now() + m.retryBudgetMs;
    let delay = 100;
    for (;;) {
      const record: LeaseRecord = { holder: m.node, incarnation: this.incarnation, expiresAt: m.now() + m.ttlMs };
      try {
        const w = await m.cas(this.processId, record, this.revision);
        this.revision = w.revision;
        this.expiresAt = w.record.expiresAt;
        return;
      } catch (e) {
        if (isConflict(e)) {
          // Ours, if an earlier attempt that timed out was stored after all.
          let cur: (LeaseRecord & { revision: number }) | undefined;
          let readable = true;
          try {
            cur = await m.read(this.processId);
          } catch (re) {
            if (!isTransient(re)) throw re;
            readable = false; // cannot tell yet: retry within the budget
          }
          if (readable) {
            if (cur && cur.holder === m.node && cur.incarnation === this.incarnation && cur.revision > this.revision) {
              this.revision = cur.revision;
              this.expiresAt = cur.expiresAt;
              return;
            }
            if (cur === undefined || cur.holder !== m.node || cur.incarnation !== this.incarnation) {
              throw (this.lost = new LeaseLost(this.processId, 'taken', cur));
            }
            // Our own record at a revision we know: a stale read; try again.
          }
        } else if (!isTransient(e)) {
          throw e;
        }
        if (m.now() + delay > deadline) throw (this.lost = new LeaseLost(this.processId, 'unreachable'));
        await sleep(delay);
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /** Renews every `renewEveryMs` until stopped or lost; `onLost` is called once if lost. */
  startRenewing(onLost: (e: LeaseLost) => void): void {
    this.stopRenewing();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.renewing = this.renew().then(
          () => {
            if (this.timer !== undefined) tick();
          },
          (e) => {
            this.timer = undefined;
            onLost(e instanceof LeaseLost ? e : (this.lost = new LeaseLost(this.processId, 'unreachable')));
          },
        );
      }, this.m.renewEveryMs);
    };
    tick();
  }

  stopRenewing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and gives the lease up (expiresAt 0), if it is still ours. */
  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewing?.catch(() => undefined);
    if (this.lost) return;
    const m = this.m;
    const record: LeaseRecord = { holder: m.node, incarnation: this.incarnation, expiresAt: 0 };
    try {
      this.revision = (await retrying(() => m.cas(this.processId, record, this.revision), { budgetMs: m.retryBudgetMs, now: m.now })).revision;
    } catch (e) {
      if (!isConflict(e)) throw e;
      // Taken meanwhile: nothing of ours to release.
    }
    this.expiresAt = 0;
    this.lost = new LeaseLost(this.processId, 'released');
  }
}
