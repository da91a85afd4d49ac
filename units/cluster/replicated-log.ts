/**
 * The SU log replicated in a JetStream stream (default `AOTP_SU_LOG`, R3, file storage), one
 * subject per process: `<prefix>.log.<processId>`.
 *
 * Every append carries `expect: { lastSubjectSequence }` = the stream sequence of the previous
 * entry on the process's subject (0 when the subject has none: nats-server 2.9.10 takes 0 as
 * "no message on this subject yet"), so the stream itself refuses a second writer: whoever
 * appends first wins, the other gets "wrong last sequence" (err_code 10071), here StaleWriter.
 *
 * Entries (headers; the body is msgpack):
 *   slot   Aotp-Kind: slot,  Aotp-Slot: n,         Aotp-Token; body = the SlotRecord (assignment
 *          bytes and fields, the message bytes or none)
 *   fence  Aotp-Kind: fence, Aotp-Slot: next slot, Aotp-Token, Aotp-Holder; no body
 * A new owner first appends a fence after the subject's current last entry (`LogWriter.open`):
 * from then on, an earlier owner's append, made with its older expected sequence, is refused,
 * even if the new owner has not appended any slot yet. `Aotp-Slot` never decreases along a
 * subject, which lets `read` find slot k with a binary search of next-by-subject gets.
 *
 * Compare-and-set: nats-server 2.9.10 checks a clustered stream's expected-last-subject-
 * sequence (when ≠ 0) against what is applied, not against appends still in Raft: measured
 * here, two concurrent appends expecting the same sequence BOTH land in ~60-75% of races. So every append
 * also carries Nats-Msg-Id `<processId>@<expected sequence>`: the stream stages in-flight ids
 * for its duplicate window (2 min), so at most one entry is ever stored after a given entry,
 * and the loser gets a duplicate ack naming the winner's sequence. With both checks, every
 * stored entry follows the very entry its writer expected; a writer only expects its own last
 * entry (or, for a fence, the tail it read), so two writers cannot interleave.
 *
 * Retries: a write that timed out may have been stored; retried with the same Nats-Msg-Id it
 * gets a duplicate ack, and the entry there is compared with ours (ours: success; another
 * writer's: StaleWriter). After a "wrong last sequence" the subject's last entry is compared too.
 *
 * Reads (STREAM.MSG.GET: last_by_subj, next_by_subj) are answered by the stream leader.
 */
import { pack, unpack } from 'msgpackr';
import { ErrorCode, headers, NatsError, type JetStreamClient, type JetStreamManager, type NatsConnection, type StoredMsg } from 'nats';
import type { Clock } from '../../runtime/clock.js';
import type { SlotRecord } from '../su/store.js';
import { enforced } from '../safety.js';
import { isNotFound, isTransient, isWrongLastSequence, retrying } from './retry.js';
import { ensureStream } from './ensure-stream.js';

export interface ReplicatedLogOptions {
  stream?: string;
  /** Subject prefix: entries go to `<prefix>.log.<processId>`. */
  prefix?: string;
  replicas?: number;
  /** How long one append or read keeps retrying transient failures (no leader, timeouts). */
  retryBudgetMs?: number;
  /** Timeout of one request (a publish's ack, a get). */
  requestTimeoutMs?: number;
  /** Pauses between retries are timed on it (default the real timers). */
  clock?: Clock;
}

/** An entry as stored; `slot` of a fence is the next slot of the writer that appended it. */
export type LogEntry =
  | { kind: 'slot'; seq: number; processId: string; slot: number; token: number; record: SlotRecord; msgId?: string }
  | { kind: 'fence'; seq: number; processId: string; slot: number; token: number; holder: string; msgId?: string };

/** The stream refused an append: another writer appended after the entry this one expected. */
export class StaleWriter extends Error {
  override readonly name = 'StaleWriter';
  constructor(
    readonly processId: string,
    /** The slot that was being appended (for a fence, the next slot). */
    readonly slot: number,
    /** The last subject sequence this writer expected. */
    readonly expectedSeq: number,
    /** The subject's last entry as found after the refusal, if it could be read. */
    readonly last?: LogEntry,
  ) {
    super(
      `stale writer for ${processId} at slot ${slot}: expected last entry ${expectedSeq}` +
        (last ? `, the log has ${last.kind} ${last.slot} (token ${last.token}) at ${last.seq}` : ''),
    );
  }
}

const H_KIND = 'Aotp-Kind';
const H_SLOT = 'Aotp-Slot';
const H_TOKEN = 'Aotp-Token';
const H_HOLDER = 'Aotp-Holder';
const H_LAST = 'Aotp-Last';
const H_MSGID = 'Nats-Msg-Id';

type Draft = { kind: 'slot'; record: SlotRecord } | { kind: 'fence'; slot: number; holder: string } | { kind: 'run'; records: SlotRecord[] };

