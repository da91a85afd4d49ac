import type { Logger } from 'pino';
import type { Call, From, ReplyTo, SpawnOptions, StartResult, StartSpec } from './behaviour.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Pid, Target } from './pid.js';
import type { NodeStats } from './stats.js';
import type { ExitReason } from './reason.js';

export interface CallOptions {
  /** Milliseconds; default 5000. `Infinity` waits until the callee replies or dies. */
  timeout?: number;
}

declare const INFERRED: unique symbol;
/** The default of `call`'s first type parameter: the reply type comes from the target's calls. */
export type Inferred = typeof INFERRED;

/** What `call` resolves with: the reply the target's calls give `Q`, or `R` when given explicitly. */
export type CallReply<R, P extends Call, Q> = [NoInfer<R>] extends [Inferred] ? ReplyTo<P, Q> : NoInfer<R>;

/**
 * gen_server:call. To a typed target (a pid or name whose calls are known) the request must be
 * one of its calls, and the reply has that call's type. An untyped target takes any request and
 * answers `unknown`, or `R` when given (`call<R>(…)`, for targets whose calls are not typed).
 */
export type CallFn = <R = Inferred, P extends Call = Call, const Q extends P['req'] = P['req']>(
  target: Target<P>,
  request: Q,
  options?: CallOptions,
) => Promise<CallReply<R, P, Q>>;

/** Messaging available to any caller: an actor's context, or a node for code outside actors. */
export interface Caller {
  call: CallFn;
  cast(target: Target, message: unknown): void;
  send(target: Target, message: unknown): void;
}

/** What an actor's callbacks can do, as `self()`, `link/1`, `monitor/2`, … do in Erlang. */
export interface ActorContext extends Caller {
  readonly self: Pid;
  /** Registered local name, if any. */
  readonly name: string | undefined;
  readonly log: Logger;
  readonly clock: Clock;
  /** Fires when this actor dies; an abandoned async handler should stop its work. */
  readonly signal: AbortSignal;
  /** The node this actor runs on. */
  readonly nodeName: string;
  /** The node's counters for operators (a supervisor counts its restarts there). */
  readonly stats: NodeStats;

  /** Turn exit signals into `{ tag: 'EXIT' }` info messages. Returns the previous value. */
  trapExit(on: boolean): boolean;
  link(pid: Pid): void;
  unlink(pid: Pid): void;
  /** Returns a monitor reference; a `{ tag: 'DOWN' }` info message arrives once. */
  monitor(target: Target): string;
  /** Removes a monitor; with `flush`, drops a DOWN for it that already arrived. */
  demonitor(ref: string, options?: { flush?: boolean }): void;
  /** Whether a pid on this node is alive; undefined for a pid on another node. */
  isAlive(pid: Pid): boolean | undefined;
  /** Send an exit signal. `kill` cannot be trapped. */
  exit(pid: Pid, reason: ExitReason): void;
  reply<R>(from: From<R>, value: R): void;

  /** Start an actor linked to this one and wait for its `init` (gen_server:start_link). */
  spawnLink<A, P extends Call>(spec: StartSpec<A, P>, options?: SpawnOptions): Promise<StartResult<P>>;
  /** Start an unlinked actor and wait for its `init`. */
  spawn<A, P extends Call>(spec: StartSpec<A, P>, options?: SpawnOptions): Promise<StartResult<P>>;

  /** Deliver `message` to this actor's handleInfo after `ms` (erlang:send_after). */
  sendAfter(ms: number, message: unknown): TimerHandle;
  cancelTimer(handle: TimerHandle): void;

  /**
   * Selective receive, for behaviours written as engines (the supervisor): waits for the first
   * message — queued or yet to come — that `match` accepts, leaving the others in order.
   * Resolves `undefined` after `timeout` ms.
   */
  receive<T = unknown>(match: (message: unknown) => boolean, timeout?: number): Promise<T | undefined>;
}
