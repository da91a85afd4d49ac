import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Node } from '../../runtime/index.js';
import type { Health } from './health.js';
import { unitRoutes } from './unit-routes.js';

/** The liveness answer, serialized by its schema (an operator's route, not an AO wire format). */
const liveAnswer = z.object({ live: z.literal(true), node: z.string(), uptimeMs: z.number() });

export interface NodeRoutesArgs {
  node: Node;
  /** What `GET /` answers (the units' URLs from the node's configured public URL). */
  info: () => Record<string, unknown>;
  health: Health;
  metrics: Registry;
  /** When the node started (ms since the epoch), for uptime. */
  startedAt: number;
}

/**
 * Node-level routes: `GET /` (what this node is), `GET /health/live`, `GET /health/ready`,
 * `GET /health` (= ready, kept for the clients that ask it), `GET /metrics` (Prometheus).
 * `info` builds the units' URLs from the node's configured public URL: never from the
 * request's Host header, which any client sets (a page naming `evil.example` as this node's MU
 * would send its readers there).
 */
export function nodeRoutes(a: NodeRoutesArgs) {
  return unitRoutes((app) => {
    app.get('/', async () => ({ ...a.info(), node: a.node.name, members: a.node.members() }));
    // Live: this process answers. Nothing it depends on is asked, so a NATS outage restarts nobody.
    app.get('/health/live', { schema: { response: { 200: liveAnswer } } }, async () => ({ live: true as const, node: a.node.name, uptimeMs: Date.now() - a.startedAt }));
    for (const path of ['/health/ready', '/health']) {
      app.get(path, async (_req, reply) => {
        const r = await a.health.readiness();
        reply.code(r.ready ? 200 : 503);
        return { ...r, node: a.node.name };
      });
    }
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', a.metrics.contentType);
      return a.metrics.metrics();
    });
  });
}
