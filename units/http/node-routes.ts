import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Node } from '../../runtime/index.js';

/**
 * Node-level routes: `GET /` (what this node is), `GET /health`, `GET /metrics`. `info` gets the
 * base URL the client reached this node by (scheme and Host header), to build the units' URLs.
 */
export function nodeRoutes(node: Node, info: (base: string) => Record<string, unknown>): FastifyPluginAsync {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'aotp_actors',
    help: 'Actors alive on this node',
    registers: [registry],
    collect() {
      this.set(node.actors().length);
    },
  });
  return async (app) => {
    app.get('/', async (req) => ({ ...info(`${req.protocol}://${req.host}`), node: node.name, members: node.members() }));
    app.get('/health', async () => ({ ok: true, node: node.name }));
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  };
}
