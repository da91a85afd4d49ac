/**
 * The CU's HTTP routes, as the reference CU answers them (aoconnect's `result`, `results`,
 * `dryrun` call these), camelCase JSON:
 *
 * - `GET /`                                   { address, timestamp } (+ the bundled modules by name)
 * - `GET /result/:messageId?process-id=`      { Messages, Spawns, Assignments, Output, Error?, GasUsed? }
 *                                             (202 while the evaluation is still running at the wait's end,
 *                                             404 when the message never showed up in the log)
 * - `GET /results/:processId?from=&to=&sort=&limit=`
 *                                             { pageInfo: { hasNextPage }, edges: [{ node, cursor }] }
 * - `POST /dry-run?process-id=`               the output of the body message against the latest state
 *                                             (the reference's `to` is not supported: always the latest);
 *                                             a body over cu.dryRunBodyBytes is a 413, a process with
 *                                             cu.maxDryRunsPerProcess dry-runs waiting a 503
 * - `GET /state/:processId`                   the memory after the latest slot (application/octet-stream)
 * - `GET /cron/:processId?from=&to=&limit=`   the results of cron messages (cron.ts), ascending, paged as
 *                                             /results; /results has them too, in log order
 * - `GET /attestation/:messageId?process-id=`  the CU's signed attestation of that result (attestation.ts),
 *                                             the ANS-104 item's bytes (202 / 404 as /result)
 * - `GET /checkpoint/:processId`              the process's newest checkpoint signed by this CU (checkpoint-item.ts)
 * - `POST /checkpoint`                        a checkpoint signed by a trusted CU: the process starts from it
 *                                             { processId, slot, cron, memoryHash } (403 untrusted, 409 computed here already)
 *
 * Errors are `{ "error": "<what is wrong>" }` (units/http/error-mapping.ts); a call to the process's actor
 * that times out is a 202 (still evaluating). Params and query strings are checked by the routes' schemas.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CallError } from '../../runtime/index.js';
import { CuError, type CuApi } from './api.js';
import { errorMapping } from '../http/error-mapping.js';
import { unitRoutes } from '../http/unit-routes.js';
import { enumQuery, intQuery, queryString, requiredTxIdQuery, txId } from '../http/params.js';

// Ids the CU does not know are its 404s: any 43 base64url characters pass the schemas.
const processParams = z.object({ processId: txId('process id', 'a transaction id', { loose: true }) });
const processQuery = z.object({ 'process-id': requiredTxIdQuery('process-id', 'a process id', { loose: true }) });
const messageParams = z.object({ messageId: z.string() });
const pageQuery = { from: queryString(), to: queryString(), limit: intQuery('limit', 1, 'a positive integer') };

/** A process actor that did not answer within the wait is still evaluating: 202, as the reference CU answers. */
function inProgress(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof CallError && err.kind === 'timeout') return reply.code(202).send({ message: 'Evaluation is in progress.' });
  return errorMapping(err, req, reply);
}

/** A signed checkpoint item holds a compressed memory image. */
const CHECKPOINT_BODY_BYTES = 16 * 2 ** 20;

const octets = (reply: FastifyReply, b: Uint8Array) => reply.header('content-type', 'application/octet-stream').send(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** What the routes ask: the CU's API, or in a cluster one that asks each process's owner node. */
export type CuRoutesApi = Pick<CuApi, 'info' | 'result' | 'results' | 'dryRun' | 'state' | 'cron' | 'attestation' | 'signedCheckpoint' | 'importCheckpoint'>;

export function cuRoutes(api: CuRoutesApi, o: { resultWaitMs: number; dryRunBodyBytes?: number }) {
  const dryRunBodyBytes = o.dryRunBodyBytes ?? 1024 * 1024;
  return unitRoutes(async (app) => {
    // Signed checkpoints arrive as item bytes.
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: CHECKPOINT_BODY_BYTES }, (_req, body, done) => done(null, body));

    app.get('/', async () => api.info());

    app.get('/result/:messageId', { schema: { params: messageParams, querystring: processQuery } }, async (req, reply) => {
      const r = await api.result(req.query['process-id'], req.params.messageId, o.resultWaitMs);
      if ('result' in r) return r.result;
      if ('busy' in r) return reply.code(202).send({ message: r.busy });
      return reply.code(404).send({ error: r.missing });
    });

    app.get('/attestation/:messageId', { schema: { params: messageParams, querystring: processQuery } }, async (req, reply) => {
      const r = await api.attestation(req.query['process-id'], req.params.messageId, o.resultWaitMs);
      if ('busy' in r) return reply.code(202).send({ message: r.busy });
      if ('missing' in r) return reply.code(404).send({ error: r.missing });
      return octets(reply, r.attestation);
    });

    app.get('/checkpoint/:processId', { schema: { params: processParams } }, async (req, reply) => octets(reply, await api.signedCheckpoint(req.params.processId)));

    app.post('/checkpoint', { bodyLimit: CHECKPOINT_BODY_BYTES }, async (req) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new CuError(400, 'the body must be a signed checkpoint item (application/octet-stream)');
      return api.importCheckpoint(req.body);
    });

    app.get(
      '/results/:processId',
      { schema: { params: processParams, querystring: z.object({ ...pageQuery, sort: enumQuery('sort', ['ASC', 'DESC']) }) } },
      async (req) => {
        const { from, to, sort, limit } = req.query;
        return api.results(req.params.processId, { from, to, sort, limit: limit ?? 25 });
      },
    );

    app.post('/dry-run', { bodyLimit: dryRunBodyBytes, schema: { querystring: processQuery } }, async (req) => api.dryRun(req.query['process-id'], req.body));

    app.get('/state/:processId', { schema: { params: processParams } }, async (req, reply) => octets(reply, await api.state(req.params.processId)));

    app.get('/cron/:processId', { schema: { params: processParams, querystring: z.object(pageQuery) } }, async (req) => {
      const { from, to, limit } = req.query;
      return api.cron(req.params.processId, { from, to, limit: limit ?? 500 });
    });
  }, inProgress);
}
