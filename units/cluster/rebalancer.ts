/**
 * `cluster/rebalancer`: when the members change, rendezvous placement may give a process to
 * another node (a node joined). The sequencer still running here holds the process's lease,
 * so the new owner could never take it: every `everyMs` this actor stops (terminateChild, so
 * the sequencer's terminate releases the lease) the local sequencers this node no longer owns.
 */
import { terminateChild, type Behaviour, type Pid } from '../../runtime/index.js';
import type { Placement } from '../su/index.js';

export interface RebalancerArgs {
  placement: Placement;
  /** This node's running sequencers: process id and pid. */
  sequencers: () => { processId: string; pid: Pid }[];
  /** Their supervisor's name. */
  supervisor: string;
  everyMs: number;
}

export const rebalancer: Behaviour<RebalancerArgs, RebalancerArgs> = {
  init(args, ctx) {
    ctx.sendAfter(args.everyMs, 'check');
    return { ok: args };
  },
  async handleInfo(msg, s, ctx) {
    if (msg !== 'check') return { state: s };
    for (const { processId, pid } of s.sequencers()) {
      const owner = s.placement.owner(processId);
      if (owner === s.placement.self) continue;
      ctx.log.info({ processId, owner }, 'handing a process log over to its owner');
      await terminateChild(ctx, s.supervisor, pid);
    }
    ctx.sendAfter(s.everyMs, 'check');
    return { state: s };
  },
};