/** Most bytes of slot records packed into one stream message (NATS' max_payload is 1 MiB by default). */
const RUN_BYTES = 512 * 1024;

export class ReplicatedLog {
  readonly stream: string;
  readonly prefix: string;
  readonly retryBudgetMs: number;
  private readonly requestTimeoutMs: number;
  /** `{ clock }` for retrying, when one was given. */
  readonly clocked: { clock?: Clock };

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    o: ReplicatedLogOptions,
  ) {
    this.stream = o.stream ?? 'AOTP_SU_LOG';
    this.prefix = o.prefix ?? 'aotp.su';
    this.retryBudgetMs = o.retryBudgetMs ?? 30_000;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 2000;
    this.clocked = o.clock ? { clock: o.clock } : {};
  }

  /** Binds to the stream, creating it (R`replicas`, file storage) if it does not exist. */
  static async open(nc: NatsConnection, o: ReplicatedLogOptions = {}): Promise<ReplicatedLog> {
    const timeout = o.requestTimeoutMs ?? 2000;
    const jsm = await retrying(() => nc.jetstreamManager({ timeout }), { budgetMs: o.retryBudgetMs ?? 30_000, ...(o.clock ? { clock: o.clock } : {}) });
    const log = new ReplicatedLog(nc.jetstream({ timeout }), jsm, o);
    // duplicate_window: 2 min, in ns.
    await ensureStream(jsm, { name: log.stream, subjects: [`${log.prefix}.log.>`], num_replicas: o.replicas ?? 3, duplicate_window: 120_000_000_000 }, { budgetMs: log.retryBudgetMs, ...log.clocked });
    return log;
  }

  subject(processId: string): string {
    return `${this.prefix}.log.${processId}`;
  }

  /** The last entry of `processId`'s subject, or null when it has none. */
  async tail(processId: string): Promise<LogEntry | null> {
    return (await this.get(processId, { last_by_subj: this.subject(processId) })).at(-1) ?? null;
  }

  /** The first entry of `processId` at stream sequence `seq` or after it, or null. */
  async entryAtOrAfter(processId: string, seq: number): Promise<LogEntry | null> {
    return (await this.messageAtOrAfter(processId, seq))[0] ?? null;
  }

  /** The entries of the first message of `processId` at stream sequence `seq` or after it (a run holds several). */
  private messageAtOrAfter(processId: string, seq: number): Promise<LogEntry[]> {
    return this.get(processId, { seq, next_by_subj: this.subject(processId) });
  }

  /** The (first) entry at stream sequence `seq` (of any process), or null. */
  async entryAt(seq: number): Promise<LogEntry | null> {
    return (await this.get(undefined, { seq }))[0] ?? null;
  }

  /** The entries of one stored message: one, or a run's slots, all with its sequence. */
  private async get(
    processId: string | undefined,
    q: { last_by_subj: string } | { seq: number; next_by_subj: string } | { seq: number },
  ): Promise<LogEntry[]> {
    return retrying(
      async () => {
        try {
          const m = await this.jsm.streams.getMessage(this.stream, q);
          return decodeEntries(processId ?? m.subject.slice(`${this.prefix}.log.`.length), m);
        } catch (e) {
          if (isNotFound(e)) return [];
          throw e;
        }
      },
      { budgetMs: this.retryBudgetMs, ...this.clocked },
    );
  }

  /**
   * Every entry of `processId` (slots and fences, as stored: a verifier wants duplicates too)
   * whose `slot` is at least `fromSlot`, in stream order.
   */
  async *entries(processId: string, fromSlot = 0): AsyncGenerator<LogEntry> {
    const last = await this.tail(processId);
    if (!last || last.slot < fromSlot) return;
    // The first stream sequence whose next entry has slot >= fromSlot (slots never decrease).
    let lo = 1;
    let hi = last.seq;
    if (fromSlot > 0) {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        // A run message holds several slots: it is wanted if its last one is.
        const e = (await this.messageAtOrAfter(processId, mid)).at(-1);
        if (e && e.slot >= fromSlot) hi = mid;
        else lo = mid + 1;
      }
    }
    for (let seq = lo; seq <= last.seq; ) {
      const es = await this.messageAtOrAfter(processId, seq);
      if (es.length === 0) return;
      for (const e of es) if (e.slot >= fromSlot) yield e;
      seq = es[0]!.seq + 1;
    }
  }

  /** All entries from `fromSlot` (see `entries`). */
  async read(processId: string, fromSlot = 0): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const e of this.entries(processId, fromSlot)) out.push(e);
    return out;
  }

  /**
   * The slot records from `fromSlot` on, one per slot, in order: what a node catching its
   * LMDB up needs. The stream holds at most one entry per slot when every writer uses this
   * module; should it hold more, the first is the one that counts (later ones were refused
   * to everyone after it), and `verify` reports them.
   */
  async slots(processId: string, fromSlot = 0): Promise<SlotRecord[]> {
    const out: SlotRecord[] = [];
    let next = fromSlot;
    for await (const e of this.entries(processId, fromSlot)) {
      if (e.kind === 'slot' && e.slot === next) {
        out.push(e.record);
        next++;
      }
    }
    return out;
  }

  /** The slot-0 record (the spawn) of `processId`, or undefined when the log has none. */
  async first(processId: string): Promise<SlotRecord | undefined> {
    // Slot 0 is the first slot entry on the subject (after at most a fence or a few).
    for await (const e of this.entries(processId, 0)) if (e.kind === 'slot') return e.slot === 0 ? e.record : undefined;
    return undefined;
  }

  /** Appends a slot record after the entry at `expectedSeq` (0: the subject has none). */
  appendSlot(processId: string, record: SlotRecord, expectedSeq: number, token: number): Promise<number> {
    return this.append(processId, { kind: 'slot', record }, expectedSeq, token);
  }

  /** Appends consecutive slot records as one message after the entry at `expectedSeq`. */
  appendRun(processId: string, records: SlotRecord[], expectedSeq: number, token: number): Promise<number> {
    return this.append(processId, { kind: 'run', records }, expectedSeq, token);
  }

  /** Appends a fence (`nextSlot`: the next slot its writer will append). */
  appendFence(processId: string, nextSlot: number, holder: string, expectedSeq: number, token: number): Promise<number> {
    return this.append(processId, { kind: 'fence', slot: nextSlot, holder }, expectedSeq, token);
  }

  /**
   * Publishes one entry with the expected last subject sequence, retrying transient failures
   * within the budget. Resolves with the entry's stream sequence; rejects with StaleWriter if
   * the subject's last entry is not `expectedSeq` (and is not this very entry, stored by an
   * earlier attempt).
   */
  private async append(processId: string, d: Draft, expectedSeq: number, token: number): Promise<number> {
    const slot = d.kind === 'slot' ? d.record.slot : d.kind === 'run' ? d.records[0]!.slot : d.slot;
    const msgId = `${processId}@${expectedSeq}`;
    // Whether an entry found where this one should be is this one (an earlier attempt): a run
    // is recognised by its first or its last record (entryAt gives the first, tail the last).
    const mine = (e: LogEntry, r: SlotRecord) => e.kind === 'slot' && e.slot === r.slot && e.record.assignmentId === r.assignmentId;
    const ours = (e: LogEntry | null | undefined) =>
      !!e &&
      e.token === token &&
      (d.kind === 'run'
        ? mine(e, d.records[0]!) || mine(e, d.records[d.records.length - 1]!)
        : e.kind === d.kind &&
          e.slot === slot &&
          (e.kind === 'slot' ? d.kind === 'slot' && e.record.assignmentId === d.record.assignmentId : d.kind === 'fence' && e.holder === d.holder));
    const body = d.kind === 'slot' ? pack(d.record) : d.kind === 'run' ? pack(d.records) : new Uint8Array(0);
    try {
      const ack = await retrying(
        async () => {
          const h = headers();
          h.set(H_KIND, d.kind);
          h.set(H_SLOT, String(slot));
          h.set(H_TOKEN, String(token));
          if (d.kind === 'fence') h.set(H_HOLDER, d.holder);
          if (d.kind === 'run') h.set(H_LAST, String(d.records[d.records.length - 1]!.slot));
          const fenced = enforced('fencing');
          const a = await this.js.publish(this.subject(processId), body, {
            headers: h,
            ...(fenced ? { msgID: msgId, expect: { lastSubjectSequence: expectedSeq } } : {}),
            timeout: this.requestTimeoutMs,
          });
          // A duplicate of an append still in Raft has no sequence yet: ask again shortly.
          if (a.duplicate && a.seq === 0) throw new NatsError('duplicate of an append in flight', ErrorCode.Timeout);
          return a;
        },
        { budgetMs: this.retryBudgetMs, ...this.clocked },
      );
      if (!ack.duplicate) return ack.seq;
      // An entry after `expectedSeq` exists already: ours (an earlier attempt), or a rival's.
      const there = await this.entryAt(ack.seq);
      if (ours(there)) return ack.seq;
      throw new StaleWriter(processId, slot, expectedSeq, there ?? undefined);
    } catch (e) {
      if (!isWrongLastSequence(e)) throw e;
      const last = await this.tail(processId).catch(() => undefined);
      if (ours(last)) return last!.seq; // an earlier attempt of ours was stored
      throw new StaleWriter(processId, slot, expectedSeq, last ?? undefined);
    }
  }
}

