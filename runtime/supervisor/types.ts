import type { StartResult, StartSpec } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import type { Pid } from '../pid.js';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type Restart = 'permanent' | 'transient' | 'temporary';
export type Shutdown = 'brutal_kill' | 'infinity' | number;
export type ChildType = 'worker' | 'supervisor';
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant';

/**
 * How to start and look after one child (OTP's child_spec map). `start` is either a start spec
 * (behaviour + args; the child is linked to the supervisor), or a function that starts and
 * links the child itself through the supervisor's context, as an OTP start MFA does.
 * For simple_one_for_one, `startChild(sup, extra)` passes `extra` as the args; with a function
 * start, as its second argument.
 */
export interface ChildSpec {
  id: string;
  start: StartSpec | ((ctx: ActorContext, extra?: unknown) => Promise<StartResult>);
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

/** A supervisor's start argument: the spec itself, or OTP's `init/1` returning it. */
export type SupervisorInit = SupervisorSpec | (() => SupervisorSpec | Promise<SupervisorSpec>);

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

export type StartChildResult =
  | { ok: Pid }
  | { ok: undefined }
  | { error: 'already_present' }
  | { error: { already_started: Pid } }
  | { error: unknown };

export type ChildOpResult = { ok: true } | { error: 'not_found' | 'running' | 'restarting' | 'simple_one_for_one' };
export type RestartChildResult = { ok: Pid } | { ok: undefined } | { error: 'not_found' | 'running' | 'restarting' | unknown };
