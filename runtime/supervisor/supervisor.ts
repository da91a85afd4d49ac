/**
 * The supervisor: a gen_server that traps exits, starts its children in order, restarts them by
 * its strategy within its restart intensity, stops them in reverse order, and takes a new policy
 * while it runs (see policy.ts). The parts: child-spec.ts (checks), lifecycle.ts (start and stop),
 * restart.ts (on a child's exit), requests.ts (the calls).
 */
import { RestartIntensity } from './restart-intensity.js';
import { isExitMessage, type Behaviour } from '../behaviour.js';
import { formatReason } from '../reason.js';
import { checkPolicy } from './child-spec.js';
import { startChildren, terminateChildren, terminateDynamic } from './lifecycle.js';
import { resolveInit } from './policy.js';
import { handleRequest, type SupervisorProtocol } from './requests.js';
import { onChildExit, restart } from './restart.js';
import { findById, isPid, isRestarting, isSimple, type Child, type State } from './state.js';
import type { SupervisorInit } from './types.js';

/** The supervisor's own cast: retry a failed restart (OTP's try_again_restart). */
type TryAgain = { op: '$tryAgainRestart'; id: string };

export const supervisorBehaviour: Behaviour<SupervisorInit, State, SupervisorProtocol, TryAgain> = {
  async init(init, ctx) {
    ctx.trapExit(true);
    // A throwing init fails the start with what it threw (gen_server's init crash).
    const spec = await resolveInit(init);
    if (spec === 'ignore') return { ignore: true };
    const policy = checkPolicy(spec);
    if ('error' in policy) return { stop: policy.error };
    const { flags, specs } = policy;
    const state: State = { ...flags, children: [], policyIds: new Set(specs.map((s) => s.id)), dynamic: new Map(), restarts: new RestartIntensity(), gone: new Set() };
    if (flags.strategy === 'simple_one_for_one') {
      state.template = specs[0];
      return { ok: state };
    }
    const children: Child[] = specs.map((s) => ({ spec: s, pid: undefined })).reverse();
    const started = await startChildren(ctx, children);
    if (started.failed) {
      await terminateChildren(ctx, started.children);
      return { stop: { shutdown: { failed_to_start_child: started.failed } } };
    }
    state.children = started.children;
    return { ok: state };
  },

  async handleCall(req, _from, state, ctx) {
    return { reply: await handleRequest(ctx, state, req), state };
  },

  async handleCast(msg, state, ctx) {
    if (msg?.op !== '$tryAgainRestart') return { state };
    const child = isSimple(state) ? state.dynamic.get(msg.id) : findById(state, msg.id);
    // Only a child still marked restarting is retried: terminateChild cancels the retries.
    if (!child || !isRestarting(child.pid)) return { state };
    const outcome = await restart(ctx, state, child);
    return outcome === 'shutdown' ? { stop: 'shutdown', state } : { state };
  },

  async handleInfo(msg, state, ctx) {
    if (!isExitMessage(msg)) {
      ctx.log.warn({ msg: formatReason(msg) }, 'supervisor got an unexpected message');
      return { state };
    }
    const child = isSimple(state) ? state.dynamic.get(msg.from.key) : state.children.find((c) => isPid(c.pid) && c.pid.equals(msg.from));
    if (!child) return { state };
    const outcome = await onChildExit(ctx, state, child, msg.reason);
    return outcome === 'shutdown' ? { stop: 'shutdown', state } : { state };
  },

  async terminate(_reason, state, ctx) {
    if (isSimple(state)) await terminateDynamic(ctx, state);
    else await terminateChildren(ctx, state.children);
  },
};
