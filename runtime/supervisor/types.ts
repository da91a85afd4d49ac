import type { StartResult, StartSpec } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import type { Pid } from '../pid.js';
import type { ExitReason } from '../reason.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type Restart = 'permanent' | 'transient' | 'temporary';
export type Shutdown = 'brutal_kill' | 'infinity' | number;
export type ChildType = 'worker' | 'supervisor';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/** What a child's start function answers: gen_server's start result, or OTP's `{ok, Pid, Info}`. */
export type ChildStartResult = StartResult | { ok: Pid; info: unknown };

/** A start function: starts and links the child through the supervisor's context (an OTP start MFA). */
export type ChildStartFn = (ctx: ActorContext, extra?: unknown) => Promise<ChildStartResult>;

/**
 * How to start and look after one child (OTP's child_spec map). `start` is either a start spec
 * (behaviour + args; the child is linked to the supervisor), or a function that starts and
 * links the child itself through the supervisor's context, as an OTP start MFA does.
 * For simple_one_for_one, `startChild(sup, extra)` passes `extra` as the args; with a function
 * start, as its second argument.
 */
export interface ChildSpec {
  id: string;
  start: StartSpec | ChildStartFn;
  /** Default `permanent`. */
  restart?: Restart;
  /** Default 5000 ms for a worker, `infinity` for a supervisor. */
  shutdown?: Shutdown;
  /** Default `worker`. */
  type?: ChildType;
  /** Default false. Only for transient or temporary children. */
  significant?: boolean;
}

export interface SupervisorFlags {
  /** Default `one_for_one`. */
  strategy?: Strategy;
  /** Restarts allowed within `period` seconds. Default 1. */
  intensity?: number;
  /** Seconds. Default 5. */
  period?: number;
  /** Default `never`. */
  autoShutdown?: AutoShutdown;
}

/** What a supervision policy is: flags and child specs, as data. */
export interface SupervisorSpec extends SupervisorFlags {
  children: ChildSpec[];
}

/**
 * A supervisor's start argument: the spec itself, or OTP's `init/1` returning it. `ignore`
 * (returned, or given) means: do not start; the parent keeps the child's spec as stopped.
 * The function is called again on a live policy change (as OTP's code_change calls init), so it
 * should have no side effects.
 */
export type SupervisorInit =
  | SupervisorSpec
  | 'ignore'
  | (() => SupervisorSpec | 'ignore' | Promise<SupervisorSpec | 'ignore'>);

/** Supervisor flags with every default filled in. */
export interface Flags {
  strategy: Strategy;
  intensity: number;
  period: number;
  autoShutdown: AutoShutdown;
}

/**
 * What is wrong with a policy, as data a caller can match on (OTP's error terms): the kind of
 * problem, the offending value, and the child it is about when there is one.
 */
export type SpecProblem =
  /** Flags: not an object, or a strategy, intensity, period or autoShutdown outside its range. */
  | { kind: 'invalid_type' | 'invalid_strategy' | 'invalid_intensity' | 'invalid_period' | 'invalid_auto_shutdown'; value: unknown }
  /** A live policy change cannot turn a supervisor into or out of simple_one_for_one. */
  | { kind: 'invalid_strategy_change'; value: { from: Strategy; to: Strategy } }
  /** A child spec that is not an object, or has no id, or no start. */
  | { kind: 'invalid_child_spec'; value: unknown }
  | { kind: 'missing_id' | 'missing_start'; value: unknown }
  /** A field of child `id` outside its range. */
  | {
      kind: 'invalid_id' | 'invalid_start' | 'invalid_restart_type' | 'invalid_child_type' | 'invalid_shutdown' | 'invalid_significant';
      value: unknown;
      id?: string;
    }
  /** Settings that do not go together (a permanent significant child; significant with autoShutdown never). */
  | { kind: 'bad_combination'; value: Record<string, unknown>; id?: string }
  /** Two child specs with one id (OTP's name for it). */
  | { kind: 'duplicate_child_name'; value: string };

export type SpecProblemKind = SpecProblem['kind'];

/**
 * Why a supervisor did not start, or a policy change was refused (OTP's stop reasons):
 * bad flags, a bad child spec, a children list that is not a list (or not exactly one spec for
 * simple_one_for_one), or an init function that answered something else than a spec or `ignore`.
 * A throwing init fails with what it threw; a child that fails to start, with
 * `{ shutdown: { failed_to_start_child: { id, reason } } }`.
 */
export type PolicyError =
  | { supervisor_data: SpecProblem }
  | { start_spec: SpecProblem }
  | { bad_start_spec: unknown }
  | { bad_return: unknown };

/** A start as a reply can carry it: the start spec when it is plain data, else a description. */
export type StartView = StartSpec | { opaque: string };

/** A child spec with every default filled in, as `getChildspec` answers it. */
export interface ChildSpecView {
  id: string;
  start: StartView;
  restart: Restart;
  shutdown: Shutdown;
  type: ChildType;
  significant: boolean;
}

export interface ChildInfo {
  id: string | undefined;
  /** The running pid, `restarting` while a failed restart is being retried, or undefined when stopped. */
  child: Pid | 'restarting' | undefined;
  type: ChildType;
}

export interface ChildCounts {
  specs: number;
  active: number;
  supervisors: number;
  workers: number;
}

/** A started child: its pid, and the info its start function gave with it (`{ok, Pid, Info}`), if any. */
export type Started = { ok: Pid; info?: unknown } | { ok: undefined };

/**
 * startChild's answer. A static supervisor answers a bad spec with its problem, a spec whose id
 * exists with `already_present` / `already_started`, and a start that failed with the reason and
 * the spec (OTP's `{error, {Reason, ChildSpec}}`); simple_one_for_one answers the child's own error.
 */
export type StartChildResult =
  | Started
  | { error: 'already_present' }
  | { error: { already_started: Pid } }
  | { error: SpecProblem }
  | { error: { reason: ExitReason; childSpec: ChildSpecView } }
  | { error: ExitReason };

export type ChildOpResult = { ok: true } | { error: 'not_found' | 'running' | 'restarting' | 'simple_one_for_one' };
export type RestartChildResult = Started | { error: 'not_found' | 'running' | 'restarting' | 'simple_one_for_one' } | { error: ExitReason };
export type GetChildspecResult = { ok: ChildSpecView } | { error: 'not_found' };

/** What a live policy change did: children stopped (newest first) and started (in start order). */
export interface PolicyChange {
  /** False when the new init answered `ignore` (OTP: nothing changes). */
  changed: boolean;
  flags: Flags;
  /** Ids of the children the new policy no longer has: terminated and deleted. */
  terminated: string[];
  /** Ids of the children the new policy added, started. */
  started: string[];
  /** Added children whose start failed: their spec is kept, stopped, as after a failed restartChild. */
  failed: { id: string; reason: ExitReason }[];
}

/** A policy refused (nothing changed): its problem, or what its init function threw. */
export type ChangePolicyResult = { ok: PolicyChange } | { error: PolicyError } | { error: ExitReason };
