/**
 * The CU's part of the node's LMDB environment:
 *
 * - `cu.results`      [processId, slot] → the evaluation of that slot (the reference CU's
 *                     evaluation output: Messages, Spawns, Assignments, Output, Error, GasUsed).
 * - `cu.message-slot` [processId, messageId] → slot, to answer results by message id.
 * - `cu.checkpoints`  [processId, slot] → the process's memory image after that slot.
 *
 * Results are recomputable from the SU log, so they are written without waiting for each
 * commit (lmdb-js batches them into few commits); the process actor waits for the commits
 * before it tells anyone that a slot is evaluated.
 */
import type { Database } from 'lmdb';
import type { Store } from '../../runtime/store.js';
import type { EvalOutput } from './message.js';
import type { MemoryImage } from './worker/protocol.js';

export interface ResultRecord {
  messageId: string;
  slot: number;
  timestamp: number;
  blockHeight: number;
  output: EvalOutput;
  /** The reference CU keeps the memory from before this message (it had an Error, or ran out of memory). */
  discarded: boolean;
}

export interface CheckpointRecord {
  processId: string;
  slot: number;
  moduleId: string;
  timestamp: number;
  blockHeight: number;
  /** Unix ms when written. */
  createdAt: number;
  image: MemoryImage;
}

type Key = [string, number];

export class CuStore {
  readonly results: Database<ResultRecord, Key>;
  private readonly bySlot: Database<number, [string, string]>;
  readonly checkpoints: Database<CheckpointRecord, Key>;

  constructor(private readonly store: Store) {
    this.results = store.db<ResultRecord, Key>('cu.results');
    this.bySlot = store.db<number, [string, string]>('cu.message-slot');
    this.checkpoints = store.db<CheckpointRecord, Key>('cu.checkpoints');
  }

  /** Writes results, in one transaction callback (not awaited per message; see the module comment). */
  putResults(processId: string, rs: readonly ResultRecord[]): Promise<void> {
    return this.store.transact(() => {
      for (const r of rs) {
        void this.results.put([processId, r.slot], r);
        void this.bySlot.put([processId, r.messageId], r.slot);
      }
    });
  }

  putResult(processId: string, r: ResultRecord): Promise<void> {
    return this.putResults(processId, [r]);
  }

  result(processId: string, slot: number): ResultRecord | undefined {
    return this.results.get([processId, slot]);
  }

  slotOf(processId: string, messageId: string): number | undefined {
    return this.bySlot.get([processId, messageId]);
  }

  resultOf(processId: string, messageId: string): ResultRecord | undefined {
    const slot = this.slotOf(processId, messageId);
    return slot === undefined ? undefined : this.result(processId, slot);
  }

  /** The highest slot with a stored result, or -1. */
  lastResultSlot(processId: string): number {
    for (const { key } of this.results.getRange({ start: [processId, Number.MAX_SAFE_INTEGER], end: [processId, -1], reverse: true, limit: 1 })) {
      return (key as Key)[1];
    }
    return -1;
  }

  /** Results with `from` < slot <= `to`, in slot order (or reversed), at most `limit`. */
  resultRange(processId: string, o: { from: number; to: number; limit: number; reverse?: boolean }): ResultRecord[] {
    const out: ResultRecord[] = [];
    const range = o.reverse
      ? this.results.getRange({ start: [processId, o.to], end: [processId, o.from], reverse: true, limit: o.limit })
      : this.results.getRange({ start: [processId, o.from + 1], end: [processId, o.to + 1], limit: o.limit });
    for (const { value } of range) out.push(value);
    return out;
  }

  putCheckpoint(c: CheckpointRecord): Promise<boolean> {
    return this.checkpoints.put([c.processId, c.slot], c);
  }

  /** Checkpoint slots of a process at or below `slot`, newest first. */
  checkpointSlots(processId: string, slot = Number.MAX_SAFE_INTEGER): number[] {
    const out: number[] = [];
    for (const key of this.checkpoints.getKeys({ start: [processId, slot], end: [processId, -1], reverse: true })) out.push((key as Key)[1]);
    return out;
  }

  checkpoint(processId: string, slot: number): CheckpointRecord | undefined {
    return this.checkpoints.get([processId, slot]);
  }

  removeCheckpoint(processId: string, slot: number): Promise<boolean> {
    return this.checkpoints.remove([processId, slot]);
  }

  /** Keeps the newest `keep` checkpoints of a process. */
  async pruneCheckpoints(processId: string, keep: number): Promise<void> {
    const old = this.checkpointSlots(processId).slice(keep);
    if (old.length) await this.store.transact(() => old.forEach((s) => void this.checkpoints.remove([processId, s])));
  }
}
