import type { StartSpec } from '../behaviour.js';
import type { Caller } from '../context.js';
import type { Pid, Target } from '../pid.js';
import type { SupervisorProtocol } from './requests.js';
import { supervisorBehaviour } from './supervisor.js';
import type { ChildSpec, SupervisorInit } from './types.js';

/** How to start a supervisor: `node.spawn(supervisorSpec(spec))`, `ctx.spawnLink(…)`, or as a child's `start`. */
export function supervisorSpec(init: SupervisorInit): StartSpec<SupervisorInit, SupervisorProtocol> {
  return { behaviour: supervisorBehaviour, args: init };
}

/** A supervisor, by pid or name (as OTP's sup_ref). */
export type SupervisorRef = Target<SupervisorProtocol> | Target;

// Supervisor calls wait as long as the supervisor works (OTP: infinity); a dead one fails at once.
// Each function answers the reply type of its call in SupervisorProtocol.
const sup = (ref: SupervisorRef) => ref as Target<SupervisorProtocol>;
const FOREVER = { timeout: Infinity };

/** A child spec for static supervisors; extra args for simple_one_for_one. */
export function startChild(caller: Caller, ref: SupervisorRef, specOrArgs: ChildSpec | unknown) {
  return caller.call(sup(ref), { op: 'startChild', arg: specOrArgs }, FOREVER);
}

/** By id (static) or by pid (simple_one_for_one). Keeps the spec, unless the child is temporary. */
export function terminateChild(caller: Caller, ref: SupervisorRef, id: string | Pid) {
  return caller.call(sup(ref), { op: 'terminateChild', id }, FOREVER);
}

export function restartChild(caller: Caller, ref: SupervisorRef, id: string) {
  return caller.call(sup(ref), { op: 'restartChild', id }, FOREVER);
}

export function deleteChild(caller: Caller, ref: SupervisorRef, id: string) {
  return caller.call(sup(ref), { op: 'deleteChild', id }, FOREVER);
}

/** The child spec of child `id` (static), or of the child with pid `id` (simple_one_for_one), defaults filled in. */
export function getChildspec(caller: Caller, ref: SupervisorRef, id: string | Pid) {
  return caller.call(sup(ref), { op: 'getChildspec', id }, FOREVER);
}

/** Newest child first. */
export function whichChildren(caller: Caller, ref: SupervisorRef) {
  return caller.call(sup(ref), { op: 'whichChildren' }, FOREVER);
}

export function countChildren(caller: Caller, ref: SupervisorRef) {
  return caller.call(sup(ref), { op: 'countChildren' }, FOREVER);
}

/** The flags the supervisor runs with now (strategy, intensity, period, autoShutdown). */
export function getFlags(caller: Caller, ref: SupervisorRef) {
  return caller.call(sup(ref), { op: 'getFlags' }, FOREVER);
}

/**
 * A live policy change (OTP's supervisor code_change in a release upgrade): the supervisor takes
 * the flags and child specs `init` gives, without restarting running children; children the new
 * policy drops are terminated (newest first) and deleted, those it adds are started (in start
 * order). `init` answering `ignore` changes nothing; an invalid policy changes nothing and is
 * answered with its problem. `init` is sent in a call: on another node it must be plain data.
 */
export function changePolicy(caller: Caller, ref: SupervisorRef, init: SupervisorInit) {
  return caller.call(sup(ref), { op: 'changePolicy', init }, FOREVER);
}
