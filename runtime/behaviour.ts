import type { ActorContext } from './context.js';
import type { Pid } from './pid.js';
import type { ExitReason } from './reason.js';

/**
 * One call of a behaviour's protocol: a request and the reply it gets. A behaviour's protocol is
 * the union of its calls (its map from request to reply type).
 */
export interface Call<Req = unknown, Reply = unknown> {
  req: Req;
  reply: Reply;
}

/** What `init` returns: a state, a refusal to start, or `ignore` (start nothing, not an error). */
export type InitResult<S> = { ok: S } | { stop: ExitReason } | { ignore: true };

/** What `handleCall` returns. `noreply` means the reply is sent later with `ctx.reply(from, …)`. */
export type CallResult<S, R = unknown> =
  | { reply: R; state: S }
  | { noreply: true; state: S }
  | { stop: ExitReason; reply?: R; state: S };

/** What `handleCast` and `handleInfo` return. */
export type NoReplyResult<S> = { state: S } | { stop: ExitReason; state: S };

type MaybeAsync<T> = T | Promise<T>;

declare const REPLY: unique symbol;

/**
 * Who is waiting for a call's reply, and (as a type) what reply it waits for. Opaque to the
 * callee; pass it to `ctx.reply`.
 */
export interface From<R = unknown> {
  readonly pid: Pid;
  readonly ref: string;
  readonly [REPLY]?: R;
}

/**
 * gen_server callbacks, typed by what the actor takes: `A` its start argument, `S` its state,
 * `P` its calls (a union of `Call<Request, Reply>`: what `call(pid, request)` answers), `C` its
 * casts. Info messages are `unknown`: anything can be sent to a pid (EXIT, DOWN, timers).
 * One message at a time per actor; a throw or a rejected promise is a crash whose exit reason
 * is the thrown value.
 */
export interface Behaviour<A = unknown, S = unknown, P extends Call = Call, C = unknown> {
  init(args: A, ctx: ActorContext): MaybeAsync<InitResult<S>>;
  handleCall?(request: P['req'], from: From<P['reply']>, state: S, ctx: ActorContext): MaybeAsync<CallResult<S, P['reply']>>;
  handleCast?(message: C, state: S, ctx: ActorContext): MaybeAsync<NoReplyResult<S>>;
  handleInfo?(message: unknown, state: S, ctx: ActorContext): MaybeAsync<NoReplyResult<S>>;
  /** Runs when the actor stops by its own decision, or on an exit signal it traps. */
  terminate?(reason: ExitReason, state: S, ctx: ActorContext): MaybeAsync<void>;
}

/** The calls of a behaviour (`ProtocolOf<typeof supervisorBehaviour>`). */
export type ProtocolOf<B> = B extends Behaviour<infer _A, infer _S, infer P, infer _C> ? P : never;

/** The reply `request` gets from an actor whose calls are `P`. */
export type ReplyTo<P extends Call, Q> = P extends Call<infer R, infer A> ? ([Q] extends [R] ? A : never) : never;

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

/**
 * Result of starting an actor (gen_server:start_link's `{ok, Pid} | ignore | {error, Reason}`);
 * the pid carries the behaviour's calls.
 */
export type StartResult<P extends Call = Call> = { ok: Pid<P> } | { ignore: true } | { error: ExitReason };

/**
 * How to start an actor: a behaviour (or the name it is registered under on the target node,
 * whose calls are then unknown here).
 */
export interface StartSpec<A = unknown, P extends Call = Call> {
  behaviour: Behaviour<A, unknown, P> | string;
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
