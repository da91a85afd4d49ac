import type { StartSpec } from '../behaviour.js';
import type { Caller } from '../context.js';
import type { Pid, Target } from '../pid.js';
import { supervisorBehaviour, type SupervisorRequest } from './supervisor.js';
import type {
  ChildCounts,
  ChildInfo,
  ChildOpResult,
  ChildSpec,
  RestartChildResult,
  StartChildResult,
  SupervisorInit,
} from './types.js';

/** How to start a supervisor: `node.spawn(supervisorSpec(spec))`, `ctx.spawnLink(…)`, or as a child's `start`. */
export function supervisorSpec(init: SupervisorInit): StartSpec<SupervisorInit> {
  return { behaviour: supervisorBehaviour, args: init };
}

const ask = <R>(caller: Caller, sup: Target, req: SupervisorRequest): Promise<R> =>
  caller.call<R>(sup, req, { timeout: Infinity });

/** A child spec for static supervisors; extra args for simple_one_for_one. */
export function startChild(caller: Caller, sup: Target, specOrArgs: ChildSpec | unknown): Promise<StartChildResult> {
  return ask(caller, sup, { op: 'startChild', arg: specOrArgs });
}

/** By id (static) or by pid (simple_one_for_one). Keeps the spec, unless the child is temporary. */
export function terminateChild(caller: Caller, sup: Target, id: string | Pid): Promise<ChildOpResult> {
  return ask(caller, sup, { op: 'terminateChild', id });
}

export function restartChild(caller: Caller, sup: Target, id: string): Promise<RestartChildResult> {
  return ask(caller, sup, { op: 'restartChild', id });
}

export function deleteChild(caller: Caller, sup: Target, id: string): Promise<ChildOpResult> {
  return ask(caller, sup, { op: 'deleteChild', id });
}

/** Newest child first. */
export function whichChildren(caller: Caller, sup: Target): Promise<ChildInfo[]> {
  return ask(caller, sup, { op: 'whichChildren' });
}

export function countChildren(caller: Caller, sup: Target): Promise<ChildCounts> {
  return ask(caller, sup, { op: 'countChildren' });
}
