import Fastify, { type FastifyPluginAsync, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import type { Behaviour } from '../../runtime/index.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export interface HttpServerArgs {
  host: string;
  port: number;
  /** Each unit's routes, as a fastify plugin registered under its prefix. */
  plugins: { prefix: string; plugin: FastifyPluginAsync }[];
  /** Called with the bound address once listening (tests use port 0). */
  onListening?: (url: string) => void;
  /**
   * Build the routes without binding a socket, and hand the app to `onApp` (a simulation sends
   * its requests with fastify's inject: the same routes, no network).
   */
  listen?: false;
  onApp?: (app: HttpApp) => void;
}

/** Requests to the routes without a socket (fastify's inject). */
export interface HttpApp {
  inject(o: InjectOptions): Promise<LightMyRequestResponse>;
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
    const app = Fastify({ loggerInstance: ctx.log, bodyLimit: ITEM_LIMITS.maxItemBytes, requestTimeout: 120_000 });
    for (const { prefix, plugin } of args.plugins) await app.register(plugin, { prefix });
    if (args.listen === false) {
      await app.ready();
      args.onApp?.({ inject: (o) => app.inject(o) });
      return { ok: { close: () => app.close() } };
    }
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
