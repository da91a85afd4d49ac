/**
 * The SU's log as every reader outside the SU sees it: read-only. The SU's LMDB tables are
 * shared by the node's units (the gateway, the log publisher, the AO-Sec origin, the observer,
 * the metrics) and by offline inspectors of a stopped node's disk (`aotp verify`, the
 * simulation's invariants); none of them may append, so none of them is handed the store.
 */
import type { Store } from '../../runtime/store.js';
import type { ProcessFilter } from './process-index.js';
import { SuStore, type ProcessRecord, type SlotRecord } from './store.js';

/** What a committed run was: how many slots, and how long its commit took. */
export interface CommittedRun {
  slots: number;
  ms: number;
}

export interface SuLogReader {
  /** A process's head: its next slot and its chain head. */
  process(processId: string): ProcessRecord | undefined;
  slot(processId: string, slot: number): SlotRecord | undefined;
  /** Slots `from`..`to` (inclusive), ascending, at most `limit`. */
  slotRange(processId: string, from: number, to: number, limit: number): SlotRecord[];
  /** Slots `from`..`to` (inclusive), ascending, read one at a time as the caller takes them. */
  slotsFrom(processId: string, from: number, to: number): Iterable<SlotRecord>;
  /** The slot of `id` (message or assignment id) in `processId`'s log. */
  slotOf(id: string, processId: string): number | undefined;
  /** Where `id` (a message or assignment id) is in some log: the first process holding it. */
  locate(id: string): { processId: string; slot: number } | undefined;
  /** The bytes of data item `id` (a spawn or a message). */
  item(id: string): Uint8Array | undefined;
  hasItem(id: string): boolean;
  /** Ids of processes that may match `filter` (every match is among them), newest or oldest first. */
  processIds(filter: ProcessFilter, newestFirst: boolean): Iterable<string>;
  /** Every process with its log's next slot, in process id order. */
  heads(): Iterable<{ processId: string; nextSlot: number }>;
  /** Calls `listener` with each run of `processId` as its append is issued, before it is durable (see SuStore.onAppending). */
  onAppending(processId: string, listener: (run: readonly SlotRecord[], committed: Promise<void>) => void): () => void;
  /** Calls `listener` after each committed run; answers the function that stops it. */
  onAppended(listener: (processId: string, nextSlot: number, run: CommittedRun) => void): () => void;
  /** Resolves once `messageId` is in `processId`'s log (at once if it is), or when `abort` fires. */
  whenAppended(processId: string, messageId: string, abort: AbortSignal): Promise<void>;
}

/**
 * `log`'s read methods and nothing else: what is handed out holds no reference to the writable
 * store, so not even a cast reaches `append`.
 */
export function logReader(log: SuStore): SuLogReader {
  return {
    process: (processId) => log.process(processId),
    slot: (processId, slot) => log.slot(processId, slot),
    slotRange: (processId, from, to, limit) => log.slotRange(processId, from, to, limit),
    slotsFrom: (processId, from, to) => log.slotsFrom(processId, from, to),
    slotOf: (id, processId) => log.slotOf(id, processId),
    locate: (id) => log.locate(id),
    item: (id) => log.item(id),
    hasItem: (id) => log.hasItem(id),
    processIds: (filter, newestFirst) => log.processIds(filter, newestFirst),
    heads: () => log.heads(),
    onAppending: (processId, listener) => log.onAppending(processId, listener),
    onAppended: (listener) => log.onAppended(listener),
    whenAppended: (processId, messageId, abort) => log.whenAppended(processId, messageId, abort),
  };
}

/** The SU log in `store` (e.g. a stopped node's LMDB), for reading only. */
export function readSuLog(store: Store): SuLogReader {
  return logReader(new SuStore(store));
}
