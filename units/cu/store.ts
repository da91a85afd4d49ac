/**
 * The CU's part of the node's LMDB environment:
 *
 * - `cu.results`      [processId, slot] → the evaluation of that slot (the reference CU's
 *                     evaluation output: Messages, Spawns, Assignments, Output, Error, GasUsed).
 * - `cu.message-slot` [processId, messageId] → slot, to answer results by message id.
 * - `cu.checkpoints`  [processId, slot] → the process's memory image after that slot.
 * - `cu.attestations` [processId, slot] → the CU's signed attestation of that slot (attestation.ts),
 *                     made on first request and kept, so one result has one attestation here.
 *
 * Results are recomputable from the SU log, so they are written without waiting for each
 * commit (lmdb-js batches them into few commits); the process actor waits for the commits
 * before it tells anyone that a slot is evaluated.
 */
import type { Store, Table } from '../../runtime/store.js';
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

/** The evaluation of a cron message (generated after `slot`, at `at`). */
export interface CronRecord {
  slot: number;
  /** Its Timestamp, unix ms. */
  at: number;
  /** `<index>-<interval>`, as the reference names it. */
  cron: string;
  blockHeight: number;
  output: EvalOutput;
  discarded: boolean;
}

/** A cron evaluation to write (its key needs the cron's index). */
export interface CronResult {
  index: number;
  record: CronRecord;
}

export interface CheckpointRecord {
  processId: string;
  slot: number;
  /** Time of the last cron message evaluated after `slot` (-1: none). */
  cron?: number;
  moduleId: string;
  timestamp: number;
  blockHeight: number;
  /** Unix ms when written. */
  createdAt: number;
  image: MemoryImage;
}

type Key = [string, number];
/** [processId, slot, at, cron index] */
type CronKey = [string, number, number, number];

export class CuStore {
  readonly results: Table<ResultRecord, Key>;
  private readonly bySlot: Table<number, [string, string]>;
  readonly checkpoints: Table<CheckpointRecord, Key>;
  readonly crons: Table<CronRecord, CronKey>;
  private readonly attestations: Table<Uint8Array, Key>;

  constructor(protected readonly store: Store) {
    this.results = store.db<ResultRecord, Key>('cu.results');
    this.crons = store.db<CronRecord, CronKey>('cu.crons');
    this.bySlot = store.db<number, [string, string]>('cu.message-slot');
    this.checkpoints = store.db<CheckpointRecord, Key>('cu.checkpoints');
    this.attestations = store.db<Uint8Array, Key>('cu.attestations', { encoding: 'binary' });
  }

  /**
   * Brings what other nodes computed for `processId` (results, checkpoints) into this store,
   * before its engine loads. Nothing to bring on one node; a cluster's shared store does
   * (units/cluster/cu-shared.ts).
   */
  async hydrate(_processId: string): Promise<void> {}

  /**
   * Writes results, in one transaction callback (not awaited per message; see the module
   * comment). They are read back at once (`result`, `slotOf`), before their commit: a caller
   * that must know them durable waits for the promise.
   */
  putResults(processId: string, rs: readonly (ResultRecord | CronResult)[]): Promise<void> {
    const shown = rs.filter((r): r is ResultRecord => !('index' in r));
    let mine = this.unflushed.get(processId);
    if (shown.length && !mine) this.unflushed.set(processId, (mine = new Map()));
    for (const r of shown) mine!.set(r.messageId, r);
    return this.persist(processId, rs).finally(() => {
      for (const r of shown) if (mine!.get(r.messageId) === r) mine!.delete(r.messageId);
      if (mine?.size === 0 && this.unflushed.get(processId) === mine) this.unflushed.delete(processId);
    });
  }

  /** Results shown before their commit: process → message id → result. */
  private readonly unflushed = new Map<string, Map<string, ResultRecord>>();

  /** Commits results to this node's LMDB. */
  protected persist(processId: string, rs: readonly (ResultRecord | CronResult)[]): Promise<void> {
    return this.store.transact(() => {
      for (const r of rs) {
        if ('index' in r) void this.crons.put([processId, r.record.slot, r.record.at, r.index], r.record);
        else {
          void this.results.put([processId, r.slot], r);
          void this.bySlot.put([processId, r.messageId], r.slot);
        }
      }
    });
  }

  cron(processId: string, slot: number, at: number, index: number): CronRecord | undefined {
    return this.crons.get([processId, slot, at, index]);
  }

  /** The last cron evaluation at or after `slot` ([slot, at]), if any. */
  lastCron(processId: string, slot: number): { slot: number; at: number } | undefined {
    for (const { key } of this.crons.getRange({ start: [processId, Number.MAX_SAFE_INTEGER], end: [processId, slot], reverse: true, limit: 1 })) {
      const k = key as CronKey;
      return { slot: k[1], at: k[2] };
    }
    return undefined;
  }

  /** Cron evaluations with position after `from` and at most `to` ([slot, at] order), at most `limit`. */
  cronRange(processId: string, o: { from?: [number, number]; to?: [number, number]; limit: number; reverse?: boolean }): CronRecord[] {
    return take(this.cronsBetween(processId, o), o.limit);
  }

  /** As cronRange, read one at a time as the caller takes them (nothing is loaded ahead). */
  *cronsBetween(processId: string, o: { from?: [number, number]; to?: [number, number]; reverse?: boolean }): Generator<CronRecord> {
    const lo: CronKey = o.from ? [processId, o.from[0], o.from[1], Number.MAX_SAFE_INTEGER] : [processId, -1, -1, -1];
    const hi: CronKey = o.to ? [processId, o.to[0], o.to[1], Number.MAX_SAFE_INTEGER] : [processId, Number.MAX_SAFE_INTEGER, 0, 0];
    const range = o.reverse ? this.crons.getRange({ start: hi, end: lo, reverse: true }) : this.crons.getRange({ start: lo, end: hi });
    for (const { value } of range) yield value;
  }

  putResult(processId: string, r: ResultRecord): Promise<void> {
    return this.putResults(processId, [r]);
  }

  result(processId: string, slot: number): ResultRecord | undefined {
    const stored = this.results.get([processId, slot]);
    if (stored) return stored;
    const mine = this.unflushed.get(processId);
    if (mine) for (const r of mine.values()) if (r.slot === slot) return r;
    return undefined;
  }

  slotOf(processId: string, messageId: string): number | undefined {
    return this.unflushed.get(processId)?.get(messageId)?.slot ?? this.bySlot.get([processId, messageId]);
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
    return take(this.resultsBetween(processId, o), o.limit);
  }

  /** As resultRange, read one at a time as the caller takes them (nothing is loaded ahead). */
  *resultsBetween(processId: string, o: { from: number; to: number; reverse?: boolean }): Generator<ResultRecord> {
    const range = o.reverse
      ? this.results.getRange({ start: [processId, o.to], end: [processId, o.from], reverse: true })
      : this.results.getRange({ start: [processId, o.from + 1], end: [processId, o.to + 1] });
    for (const { value } of range) yield value;
  }

  attestation(processId: string, slot: number): Uint8Array | undefined {
    return this.attestations.get([processId, slot]);
  }

  putAttestation(processId: string, slot: number, raw: Uint8Array): Promise<boolean> {
    return this.attestations.put([processId, slot], raw);
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

function take<T>(items: Iterable<T>, limit: number): T[] {
  const out: T[] = [];
  if (limit <= 0) return out;
  for (const item of items) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}
