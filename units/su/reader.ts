/**
 * Reading the SU's logs (units/schedule.ts's ScheduleReader, plus what the HTTP routes need).
 *
 * On one node the reader reads the store directly. It only sees durable data: the LMDB
 * environment commits with fsync before a write becomes visible (runtime/store.ts), and a
 * sequencer appends a run in one transaction, so a reader sees a whole run or none of it.
 */
import type { ProcessInfo, ScheduledMessage, ScheduleReader, TentativeListener } from '../schedule.js';
import type { SuLogReader } from './log-reader.js';
import type { SlotKind, SlotRecord } from './store.js';

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
  /** Item bytes a page holds at most (it always holds one entry); default DEFAULT_PAGE_BYTES. */
  maxBytes?: number;
}

export interface Page {
  entries: SuEntry[];
  /** More entries match after this page. */
  hasNextPage: boolean;
  mode: 'timestamp' | 'nonce';
}

export const DEFAULT_PAGE_LIMIT = 100;
/**
 * Item bytes (assignment + message) one page or one read holds at most, unless its first entry
 * alone is larger. A page is serialised whole (JSON for HTTP, msgpack across the bus), so its
 * size must not follow what users put in their messages.
 */
export const DEFAULT_PAGE_BYTES = 8 * 1024 * 1024;

/** The bytes an entry holds (what a page or a read buffers for it). */
export const entryBytes = (e: ScheduledMessage): number => e.assignment.byteLength + (e.message?.byteLength ?? 0);

export class SuReader implements ScheduleReader {
  constructor(private readonly store: SuLogReader) {}

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

  /**
   * Slots `from`..`to` (inclusive), at most `limit` entries and, past the first, at most
   * `maxBytes` of item bytes: a log of large messages is read a few at a time.
   */
  async read(processId: string, from: number, to?: number, limit = Number.MAX_SAFE_INTEGER, maxBytes = Number.MAX_SAFE_INTEGER): Promise<SuEntry[]> {
    const record = this.store.process(processId);
    if (!record) return [];
    const last = Math.min(to ?? Infinity, record.nextSlot - 1);
    const out: SuEntry[] = [];
    let bytes = 0;
    for (const r of this.store.slotsFrom(processId, Math.max(0, from), last)) {
      if (out.length >= limit) break;
      const e = this.entry(processId, r);
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Each run of `processId` as its commit begins (see ScheduleReader.onTentative). */
  onTentative(processId: string, listener: TentativeListener): () => void {
    return this.store.onAppending(processId, (run, committed) => listener(run.map((r) => this.entry(processId, r)), committed));
  }

  /** Resolves once `messageId` is in `processId`'s log, or when `abort` fires. */
  whenAppended(processId: string, messageId: string, abort: AbortSignal): Promise<void> {
    return this.store.whenAppended(processId, messageId, abort);
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
   * first slot after `from` is found by binary search. A page ends at `limit` entries or at
   * `maxBytes` of item bytes, whichever comes first, and always holds at least one entry.
   *
   * Several slots can share a millisecond. A timestamp page never ends inside such a run, so
   * that the next page, which starts after the last cursor's timestamp, skips nothing: it ends
   * before the run when the run does not fit, or, when the run is where the page starts, takes
   * the whole run (past `limit` and `maxBytes`: a run is at most one sequencer batch).
   */
  page(processId: string, q: PageQuery): Page {
    const record = this.store.process(processId);
    const nonceMode = q.fromNonce !== undefined || q.toNonce !== undefined;
    const mode = nonceMode ? 'nonce' : 'timestamp';
    if (!record) return { entries: [], hasNextPage: false, mode };
    const lastSlot = record.nextSlot - 1;
    const limit = Math.max(1, q.limit);
    const maxBytes = q.maxBytes ?? DEFAULT_PAGE_BYTES;
    const entries: SuEntry[] = [];
    let bytes = 0;
    if (nonceMode) {
      const start = q.fromNonce === undefined ? 0 : Math.max(0, Math.floor(q.fromNonce) + 1);
      const end = Math.min(lastSlot, q.toNonce === undefined ? lastSlot : Math.floor(q.toNonce));
      for (const r of this.store.slotsFrom(processId, start, end)) {
        // Something follows this page: the row just read.
        if (entries.length >= limit) return { entries, hasNextPage: true, mode };
        const e = this.entry(processId, r);
        bytes += entryBytes(e);
        if (entries.length > 0 && bytes > maxBytes) return { entries, hasNextPage: true, mode };
        entries.push(e);
      }
      return { entries, hasNextPage: false, mode };
    }
    const start = q.from === undefined ? 0 : this.firstSlotAfter(processId, q.from, lastSlot);
    const to = q.to ?? Infinity;
    /** Where the run of entries sharing the last entry's Timestamp starts in `entries`. */
    let runStart = 0;
    for (const r of this.store.slotsFrom(processId, start, lastSlot)) {
      if (r.timestamp > to) break;
      const prev = entries[entries.length - 1];
      const newRun = prev === undefined || r.timestamp !== prev.timestamp;
      if (newRun && entries.length >= limit) return { entries, hasNextPage: true, mode };
      const e = this.entry(processId, r);
      bytes += entryBytes(e);
      if (entries.length > 0 && bytes > maxBytes) {
        if (newRun) return { entries, hasNextPage: true, mode };
        // Inside a run: end the page before it, unless the page is that run.
        if (runStart > 0) return { entries: entries.slice(0, runStart), hasNextPage: true, mode };
      }
      if (newRun) runStart = entries.length;
      entries.push(e);
    }
    return { entries, hasNextPage: false, mode };
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
