/**
 * A service: an actor that runs the methods of an object for callers on any node, as
 * `rpc:call` would, but named and supervised. Calls run concurrently (the actor answers each
 * when its promise settles), so one slow call does not hold the others.
 *
 * The proxy on the calling side has the same methods; an error thrown by the method comes back
 * as a ServiceError carrying the original's name, message and `status`, so an HTTP layer can
 * answer it as it would have answered the original.
 */
import type { Behaviour, Call } from './behaviour.js';
import type { Caller } from './context.js';
import type { Target } from './pid.js';
import { formatReason } from './reason.js';

export type ServiceCall = { method: string; args: unknown[] };
type ServiceReply = { ok: unknown } | { error: { name: string; message: string; status?: number } };
/** A service answers any method call with its result or the error it threw. */
export type ServiceProtocol = Call<ServiceCall, ServiceReply>;

/** An error a service method threw, as its caller sees it. */
export class ServiceError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = remoteName;
  }
}

export interface ServiceArgs {
  impl: object;
  /** The methods callers may run. */
  methods: readonly string[];
}

export const service: Behaviour<ServiceArgs, ServiceArgs, ServiceProtocol> = {
  init(args) {
    return { ok: args };
  },
  handleCall(req, from, s, ctx) {
    const fn = (s.impl as Record<string, unknown>)[req?.method];
    if (!s.methods.includes(req?.method) || typeof fn !== 'function') {
      return { reply: { error: { name: 'ServiceError', message: `no method ${String(req?.method)}` } } satisfies ServiceReply, state: s };
    }
    Promise.resolve()
      .then(() => fn.apply(s.impl, req.args ?? []))
      .then(
        (ok) => ctx.reply(from, { ok } satisfies ServiceReply),
        (e: unknown) => {
          const err = e as { name?: string; message?: string; status?: number; statusCode?: number };
          const status = err?.status ?? err?.statusCode;
          ctx.reply(from, {
            error: { name: err?.name ?? 'Error', message: err?.message ?? formatReason(e), ...(typeof status === 'number' ? { status } : {}) },
          } satisfies ServiceReply);
        },
      );
    return { noreply: true, state: s };
  },
};

/** An object whose methods call the service at `target`. */
export function serviceProxy<T>(caller: Caller, target: Target, methods: readonly (keyof T & string)[], timeout: number): Pick<T, (typeof methods)[number]> {
  const proxy: Record<string, unknown> = {};
  for (const method of methods) {
    proxy[method] = async (...args: unknown[]) => {
      const r = await caller.call(target as Target<ServiceProtocol>, { method, args }, { timeout });
      if ('error' in r) throw new ServiceError(r.error.name, r.error.message, r.error.status);
      return r.ok;
    };
  }
  return proxy as Pick<T, (typeof methods)[number]>;
}
