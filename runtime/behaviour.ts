import type { ActorContext } from './context.js';
import type { Pid } from './pid.js';
import type { ExitReason } from './reason.js';

/** What `init` returns: a state, a refusal to start, or `ignore` (start nothing, not an error). */
export type InitResult<S> = { ok: S } | { stop: ExitReason } | { ignore: true };

/** What `handleCall` returns. `noreply` means the reply is sent later with `ctx.reply(from, …)`. */
export type CallResult<S> =
  | { reply: unknown; state: S }
  | { noreply: true; state: S }
  | { stop: ExitReason; reply?: unknown; state: S };

/** What `handleCast` and `handleInfo` return. */
export type NoReplyResult<S> = { state: S } | { stop: ExitReason; state: S };

type MaybeAsync<T> = T | Promise<T>;

/** Who is waiting for a call's reply. Opaque to the callee; pass it to `ctx.reply`. */
export interface From {
  readonly pid: Pid;
  readonly ref: string;
}

/**
 * gen_server callbacks. One message at a time per actor; a throw or a rejected promise is a
 * crash whose exit reason is the thrown value.
 */
export interface Behaviour<A = any, S = any> {
  init(args: A, ctx: ActorContext): MaybeAsync<InitResult<S>>;
  handleCall?(request: any, from: From, state: S, ctx: ActorContext): MaybeAsync<CallResult<S>>;
  handleCast?(message: any, state: S, ctx: ActorContext): MaybeAsync<NoReplyResult<S>>;
  handleInfo?(message: any, state: S, ctx: ActorContext): MaybeAsync<NoReplyResult<S>>;
  /** Runs when the actor stops by its own decision, or on an exit signal it traps. */
  terminate?(reason: ExitReason, state: S, ctx: ActorContext): MaybeAsync<void>;
}

/** The info message a trapping actor gets for an exit signal. */
export interface ExitMessage {
  readonly tag: 'EXIT';
  readonly from: Pid;
  readonly reason: ExitReason;
}

/** The info message a monitor delivers, once. */
export interface DownMessage {
  readonly tag: 'DOWN';
  readonly ref: string;
  readonly pid: Pid;
  readonly reason: ExitReason;
}

export function isExitMessage(m: unknown): m is ExitMessage {
  return typeof m === 'object' && m !== null && (m as ExitMessage).tag === 'EXIT';
}

export function isDownMessage(m: unknown): m is DownMessage {
  return typeof m === 'object' && m !== null && (m as DownMessage).tag === 'DOWN';
}

/** Result of starting an actor (gen_server:start_link's `{ok, Pid} | ignore | {error, Reason}`). */
export type StartResult = { ok: Pid } | { ignore: true } | { error: ExitReason };

/** How to start an actor: a behaviour (or the name it is registered under on the target node). */
export interface StartSpec<A = any> {
  behaviour: Behaviour<A> | string;
  args?: A;
  options?: SpawnOptions;
}

export interface SpawnOptions {
  /** Register under this local name; the start fails with `{already_started: pid}` if taken. */
  name?: string;
  /** Node to start on (the behaviour must then be given by registered name). Defaults to local. */
  node?: string;
  /** Milliseconds `init` may take before the start fails with `timeout`. Default: infinity. */
  timeout?: number;
}
