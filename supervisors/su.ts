import type { ChildSpec } from '../runtime/index.js';
import { namedChildren } from './named-children.js';
import type { SuSequencers } from '../units/su/index.js';

export const SEQUENCERS = 'su.sequencers';

export interface SuTreeOptions {
  /** Restarts of sequencers allowed within `period` seconds before the SU subtree gives up. */
  intensity: number;
  period: number;
  /** ms a sequencer gets to finish its in-flight commits on shutdown. */
  shutdownMs: number;
}

/**
 * The Scheduler Unit's subtree: a simple_one_for_one supervisor of slot sequencers, one per
 * hosted process, each registered as `su/<processId>` and started on demand (SuClient).
 *
 * - restart `transient`: a crashed sequencer is restarted (and reloads its durable log); one
 *   that stopped because it was idle (`normal`) is not.
 * - The name is the child's identity. When the name is already taken — two on-demand starts
 *   for one process, or a restart racing an on-demand start after a crash — the start answers
 *   with the running sequencer (`already_started` → that pid) instead of failing, so the
 *   supervisor keeps one child and never loops on restarts that cannot succeed.
 * - intensity: many processes' sequencers share it, so it is sized for bursts (a disk error
 *   crashes every sequencer that writes); past it the subtree shuts down and the root decides.
 */
export function suTree(sequencers: SuSequencers, o: SuTreeOptions): ChildSpec {
  return namedChildren({
    id: 'su',
    name: SEQUENCERS,
    childId: 'sequencer',
    start: (ctx, { processId }: { processId: string }) => sequencers.start(ctx, processId),
    ...o,
  });
}
