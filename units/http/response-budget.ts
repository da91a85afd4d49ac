/**
 * A bound on the response bytes the node holds for its clients. A response stays in memory
 * until the client has read it, and a client can read as slowly as it likes: a few hundred
 * connections asking for a 10 MB message and reading nothing would hold gigabytes. So the
 * node counts the bytes of the responses it is sending (those of 64 KiB and more), and answers
 * 503 (Retry-After: 1) to a large response that would take the count past `maxBytes`, until
 * earlier ones have been read. One response is always sent, however large.
 *
 * Registered once for the whole server (its hooks see every route), before the units' routes.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Responses smaller than this are not counted (they cannot add up to much before the socket limit). */
export const COUNTED_FROM = 64 * 1024;

/** The bytes of a payload as onSend sees it; a stream counts when its route set Content-Length. */
function sizeOf(payload: unknown, reply: FastifyReply): number | undefined {
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  if (Buffer.isBuffer(payload)) return payload.length;
  const declared = Number(reply.getHeader('content-length'));
  return Number.isFinite(declared) && declared > 0 ? declared : undefined;
}

export interface ResponseBudget {
  plugin: FastifyPluginAsync;
  /** Bytes of large responses being sent now. */
  inFlight(): number;
}

export function responseBudget(maxBytes: number): ResponseBudget {
  let inFlight = 0;
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onSend', async (_req, reply, payload) => {
      const size = sizeOf(payload, reply);
      if (size === undefined || size < COUNTED_FROM) return payload;
      if (inFlight > 0 && inFlight + size > maxBytes) {
        (payload as { destroy?: () => void } | null)?.destroy?.();
        reply.code(503).header('retry-after', '1').header('content-type', 'application/json; charset=utf-8').removeHeader('content-length');
        return JSON.stringify({ error: `the node is sending ${inFlight} bytes to other clients (at most ${maxBytes}); try again in a moment` });
      }
      inFlight += size;
      reply.raw.once('close', () => (inFlight -= size));
      return payload;
    });
  };
  // Not encapsulated: the hook applies to the routes of every plugin (what fastify-plugin does).
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return { plugin, inFlight: () => inFlight };
}
