import type { ChildSpec } from '../runtime/index.js';
import { supervisorSpec } from '../runtime/index.js';
import { origin, ORIGIN, type OriginArgs } from '../units/sec/origin.js';

export interface SecTreeOptions {
  /** Origin restarts allowed within `period` seconds before the subtree gives up. */
  intensity: number;
  period: number;
  shutdownMs: number;
}

/**
 * The AO-Sec subtree: one permanent origin actor, `sec/origin`. Its state is in LMDB (every
 * transition is written before it is answered), so a restart after a crash or a kill loses
 * nothing: `init` restores each process's machine and re-arms its deadline.
 */
export function secTree(args: OriginArgs, o: SecTreeOptions): ChildSpec {
  return {
    id: 'sec',
    type: 'supervisor',
    start: supervisorSpec({
      strategy: 'one_for_one',
      intensity: o.intensity,
      period: o.period,
      children: [{ id: 'origin', start: { behaviour: origin, args, options: { name: ORIGIN } }, restart: 'permanent', shutdown: o.shutdownMs }],
    }),
  };
}
