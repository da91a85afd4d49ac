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
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CallError, ServiceError } from '../../runtime/index.js';
import { CuError, type CuApi } from './api.js';

interface ProcessQuery {
  'process-id'?: string;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

function fail(reply: FastifyReply, e: unknown) {
  if (e instanceof CuError) return reply.code(e.status).send({ error: e.message });
  // Asked of the owner node in a cluster: its CuError comes back with the same status.
  if (e instanceof ServiceError && e.status !== undefined) return reply.code(e.status).send({ error: e.message });
  if (e instanceof CallError && e.kind === 'timeout') return reply.code(202).send({ message: 'Evaluation is in progress.' });
  if (e instanceof CallError) return reply.code(503).send({ error: `The process's compute node cannot be reached, try again: ${e.message}` });
  reply.log.error({ err: e }, 'cu request failed');
  return reply.code(500).send({ error: (e as Error).message ?? String(e) });
}

function processId(raw: string | undefined, where: string): string {
  if (!raw) throw new CuError(400, `a process id is required (${where})`);
  if (!ID.test(raw)) throw new CuError(400, `'${raw.slice(0, 64)}' is not a process id (43 base64url characters)`);
  return raw;
}

function limitOf(raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CuError(400, `limit must be a positive integer, got '${raw.slice(0, 32)}'`);
  return n;
}

/** What the routes ask: the CU's API, or in a cluster one that asks each process's owner node. */
export type CuRoutesApi = Pick<CuApi, 'info' | 'result' | 'results' | 'dryRun' | 'state' | 'cron' | 'attestation' | 'signedCheckpoint' | 'importCheckpoint'>;

export function cuRoutes(api: CuRoutesApi, o: { resultWaitMs: number; dryRunBodyBytes?: number }): FastifyPluginAsync {
  const dryRunBodyBytes = o.dryRunBodyBytes ?? 1024 * 1024;
  return async (app) => {
    // Errors before a handler runs (a body too large, JSON that does not parse) in the CU's shape.
    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      if (err.statusCode === 413) return reply.code(413).send({ error: `the body is larger than ${dryRunBodyBytes} bytes` });
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
      return fail(reply, err);
    });

    // Signed checkpoints arrive as item bytes.
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 16 * 2 ** 20 }, (_req, body, done) => done(null, body));

    app.get('/', async () => api.info());

    app.get<{ Params: { messageId: string }; Querystring: ProcessQuery }>('/result/:messageId', async (req, reply) => {
      try {
        const pid = processId(req.query['process-id'], 'the process-id query parameter');
        const r = await api.result(pid, req.params.messageId, o.resultWaitMs);
        if ('result' in r) return r.result;
        if ('busy' in r) return reply.code(202).send({ message: r.busy });
        return reply.code(404).send({ error: r.missing });
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.get<{ Params: { messageId: string }; Querystring: ProcessQuery }>('/attestation/:messageId', async (req, reply) => {
      try {
        const pid = processId(req.query['process-id'], 'the process-id query parameter');
        const r = await api.attestation(pid, req.params.messageId, o.resultWaitMs);
        if ('busy' in r) return reply.code(202).send({ message: r.busy });
        if ('missing' in r) return reply.code(404).send({ error: r.missing });
        return reply.header('content-type', 'application/octet-stream').send(Buffer.from(r.attestation.buffer, r.attestation.byteOffset, r.attestation.byteLength));
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.get<{ Params: { processId: string } }>('/checkpoint/:processId', async (req, reply) => {
      try {
        const raw = await api.signedCheckpoint(processId(req.params.processId, 'in the path'));
        return reply.header('content-type', 'application/octet-stream').send(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.post<{ Body: Buffer }>('/checkpoint', async (req, reply) => {
      try {
        if (!Buffer.isBuffer(req.body) || req.body.length === 0) throw new CuError(400, 'the body must be a signed checkpoint item (application/octet-stream)');
        return await api.importCheckpoint(req.body);
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.get<{ Params: { processId: string }; Querystring: { from?: string; to?: string; sort?: string; limit?: string } }>(
      '/results/:processId',
      async (req, reply) => {
        try {
          const pid = processId(req.params.processId, 'in the path');
          const { from, to, sort } = req.query;
          return await api.results(pid, { from, to, sort, limit: limitOf(req.query.limit, 25) });
        } catch (e) {
          return fail(reply, e);
        }
      },
    );

    app.post<{ Querystring: ProcessQuery; Body: unknown }>('/dry-run', { bodyLimit: dryRunBodyBytes }, async (req, reply) => {
      try {
        const pid = processId(req.query['process-id'], 'the process-id query parameter');
        return await api.dryRun(pid, req.body);
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.get<{ Params: { processId: string } }>('/state/:processId', async (req, reply) => {
      try {
        const memory = await api.state(processId(req.params.processId, 'in the path'));
        return reply.header('content-type', 'application/octet-stream').send(Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength));
      } catch (e) {
        return fail(reply, e);
      }
    });

    app.get<{ Params: { processId: string }; Querystring: { from?: string; to?: string; limit?: string } }>('/cron/:processId', async (req, reply) => {
      try {
        const pid = processId(req.params.processId, 'in the path');
        const { from, to } = req.query;
        return await api.cron(pid, { from, to, limit: limitOf(req.query.limit, 500) });
      } catch (e) {
        return fail(reply, e);
      }
    });
  };
}
