/**
 * The SU's log in the node's LMDB environment. Sub-databases:
 *
 *   su.processes  processId → ProcessRecord (next slot, chain head: last assignment id, Hash-Chain, Timestamp)
 *   su.slots      [processId, slot] → SlotRecord: the signed assignment's bytes and fields, and the
 *                 assigned item's bytes (the spawn at slot 0, a message; not for the assign flow,
 *                 whose transaction is kept in the slot that first scheduled it)
 *   su.refs       [id, processId] → slot, for every message id and assignment id (dedupe and lookups)
 *   su.process-index  processes by owner, tag and spawn order (process-index.ts)
 *
 * Item bytes live in their slot record, under a key that grows with the log, rather than in a
 * table keyed by their (random) id: measured here, that doubles the rate of durable appends
 * (random-key inserts of 1 KiB values copy many more pages per commit).
 *
 * `append` writes a run of consecutive slots of one process in one transaction callback: it
 * first checks that the run starts at the process's durable next slot and that none of its
 * messages is already scheduled, and throws (writing nothing) if not; then it writes. So a
 * run is in the log entirely or not at all, and a stale writer (a sequencer that was killed
 * while its run was being signed) cannot put a second message in a slot. Runs of all processes
 * queued in one event turn share one commit.
 */
import type { Store, Table } from '../../runtime/store.js';
import { enforced } from '../safety.js';
import type { ChainHead } from './assignment.js';
import { ProcessIndex, type ProcessEntry, type ProcessFilter } from './process-index.js';
import type { CommittedRun, SuLogReader } from './log-reader.js';

/** What kind of item a slot assigns. */
export type SlotKind = 'process' | 'message' | 'assign';

export interface ProcessRecord {
  processId: string;
  /** The slot the next assignment gets: every slot below it is in the log. */
  nextSlot: number;
  /** The last assignment in the log. */
  head: ChainHead & { timestamp: number };
}

export interface SlotRecord {
  slot: number;
  kind: SlotKind;
  assignmentId: string;
  messageId: string;
  timestamp: number;
  blockHeight: number;
  hashChain: string;
  /** The signed assignment data item. */
  assignment: Uint8Array;
  /** The assigned data item (spawn or message); absent for the assign flow. */
  item?: Uint8Array;
}

export type NewSlot = SlotRecord;

/** A run that does not fit the log as it is: nothing was written. */
export class StaleRun extends Error {
  override readonly name = 'StaleRun';
}

/** The SU's writable log: only the SU holds it; every other reader has it as a SuLogReader. */
export class SuStore implements SuLogReader {
  private readonly processes: Table<ProcessRecord, string>;
  private readonly slots: Table<SlotRecord, [string, number]>;
  private readonly refs: Table<number, [string, string]>;
  private readonly index: ProcessIndex;
  /** The last append of each process still in progress. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  /** Waiting for a message to be in a log: `<processId> <messageId>` → wakers. */
  private readonly awaited = new Map<string, (() => void)[]>();
  /** Told of each run of a process as its commit begins (a CU evaluates ahead of the commit). */
  private readonly appendingListeners = new Map<string, Set<(run: readonly SlotRecord[], committed: Promise<void>) => void>>();
  /** Told of each committed run (the log publisher follows the logs so). */
  private readonly appendListeners = new Set<(processId: string, nextSlot: number, run: CommittedRun) => void>();

  constructor(private readonly store: Store) {
    this.processes = store.db('su.processes');
    this.slots = store.db('su.slots');
    this.refs = store.db('su.refs');
    this.index = new ProcessIndex(store);
  }

  /**
   * Indexes the processes of a log written before the process index existed (once: later calls
   * find it built). The running SU calls it at start; readers of a stopped node's log do not.
   */
  indexProcesses(): Promise<void> {
    return this.index.buildOnce(this.store, () => this.spawns());
  }

  /** Every process's spawn item and slot 0 time. */
  private *spawns(): Generator<{ item: Uint8Array; timestamp: number }> {
    for (const { key } of this.processes.getRange()) {
      const first = this.slots.get([key, 0]);
      if (first?.item) yield { item: first.item, timestamp: first.timestamp };
    }
  }

  /** Ids of processes that may match `filter` (every match is among them), newest or oldest first. */
  processIds(filter: ProcessFilter, newestFirst: boolean): Iterable<string> {
    return this.index.candidates(filter, newestFirst);
  }

  /** Every process with its log's next slot, in process id order. */
  *heads(): Generator<{ processId: string; nextSlot: number }> {
    for (const { key, value } of this.processes.getRange()) yield { processId: key, nextSlot: value.nextSlot };
  }

  /** Calls `listener` after each committed run; answers the function that stops it. */
  onAppended(listener: (processId: string, nextSlot: number, run: CommittedRun) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Calls `listener` with each run of `processId` as its append is issued, and the append's
   * promise (it rejects when the run is not written); answers the function that stops it.
   */
  onAppending(processId: string, listener: (run: readonly SlotRecord[], committed: Promise<void>) => void): () => void {
    let set = this.appendingListeners.get(processId);
    if (!set) this.appendingListeners.set(processId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.appendingListeners.get(processId) === set) this.appendingListeners.delete(processId);
    };
  }

  process(processId: string): ProcessRecord | undefined {
    return this.processes.get(processId);
  }

  slot(processId: string, slot: number): SlotRecord | undefined {
    return this.slots.get([processId, slot]);
  }

