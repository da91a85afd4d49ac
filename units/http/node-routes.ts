import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Node } from '../../runtime/index.js';

/** Node-level routes: `GET /` (what this node is), `GET /health`, `GET /metrics`. */
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
    app.get('/', async () => ({ node: node.name, members: node.members(), ...info() }));
    app.get('/health', async () => ({ ok: true, node: node.name }));
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  };
}
