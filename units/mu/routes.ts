/**
 * The MU's HTTP routes, as aoconnect calls them (reference: permaweb/ao servers/mu routes):
 *
 *   GET    /                          { address, timestamp }
 *   POST   /                          raw data item → 202 { message: 'Processing DataItem', id }
 *   POST   /?process-id=&assign=      [&exclude=a,b] → 202 { message: 'Processing Assignment', id }
 *   POST   /monitor/:processId        signed item → 200 { message: 'Monitoring process' }
 *   DELETE /monitor/:processId        signed item → 200 { message: 'Process deleted' }
 *   GET    /jobs/:id                  a push job and the rest of its push (trace)
 *
 * Errors are `{ "error": "<what is wrong>" }`: 400 bad input, 404 unknown, 413 over 10 MiB,
 * 503 when the SU cannot be reached.
 */
import type { FastifyPluginAsync } from 'fastify';
import { parseExclude } from '../su/validate.js';
import { MuError, type MuApi } from './api.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export const MU_BODY_LIMIT = ITEM_LIMITS.maxItemBytes;

type Query = Record<string, string | string[] | undefined>;
const one = (q: Query, name: string): string | undefined => {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
};
const bytes = (body: unknown): Uint8Array => (Buffer.isBuffer(body) ? body : new Uint8Array());

export function muRoutes(api: MuApi, address: string): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MU_BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string; status?: number }, req, reply) => {
      if (err instanceof MuError) return reply.code(err.status).send({ error: err.message });
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
        return reply.code(413).send({ error: `Request body is larger than the ${MU_BODY_LIMIT} byte limit` });
      }
      if (err.name === 'SchedulerUnavailable' || err.name === 'CallError' || err.name === 'MuStartError') {
        req.log.warn({ err: err.message }, 'mu: a unit is unavailable');
        return reply.code(503).send({ error: `Unavailable, try again: ${err.message}` });
      }
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
      req.log.error({ err }, 'mu route failed');
      return reply.code(500).send({ error: 'Internal error' });
    });

    app.get('/', async () => ({ address, timestamp: Date.now() }));

    app.post('/', { bodyLimit: MU_BODY_LIMIT }, async (req, reply) => {
      const q = req.query as Query;
      const processId = one(q, 'process-id');
      const assign = one(q, 'assign');
      if ((processId === undefined) !== (assign === undefined)) throw new MuError(400, 'You must set both process-id and assign to send an assignment, not just one');
      if (processId !== undefined && assign !== undefined) {
        if (q['base-layer'] !== undefined) throw new MuError(400, 'base-layer assignments need a gateway to count confirmations; this node has none');
        const exclude = parseExclude(q.exclude);
        if ('error' in exclude) throw new MuError(400, exclude.error);
        const r = await api.assign(processId, assign, exclude.ok);
        return reply.code(202).send({ message: r.message, id: r.id });
      }
      const body = bytes(req.body);
      if (body.length === 0) throw new MuError(400, 'Request body is empty: send a signed ANS-104 data item');
      const r = await api.submit(body);
      return reply.code(202).send({ message: r.message, id: r.id });
    });

    app.post('/monitor/:processId', { bodyLimit: MU_BODY_LIMIT }, async (req) => api.monitor((req.params as { processId: string }).processId, bytes(req.body)));
    app.delete('/monitor/:processId', { bodyLimit: MU_BODY_LIMIT }, async (req) => api.unmonitor((req.params as { processId: string }).processId, bytes(req.body)));

    app.get('/jobs/:id', async (req) => api.trace((req.params as { id: string }).id));
  };
}