/**
 * One writer's handle on a process's replicated log: it knows the sequence of the entry it
 * appended last, and appends slots in order after it.
 */
export class LogWriter {
  private constructor(
    readonly log: ReplicatedLog,
    readonly processId: string,
    readonly token: number,
    /** Stream sequence of the last entry on the subject (this writer's fence or slot). */
    public lastSeq: number,
    /** The slot the next append must carry. */
    public nextSlot: number,
  ) {}

  /**
   * Becomes the writer of `processId`'s log with fencing token `token` (the lease's): reads
   * the subject's last entry and appends a fence after it, retrying if someone appends
   * meanwhile (until `attempts`). After this, no earlier writer can append. `nextSlot` is
   * one past the last slot in the stream; `missing(localNext)` gives the slots to catch up.
   */
  static async open(log: ReplicatedLog, processId: string, token: number, holder: string, attempts = 5): Promise<LogWriter> {
    for (let i = 0; ; i++) {
      const last = await log.tail(processId);
      if (last && last.token > token && enforced('fencing')) {
        throw new StaleWriter(processId, last.slot, last.seq, last);
      }
      // A fence records the next slot of its writer; a slot entry is followed by slot + 1.
      const nextSlot = !last ? 0 : last.kind === 'slot' ? last.slot + 1 : last.slot;
      try {
        const seq = await log.appendFence(processId, nextSlot, holder, last?.seq ?? 0, token);
        return new LogWriter(log, processId, token, seq, nextSlot);
      } catch (e) {
        if (!(e instanceof StaleWriter) || i + 1 >= attempts) throw e;
      }
    }
  }

