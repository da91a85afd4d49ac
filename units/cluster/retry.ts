/**
 * Telling JetStream's answers apart, and retrying the transient ones.
 *
 * An R3 stream or KV bucket refuses (or never answers) writes while its Raft group has no
 * leader: measured here on nats-server 2.9.10, ~5–8 s after the leader is killed. A write that
 * timed out may still have been stored, so callers that retry must recognise their own earlier
 * write (both lease.ts and replicated-log.ts do).
 */
import { NatsError } from 'nats';
import type { Clock } from '../../runtime/clock.js';

/** JetStream's error code for a failed expected-last-(subject-)sequence check. */
export const WRONG_LAST_SEQUENCE = 10071;

function apiError(e: unknown): { code: number; err_code?: number; description: string } | undefined {
  return e instanceof NatsError ? e.api_error : undefined;
}

/** The stream refused a write whose expected last (subject) sequence was not the stream's. */
export function isWrongLastSequence(e: unknown): boolean {
  return apiError(e)?.err_code === WRONG_LAST_SEQUENCE;
}

/** A JetStream answer "no such message" (a get of a subject that has none). */
export function isNotFound(e: unknown): boolean {
  const a = apiError(e);
  if (a) return a.code === 404;
  return e instanceof NatsError && e.code === '404';
}

/**
 * An error worth retrying: no answer (timeout, no responders, disconnected) or a JetStream
 * 5xx (no leader, cluster not available). A definite refusal (4xx API error) is not.
 */
export function isTransient(e: unknown): boolean {
  const a = apiError(e);
  if (a) return a.code >= 500;
  if (e instanceof NatsError) {
    return ['TIMEOUT', '503', 'DISCONNECT', 'REQUEST_ERROR', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', '408'].includes(e.code);
  }
  return false;
}

export interface RetryOptions {
  /** Give up (rethrow the last transient error) after this long. */
  budgetMs: number;
  /** First pause between attempts; doubles up to `maxDelayMs`. */
  delayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  /** Called before each retry with the error that caused it. */
  onRetry?: (e: unknown, attempt: number) => void;
  /** The clock the pauses are timed on (default the real one); its `now` is the default `now`. */
  clock?: Clock;
}

/** `{ clock }` when options give one (to spread into RetryOptions). */
export const clocked = (o: { clock?: Clock | undefined }): { clock?: Clock } => (o.clock ? { clock: o.clock } : {});

/** A pause on `clock` (a simulation's), or on the real timers. */
export const sleep = (ms: number, clock?: Clock) => new Promise<void>((r) => (clock ? clock.setTimeout(r, ms) : setTimeout(r, ms)));

/** Runs `fn` until it succeeds, throws a non-transient error, or the budget is spent. */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? (o.clock ? () => o.clock!.now() : Date.now);
  const deadline = now() + o.budgetMs;
  let delay = o.delayMs ?? 100;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isTransient(e) || now() + delay > deadline) throw e;
      o.onRetry?.(e, attempt);
      await sleep(delay, o.clock);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 1000);
    }
  }
}
