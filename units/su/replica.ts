/**
 * How a clustered SU keeps one writer per process log. The SU knows only this interface; the
 * cluster (units/cluster) implements it with a lease in a JetStream KV bucket and a replicated
 * JetStream stream that rejects an append not following the last one it holds.
 *
 * A sequencer claims its process's log when it starts, writes what the replicated log holds
 * beyond its own LMDB (an earlier owner's slots) before it assigns anything, and replicates
 * each run before committing it locally: a run the replicated log refused is never answered.
 */
import type { SlotRecord } from './store.js';

export interface SuReplica {
  /**
   * Makes this node the single writer of `processId`'s log. `localNext` is the next slot of
   * the local log. Rejects with NotOwner when another node holds the log.
   */
  claim(processId: string, localNext: number): Promise<ReplicaWriter>;
}

export interface ReplicaWriter {
  /** Slots from `localNext` on that the replicated log holds, in order (a catch-up). */
  readonly missing: SlotRecord[];
  /** Appends a run after the last one; rejects (the writer is stale) when anyone else appended. */
  append(run: SlotRecord[]): Promise<void>;
  /** Gives the log up (on a normal stop), so another node may take it at once. */
  release(): Promise<void>;
  /**
   * Calls `cb` once if the claim is lost (another node took it, or it could not be renewed):
   * the writer must stop, as its view of the log may no longer be the log.
   */
  onLost(cb: (e: Error) => void): void;
}

/** This node's log has slots the replicated log lacks: it cannot be the writer. */
export class LogDiverged extends Error {
  override readonly name = 'LogDiverged';
}

/** Another node writes this log. */
export class NotOwner extends Error {
  override readonly name = 'NotOwner';
  constructor(
    readonly processId: string,
    readonly holder: string,
  ) {
    super(`the log of ${processId} is written by ${holder}`);
  }
}
