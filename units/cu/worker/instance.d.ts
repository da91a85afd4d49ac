/** Types of instance.js (plain JavaScript so that evaluator threads can load it). */
import type { WorkerOp } from './protocol.js';

/** The operations protocol.ts names, each taking its args (and, for a streaming op, `emit`). */
export type InstanceOps = Record<WorkerOp, (args: any, emit?: (item: unknown) => void) => unknown>;

/** Switches between the caller's globals and the instance's (see createInstanceOps). */
export interface InstanceRealm {
  glue(): void;
  enter(): void;
  leave(): void;
}

export function createInstanceOps(o?: { now?: () => number; realm?: InstanceRealm }): InstanceOps;