  /** Slots `from`..`to` (inclusive), ascending, at most `limit`. */
  slotRange(processId: string, from: number, to: number, limit: number): SlotRecord[] {
    if (to < from || limit <= 0) return [];
    const out: SlotRecord[] = [];
    for (const { value } of this.slots.getRange({ start: [processId, from], end: [processId, to + 1], limit })) out.push(value);
    return out;
  }

  /**
   * Slots `from`..`to` (inclusive), ascending, read one at a time as the caller takes them: a
   * reader that stops at a byte budget loads nothing past it.
   */
  *slotsFrom(processId: string, from: number, to: number): Generator<SlotRecord> {
    if (to < from) return;
    for (const { value } of this.slots.getRange({ start: [processId, from], end: [processId, to + 1] })) yield value;
  }

  /** The slot of `id` (message or assignment id) in `processId`'s log. */
  slotOf(id: string, processId: string): number | undefined {
    return this.refs.get([id, processId]);
  }

  /** Where `id` (a message or assignment id) is in some log: the first process holding it. */
  locate(id: string): { processId: string; slot: number } | undefined {
    for (const { key, value } of this.refs.getRange({ start: [id], limit: 1 })) {
      if (key[0] === id) return { processId: key[1], slot: value };
    }
    return undefined;
  }

  /** The bytes of data item `id` (a spawn or a message), from the slot that holds them. */
  item(id: string): Uint8Array | undefined {
    for (const { key, value } of this.refs.getRange({ start: [id] })) {
      if (key[0] !== id) return undefined;
      const slot = this.slots.get([key[1], value]);
      if (slot?.item && slot.messageId === id) return slot.item;
    }
    return undefined;
  }

  hasItem(id: string): boolean {
    return this.item(id) !== undefined;
  }

  /**
   * Appends consecutive slots to a process's log (atomically; see the file comment). Resolves
   * once the commit is durable; rejects with StaleRun when the run does not follow the log.
   */
  append(processId: string, run: NewSlot[]): Promise<void> {
    if (run.length === 0) return Promise.resolve();
    const first = run[0]!;
    const last = run[run.length - 1]!;
    // A spawn (slot 0) is indexed with it, parsed here rather than inside the shared transaction.
    const spawned: ProcessEntry | undefined = first.slot === 0 && first.item ? ProcessIndex.tryEntry(first.item, first.timestamp) : undefined;
    const record: ProcessRecord = {
      processId,
      nextSlot: last.slot + 1,
      head: { slot: last.slot, id: last.assignmentId, hashChain: last.hashChain, timestamp: last.timestamp },
    };
    const begun = performance.now();
    const p = this.store.transact(() => {
      const current = this.processes.get(processId);
      const expected = current ? current.nextSlot : 0;
      if (first.slot !== expected) throw new StaleRun(`${processId}: run starts at slot ${first.slot}, the log's next slot is ${expected}`);
      if (enforced('su-dedupe')) {
        for (const s of run) {
          if (this.refs.get([s.messageId, processId]) !== undefined) throw new StaleRun(`${processId}: ${s.messageId} is already scheduled`);
        }
      }
      for (const s of run) {
        this.slots.put([processId, s.slot], s);
        this.refs.put([s.messageId, processId], s.slot);
        this.refs.put([s.assignmentId, processId], s.slot);
      }
      this.processes.put(processId, record);
      if (spawned) this.index.add(spawned);
    });
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(processId, settled);
    const appending = this.appendingListeners.get(processId);
    if (appending) {
      for (const l of appending) {
        try {
          l(run, p);
        } catch {
          // a listener's failure is its own: the append goes on
        }
      }
    }
    void settled.then(() => {
      if (this.inFlight.get(processId) === settled) this.inFlight.delete(processId);
    });
    void p.then(() => {
      const committed: CommittedRun = { slots: run.length, ms: performance.now() - begun };
      for (const l of this.appendListeners) l(processId, record.nextSlot, committed);
      if (this.awaited.size === 0) return;
      for (const s of run) {
        const key = `${processId} ${s.messageId}`;
        const wake = this.awaited.get(key);
        this.awaited.delete(key);
        wake?.forEach((w) => w());
      }
    }, () => undefined);
    return p;
  }

  /**
   * Resolves once `messageId` is in `processId`'s log (at once if it is), or when `abort` fires:
   * what a reader waiting for a message's slot waits on instead of polling.
   */
  whenAppended(processId: string, messageId: string, abort: AbortSignal): Promise<void> {
    if (this.slotOf(messageId, processId) !== undefined || abort.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const key = `${processId} ${messageId}`;
      const wake = () => {
        abort.removeEventListener('abort', gone);
        resolve();
      };
      const gone = () => {
        const rest = (this.awaited.get(key) ?? []).filter((w) => w !== wake);
        if (rest.length) this.awaited.set(key, rest);
        else this.awaited.delete(key);
        resolve();
      };
      this.awaited.set(key, [...(this.awaited.get(key) ?? []), wake]);
      abort.addEventListener('abort', gone, { once: true });
    });
  }

  /** Resolves when every append of `processId` issued so far has committed or failed. */
  settled(processId: string): Promise<void> {
    return (this.inFlight.get(processId) ?? Promise.resolve()) as Promise<void>;
  }

  /** Number of processes with an append in progress. */
  get busy(): number {
    return this.inFlight.size;
  }
}
