/** The messages between a process actor and its evaluator thread (worker/evaluator.ts). */
import type { AoEnv, AoMessage, EvalOutput } from '../message.js';

export type Codec = 'brotli' | 'gzip' | 'none';

/**
 * A process's memory at one point: its size and its non-zero 64 KiB pages, compressed.
 * `checksum` (sha256 over pages ‖ data) detects a damaged image before it is used;
 * `memoryHash` identifies the memory itself (see `memoryHash` in instance.ts), equal for equal
 * memories whatever the codec.
 */
export interface MemoryImage {
  v: 1;
  codec: Codec;
  /** Bytes of memory. */
  size: number;
  /** Indices of the stored pages, u32 little-endian. */
  pages: Uint8Array;
  /** The stored pages, concatenated, compressed with `codec`. */
  data: Uint8Array;
  checksum: string;
  memoryHash: string;
  nonZeroPages: number;
}

export interface SnapshotValue extends MemoryImage {
  /** Time to find the non-zero pages, ms. */
  scanMs: number;
  /** Total time to make the image, ms. */
  ms: number;
}

export type EvalValue =
  | {
      result: EvalOutput;
      /** The reference CU keeps the memory from before this message (an Error, or aos out of memory). */
      discard: boolean;
      /** Bytes of memory after the message. */
      size: number;
      ms: number;
    }
  | { trap: string; ms: number };

export type DryRunValue = EvalValue & { rebuilt?: boolean; undoMs?: number };

export interface WorkerOps {
  /**
   * A fresh instance (dropping the previous one). `noInitialRun` skips the module's main, for an
   * instance whose memory a restore replaces; `scanFresh` answers the pages the fresh instance
   * wrote, which `fresh` then passes back for later instances of the same binary.
   */
  instantiate: {
    args: { module: WebAssembly.Module; format: string; computeLimit: number; env?: AoEnv; noInitialRun?: boolean; scanFresh?: boolean; fresh?: number[] };
    value: { pages: number; fresh?: number[] };
  };
  /** Writes an image into a fresh instance (instantiated with noInitialRun). */
  restore: { args: { image: MemoryImage; fresh?: number[] }; value: { ms: number } };
  /** One message (with the env given at instantiate, unless one is given). */
  eval: { args: { msg: AoMessage; env?: AoEnv }; value: EvalValue };
  /**
   * Messages one after another; answers are streamed in order, a few per item. Stops after one whose
   * memory is discarded or that trapped; refused (count 0) until the next instantiate after that.
   */
  evalBatch: { args: { msgs: AoMessage[] }; value: { count: number; halted: boolean }; item: EvalValue[] };
  dryRun: { args: { msg: AoMessage; env?: AoEnv }; value: DryRunValue };
  snapshot: { args: { codec: Codec; level: number }; value: SnapshotValue };
  hash: { args: Record<string, never>; value: { size: number; memoryHash: string; nonZeroPages: number } };
  memory: { args: Record<string, never>; value: Uint8Array };
  /** Drops the instance (and every buffer that held its memory): the thread goes to another process. */
  reset: { args: Record<string, never>; value: null };
}

export type WorkerOp = keyof WorkerOps;

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; code: string } }
  | { id: number; item: unknown };
