/**
 * Reading the SU's logs (units/schedule.ts's ScheduleReader, plus what the HTTP routes need).
 *
 * On one node the reader reads the store directly. It only sees durable data: the LMDB
 * environment commits with fsync before a write becomes visible (runtime/store.ts), and a
 * sequencer appends a run in one transaction, so a reader sees a whole run or none of it.
 */
import type { ProcessInfo, ScheduledMessage, ScheduleReader } from '../schedule.js';
import type { SlotKind, SlotRecord, SuStore } from './store.js';

/** A log entry with what kind of item its slot assigns. */
export interface SuEntry extends ScheduledMessage {
  kind: SlotKind;
}

export interface PageQuery {
  /** Timestamp mode: entries with Timestamp > from (ms) ... */
  from?: number;
  /** ... and <= to. */
  to?: number;
  /** Nonce mode (either given): slots > fromNonce and <= toNonce. */
  fromNonce?: number;
  toNonce?: number;
  limit: number;
}

export interface Page {
  entries: SuEntry[];
  /** More entries match after this page. */
  hasNextPage: boolean;
  mode: 'timestamp' | 'nonce';
}

export const DEFAULT_PAGE_LIMIT = 100;

export class SuReader implements ScheduleReader {
  constructor(private readonly store: SuStore) {}

  private entry(processId: string, r: SlotRecord): SuEntry {
    // For the assign flow, the assigned transaction is kept in the slot that first scheduled it.
    const message = r.item ?? (r.kind === 'assign' ? (this.store.item(r.messageId) ?? null) : null);
    return {
      processId,
      slot: r.slot,
      kind: r.kind,
      assignment: r.assignment,
      assignmentId: r.assignmentId,
      message,
      messageId: r.messageId,
      timestamp: r.timestamp,
      blockHeight: r.blockHeight,
      hashChain: r.hashChain,
    };
  }

  async process(processId: string): Promise<ProcessInfo | undefined> {
    return this.processSync(processId);
  }

  processSync(processId: string): ProcessInfo | undefined {
    const record = this.store.process(processId);
    if (!record) return undefined;
    const first = this.store.slot(processId, 0);
    const spawn = this.store.item(processId);
    if (!first || !spawn) return undefined;
    return { processId, spawn, first: this.entry(processId, first), lastSlot: record.nextSlot - 1 };
  }

  /** Whether `processId` is hosted here (its spawn is durable). */
  hosts(processId: string): boolean {
    return this.store.process(processId) !== undefined;
  }

  async read(processId: string, from: number, to?: number, limit = Number.MAX_SAFE_INTEGER): Promise<SuEntry[]> {
    const record = this.store.process(processId);
    if (!record) return [];
    const last = Math.min(to ?? Infinity, record.nextSlot - 1);
    return this.store.slotRange(processId, Math.max(0, from), last, limit).map((r) => this.entry(processId, r));
  }

  /** The entry of a message or assignment id: in `processId`'s log, or wherever it is. */
  find(id: string, processId?: string): SuEntry | undefined {
    let where: { processId: string; slot: number } | undefined;
    if (processId !== undefined) {
      const slot = this.store.slotOf(id, processId);
      where = slot === undefined ? undefined : { processId, slot };
    } else where = this.store.locate(id);
    if (!where) return undefined;
    const r = this.store.slot(where.processId, where.slot);
    return r ? this.entry(where.processId, r) : undefined;
  }

  latest(processId: string): SuEntry | undefined {
    const record = this.store.process(processId);
    if (!record) return undefined;
    const r = this.store.slot(processId, record.nextSlot - 1);
    return r ? this.entry(processId, r) : undefined;
  }

  /**
   * One page of a log, as the reference SU pages it: by Timestamp (from exclusive, to
   * inclusive) unless a nonce bound is given. Timestamps never decrease within a log, so the
   * first slot after `from` is found by binary search. Several slots can share a millisecond;
   * a timestamp page never ends inside such a run (it takes the rest of the run, going past
   * `limit`), so that the next page, which starts after the last cursor's timestamp, skips
   * nothing.
   */
  page(processId: string, q: PageQuery): Page {
    const record = this.store.process(processId);
    const nonceMode = q.fromNonce !== undefined || q.toNonce !== undefined;
    const mode = nonceMode ? 'nonce' : 'timestamp';
    if (!record) return { entries: [], hasNextPage: false, mode };
    const lastSlot = record.nextSlot - 1;
    const limit = Math.max(1, q.limit);
    if (nonceMode) {
      const start = q.fromNonce === undefined ? 0 : Math.max(0, Math.floor(q.fromNonce) + 1);
      const end = Math.min(lastSlot, q.toNonce === undefined ? lastSlot : Math.floor(q.toNonce));
      const rows = this.store.slotRange(processId, start, end, limit);
      const hasNextPage = rows.length === limit && rows[rows.length - 1]!.slot < end;
      return { entries: rows.map((r) => this.entry(processId, r)), hasNextPage, mode };
    }
    const start = q.from === undefined ? 0 : this.firstSlotAfter(processId, q.from, lastSlot);
    const to = q.to ?? Infinity;
    const rows: SlotRecord[] = [];
    let hasNextPage = false;
    let slot = start;
    while (slot <= lastSlot) {
      const batch = this.store.slotRange(processId, slot, lastSlot, Math.max(limit, 64));
      if (batch.length === 0) break;
      let stop = false;
      for (const r of batch) {
        if (r.timestamp > to) {
          stop = true;
          break;
        }
        const prev = rows[rows.length - 1];
        if (rows.length >= limit && prev && r.timestamp !== prev.timestamp) {
          hasNextPage = true;
          stop = true;
          break;
        }
        rows.push(r);
      }
      if (stop) break;
      slot = batch[batch.length - 1]!.slot + 1;
    }
    return { entries: rows.map((r) => this.entry(processId, r)), hasNextPage, mode };
  }

  /** The first slot whose Timestamp is > `ts` (lastSlot + 1 if none). */
  private firstSlotAfter(processId: string, ts: number, lastSlot: number): number {
    let lo = 0;
    let hi = lastSlot + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.store.slot(processId, mid);
      if (r && r.timestamp > ts) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
