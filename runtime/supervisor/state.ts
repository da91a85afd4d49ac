/** A supervisor's state (OTP's #state and #child records) and the small operations on it. */
import type { RestartIntensity } from './restart-intensity.js';
import { Pid } from '../pid.js';
import type { Spec } from './child-spec.js';
import type { ChildInfo, Flags } from './types.js';

/** A child being restarted after a failed start; `restarting` is the pid it had before. */
export interface Restarting {
  restarting: Pid | undefined;
}

export interface Child {
  spec: Spec;
  pid: Pid | Restarting | undefined;
  /** simple_one_for_one: the args this child was started with. */
  args?: unknown;
  /** simple_one_for_one: this child's key in `dynamic`. */
  key?: string;
}

export interface State extends Flags {
  /** Static children, newest first (OTP's Ids order): started last to first, stopped first to last. */
  children: Child[];
  /** Static: the ids the policy declares (init's, or the last policy change's); others came by startChild. */
  policyIds: Set<string>;
  /** simple_one_for_one: the template and the running (or restarting) children by key. */
  template?: Spec;
  dynamic: Map<string, Child>;
  restarts: RestartIntensity;
  /** simple_one_for_one: recent dynamic children that are gone (for pids on other nodes, whose liveness is unknown here). */
  gone: Set<string>;
}

const GONE_MEMORY = 1024;

export function rememberGone(state: State, pid: Pid): void {
  state.gone.add(pid.key);
  if (state.gone.size > GONE_MEMORY) state.gone.delete(state.gone.values().next().value!);
}

export const isPid = (x: unknown): x is Pid => x instanceof Pid;
export const isRestarting = (x: unknown): x is Restarting => typeof x === 'object' && x !== null && 'restarting' in x;
export const isSimple = (s: State) => s.strategy === 'simple_one_for_one';

let restartingKeys = 0;

/** simple_one_for_one: where a restarting child is kept, found again by its old pid (OTP's restarting(Pid)). */
export const restartingKey = (old: Pid | undefined) => (old ? `restarting:${old.key}` : `restarting#${++restartingKeys}`);

export function findById(state: State, id: string): Child | undefined {
  return state.children.find((c) => c.spec.id === id);
}

/** simple_one_for_one: a dynamic child by its pid, running or being restarted. */
export function findDynamic(state: State, pid: Pid): Child | undefined {
  return state.dynamic.get(pid.key) ?? state.dynamic.get(restartingKey(pid));
}

export function setPid(state: State, id: string, pid: Child['pid']): void {
  state.children = state.children.map((c) => (c.spec.id === id ? { ...c, pid } : c));
}

/** OTP's del_child: a dynamic child is forgotten; a static one keeps its spec unless temporary. */
export function delChild(state: State, child: Child): void {
  if (isSimple(state)) {
    state.dynamic.delete(child.key!);
    if (isPid(child.pid)) rememberGone(state, child.pid);
    return;
  }
  if (child.spec.restart === 'temporary') state.children = state.children.filter((c) => c.spec.id !== child.spec.id);
  else setPid(state, child.spec.id, undefined);
}

export function info(c: Child): ChildInfo {
  return { id: c.key === undefined ? c.spec.id : undefined, child: isRestarting(c.pid) ? 'restarting' : c.pid, type: c.spec.type };
}
