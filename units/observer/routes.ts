/**
 * The observer over HTTP: `GET /observer` (the page), `GET /observer/state` (the cluster view as
 * JSON), `GET /observer/events` (server-sent events: the view every `intervalMs` while someone
 * listens), `POST /observer/kill` `{ node, pid }` (kill an actor, only on a node with chaos on).
 */
import { z } from 'zod';
import { STATUS_NAME, type KillReply, type Node } from '../../runtime/index.js';
import { clusterView, type ClusterView } from './cluster-view.js';
import { OBSERVER_PAGE } from './page.js';
import { unitRoutes } from '../http/unit-routes.js';

const KILL_SHAPE = 'expected JSON { "node": "<node name>", "pid": "<pid>" }';
const killBody = z.object({ node: z.string({ error: KILL_SHAPE }), pid: z.string({ error: KILL_SHAPE }) }, { error: KILL_SHAPE });

export interface ObserverRoutesArgs {
  node: Node;
  intervalMs?: number;
}

export function observerRoutes(a: ObserverRoutesArgs) {
  const intervalMs = a.intervalMs ?? 1000;
  return unitRoutes(async (app) => {
    // One view per tick, shared by every listener.
    const listeners = new Set<(v: ClusterView) => void>();
    let timer: NodeJS.Timeout | undefined;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const v = await clusterView(a.node);
        for (const l of listeners) l(v);
      } finally {
        busy = false;
      }
    };
    const listen = (l: (v: ClusterView) => void) => {
      listeners.add(l);
      if (!timer) {
        timer = setInterval(() => void tick(), intervalMs);
        timer.unref();
      }
      void tick();
      return () => {
        listeners.delete(l);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    };
    app.addHook('onClose', async () => {
      if (timer) clearInterval(timer);
      listeners.clear();
    });

    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(OBSERVER_PAGE));
    app.get('/state', async () => clusterView(a.node));
    app.get('/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(`retry: ${intervalMs}\n\n`);
      const stop = listen((v) => res.write(`event: view\ndata: ${JSON.stringify(v)}\n\n`));
      req.raw.on('close', stop);
    });
    app.post('/kill', { schema: { body: killBody } }, async (req, reply) => {
      const { node, pid } = req.body;
      const target = node === a.node.name ? STATUS_NAME : { name: STATUS_NAME, node };
      try {
        const r = await a.node.call<KillReply & { error?: string }>(target, { op: 'kill', pid }, { timeout: 5000 });
        if (r.error) return reply.code(403).send({ error: r.error });
        if (r.killed.length === 0) return reply.code(404).send({ error: `no actor ${pid} on ${node}` });
        return r;
      } catch (e) {
        return reply.code(502).send({ error: `${node} did not answer: ${(e as Error).message}` });
      }
    });
  });
}
