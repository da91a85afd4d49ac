import Fastify, { type FastifyPluginAsync } from 'fastify';
import type { Behaviour } from '../../runtime/index.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export interface HttpServerArgs {
  host: string;
  port: number;
  /** Each unit's routes, as a fastify plugin registered under its prefix. */
  plugins: { prefix: string; plugin: FastifyPluginAsync }[];
  /** Called with the bound address once listening (tests use port 0). */
  onListening?: (url: string) => void;
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
    const app = Fastify({ loggerInstance: ctx.log, bodyLimit: ITEM_LIMITS.maxItemBytes });
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
