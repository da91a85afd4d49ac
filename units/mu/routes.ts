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
 * Errors are `{ "error": "<what is wrong>" }` (units/http/error-mapping.ts): 400 bad input, 404
 * unknown, 413 over 10 MiB, 503 when the SU cannot be reached. Params and query strings are
 * checked by the routes' schemas.
 */
import { z } from 'zod';
import { MuError, type MuApi } from './api.js';
import { ITEM_LIMITS } from '../ans104/index.js';
import { unitRoutes } from '../http/unit-routes.js';
import { assignQuery as assignParams } from '../http/params.js';

export const MU_BODY_LIMIT = ITEM_LIMITS.maxItemBytes;

const bytes = (body: unknown): Uint8Array => (Buffer.isBuffer(body) ? body : new Uint8Array());

const assignQuery = assignParams('You must set both process-id and assign to send an assignment, not just one');

// An id that is not one is not a process anybody monitors: 404, as the MU's API answers.
const monitorParams = z.object({ processId: z.string() });

export function muRoutes(api: MuApi, address: string, now: () => number = Date.now) {
  return unitRoutes(async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MU_BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.get('/', async () => ({ address, timestamp: now() }));

    app.post('/', { bodyLimit: MU_BODY_LIMIT, schema: { querystring: assignQuery } }, async (req, reply) => {
      const { 'process-id': processId, assign, 'base-layer': baseLayer, exclude } = req.query;
      if (processId !== undefined && assign !== undefined) {
        if (baseLayer) throw new MuError(400, 'base-layer assignments need a gateway to count confirmations; this node has none');
        const r = await api.assign(processId, assign, exclude);
        return reply.code(202).send({ message: r.message, id: r.id });
      }
      const body = bytes(req.body);
      if (body.length === 0) throw new MuError(400, 'Request body is empty: send a signed ANS-104 data item');
      const r = await api.submit(body);
      return reply.code(202).send({ message: r.message, id: r.id });
    });

    app.post('/monitor/:processId', { bodyLimit: MU_BODY_LIMIT, schema: { params: monitorParams } }, async (req) => api.monitor(req.params.processId, bytes(req.body)));
    app.delete('/monitor/:processId', { bodyLimit: MU_BODY_LIMIT, schema: { params: monitorParams } }, async (req) => api.unmonitor(req.params.processId, bytes(req.body)));

    // Job ids are item ids, or `<message>@<process>` for an assignment's: the store answers 404 for others.
    app.get('/jobs/:id', { schema: { params: z.object({ id: z.string() }) } }, async (req) => api.trace(req.params.id));
  });
}
