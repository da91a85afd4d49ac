import type { Logger } from 'pino';
import type { From, SpawnOptions, StartResult, StartSpec } from './behaviour.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Pid, Target } from './pid.js';
import type { NodeStats } from './stats.js';
import type { ExitReason } from './reason.js';

export interface CallOptions {
  /** Milliseconds; default 5000. `Infinity` waits until the callee replies or dies. */
  timeout?: number;
}

/** Messaging available to any caller: an actor's context, or a node for code outside actors. */
export interface Caller {
  call<R = any>(target: Target, request: unknown, options?: CallOptions): Promise<R>;
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
  reply(from: From, value: unknown): void;

  /** Start an actor linked to this one and wait for its `init` (gen_server:start_link). */
  spawnLink(spec: StartSpec, options?: SpawnOptions): Promise<StartResult>;
  /** Start an unlinked actor and wait for its `init`. */
  spawn(spec: StartSpec, options?: SpawnOptions): Promise<StartResult>;

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
