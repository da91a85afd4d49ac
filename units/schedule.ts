/**
 * The contract between the Scheduler Unit (which writes each process's log) and its readers
 * (the Compute Unit, the Messenger Unit, the verifier). Readers never touch the SU's store:
 * on one node they call the SU through this interface; in a cluster, over the bus.
 */

/** One slot of a process's log: the SU's signed assignment and the message it assigns. */
export interface ScheduledMessage {
  processId: string;
  /** The Nonce: 0 is the spawn itself; gap-free and strictly increasing. */
  slot: number;
  /** Raw signed assignment data item (ANS-104). */
  assignment: Uint8Array;
  assignmentId: string;
  /** Raw message data item; null for an assignment of a transaction the SU does not hold. */
  message: Uint8Array | null;
  messageId: string;
  /** Unix ms, as in the assignment's Timestamp tag. */
  timestamp: number;
  blockHeight: number;
  hashChain: string;
}

export interface ProcessInfo {
  processId: string;
  /** Raw signed spawn data item (Type=Process). */
  spawn: Uint8Array;
  /** Its slot-0 entry. */
  first: ScheduledMessage;
  /** The highest durable slot. */
  lastSlot: number;
}

export interface ScheduleReader {
  process(processId: string): Promise<ProcessInfo | undefined>;
  /**
   * Slots `from`..`to` (both inclusive; `to` defaults to the latest), at most `limit` entries
   * and, past the first entry, at most `maxBytes` of item bytes (assignment + message): a
   * reader buffers a bounded amount whatever the log's messages weigh. A read shorter than
   * `limit` does not mean the log ends there.
   */
  read(processId: string, from: number, to?: number, limit?: number, maxBytes?: number): Promise<ScheduledMessage[]>;
  /**
   * Calls `listener` with each run of `processId`'s slots as its commit begins, before it is
   * durable, and `committed`, which settles when the commit has (or has not) happened. What a
   * CU may evaluate ahead of the commit: it holds those results until `read` shows the same run.
   * Absent: the reader cannot tell (a log on another node). Answers how to stop listening.
   */
  onTentative?(processId: string, listener: TentativeListener): () => void;
}

/** See ScheduleReader.onTentative. Must not throw. */
export type TentativeListener = (entries: ScheduledMessage[], committed: Promise<void>) => void;