  /** Slot records in the stream from `localNext` on (those this node's own log lacks). */
  missing(localNext: number): Promise<SlotRecord[]> {
    return this.log.slots(this.processId, localNext);
  }

  /** Appends the next slot. Rejects with StaleWriter when another writer appended since. */
  async append(record: SlotRecord): Promise<number> {
    if (record.slot !== this.nextSlot) {
      throw new Error(`${this.processId}: append of slot ${record.slot}, the log's next slot is ${this.nextSlot}`);
    }
    const seq = await this.log.appendSlot(this.processId, record, this.lastSeq, this.token);
    this.lastSeq = seq;
    this.nextSlot = record.slot + 1;
    return seq;
  }

  /**
   * Appends consecutive slots as few messages as fit (up to RUN_BYTES of records each, one
   * waiting for the previous one's ack). Rejects with StaleWriter when another writer appended.
   */
  async appendRun(run: SlotRecord[]): Promise<void> {
    let i = 0;
    while (i < run.length) {
      let bytes = 0;
      let j = i;
      do bytes += sizeOf(run[j++]!);
      while (j < run.length && bytes + sizeOf(run[j]!) <= RUN_BYTES);
      const chunk = run.slice(i, j);
      if (chunk[0]!.slot !== this.nextSlot) {
        throw new Error(`${this.processId}: append of slot ${chunk[0]!.slot}, the log's next slot is ${this.nextSlot}`);
      }
      this.lastSeq = chunk.length === 1 ? await this.log.appendSlot(this.processId, chunk[0]!, this.lastSeq, this.token) : await this.log.appendRun(this.processId, chunk, this.lastSeq, this.token);
      this.nextSlot = chunk[chunk.length - 1]!.slot + 1;
      i = j;
    }
  }
}

/** A slot record's bytes, roughly (its two items dominate). */
const sizeOf = (r: SlotRecord) => r.assignment.byteLength + (r.item?.byteLength ?? 0) + 256;

function decodeEntries(processId: string, m: StoredMsg): LogEntry[] {
  if (m.header?.get(H_KIND) !== 'run') return [decodeEntry(processId, m)];
  const token = Number(m.header.get(H_TOKEN));
  const msgId = m.header.get(H_MSGID) || undefined;
  return (unpack(m.data) as SlotRecord[]).map((record) => ({ kind: 'slot' as const, seq: m.seq, processId, slot: record.slot, token, record, ...(msgId ? { msgId } : {}) }));
}

function decodeEntry(processId: string, m: StoredMsg): LogEntry {
  const kind = m.header?.get(H_KIND);
  const slot = Number(m.header?.get(H_SLOT));
  const token = Number(m.header?.get(H_TOKEN));
  const msgId = m.header?.get(H_MSGID) || undefined;
  const id = msgId ? { msgId } : {};
  if (kind === 'slot') return { kind, seq: m.seq, processId, slot, token, record: unpack(m.data) as SlotRecord, ...id };
  if (kind === 'fence') return { kind, seq: m.seq, processId, slot, token, holder: m.header.get(H_HOLDER), ...id };
  throw new NatsError(`entry ${m.seq} of ${processId} is not an aotp log entry`, 'BAD_ENTRY');
}
