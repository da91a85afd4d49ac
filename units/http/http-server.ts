import Fastify, { LogController, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Behaviour } from '../../runtime/index.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export interface HttpServerArgs {
  host: string;
  port: number;
  /** Each unit's routes, as a fastify plugin registered under its prefix. */
  plugins: { prefix: string; plugin: FastifyPluginAsync }[];
  /** Why a request is refused with 503 now (a stopping node's new work), or undefined to serve it. */
  refuse?: (method: string, url: string) => string | undefined;
  /** Called with the bound address once listening (tests use port 0). */
  onListening?: (url: string) => void;
}

/** Request lines at debug (at info a busy node's log would be mostly requests); errors stay errors. */
class RequestsAtDebug extends LogController {
  override incomingRequest(req: FastifyRequest): void {
    req.log.debug({ method: req.method, url: req.url }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.debug(line, 'request completed');
  }
}

interface State {
  close(): Promise<void>;
}

/**
 * The node's HTTP listener as a supervised actor: it owns the socket, and a restart rebinds it.
 * It traps exits so that a supervisor's `shutdown` closes the socket in `terminate`.
 */
export const httpServer: Behaviour<HttpServerArgs, State> = {
  async init(args, ctx) {
    ctx.trapExit(true);
    // requestTimeout: a request (headers and body) must arrive within it. fastify's default (0)
    // lets a client that sends its body a byte at a time hold the connection and the buffered
    // body forever. 120 s passes a 10 MiB body at ~1 Mbit/s; answers may take longer (they are
    // not covered).
    const app = Fastify({ loggerInstance: ctx.log, bodyLimit: ITEM_LIMITS.maxItemBytes, requestTimeout: 120_000, logController: new RequestsAtDebug() });
    const refuse = args.refuse;
    if (refuse) {
      app.addHook('onRequest', async (req, reply) => {
        const why = refuse(req.method, req.url);
        if (why) return reply.code(503).header('retry-after', '1').header('connection', 'close').send({ error: why });
      });
    }
    for (const { prefix, plugin } of args.plugins) await app.register(plugin, { prefix });
    try {
      const url = await app.listen({ host: args.host, port: args.port });
      args.onListening?.(url);
    } catch (e) {
      await app.close();
      return { stop: e };
    }
    return { ok: { close: () => app.close() } };
  },
  async terminate(_reason, state) {
    await state.close();
  },
};
