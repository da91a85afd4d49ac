import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Node } from '../../runtime/index.js';

/**
 * Node-level routes: `GET /` (what this node is), `GET /health`, `GET /metrics`. `info` builds
 * the units' URLs from the node's configured public URL: never from the request's Host header,
 * which any client sets (a page naming `evil.example` as this node's MU would send its readers
 * there).
 */
export function nodeRoutes(node: Node, info: () => Record<string, unknown>): FastifyPluginAsync {
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
    app.get('/', async () => ({ ...info(), node: node.name, members: node.members() }));
    app.get('/health', async () => ({ ok: true, node: node.name }));
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  };
}
