/**
 * The SU's HTTP routes, compatible with the reference SU (permaweb/ao servers/su main.rs):
 *
 *   GET  /                          { timestamp: "<ms>", address }
 *   POST /                          raw data item → { timestamp: <ms>, id }   (spawn: process id,
 *                                   message: message id)
 *   POST /?process-id=&assign=      [&exclude=a,b] → { timestamp, id: <assignment id> }
 *   GET  /timestamp                 { timestamp: "<ms>", block_height: "<12 digits>" }
 *   GET  /health                    200, empty
 *   GET  /processes/:processId      ProcessInner
 *   GET  /:id                       a process id: its messages, paged (from, to, limit, from-nonce,
 *                                   to-nonce; a page also ends at a byte budget, see SuReader.page);
 *                                   a message or assignment id (process-id optional): Message;
 *                                   a page also says `published: { through, backlog }` when the
 *                                   logs are published to a bundler
 *   GET  /:processId/latest         the latest Message
 *
 * Errors are `{ "error": "<what is wrong>" }`: 400 for bad input and unknown ids (as the reference,
 * which answers 400 for not found too), 409 when the process is no longer hosted here (unhosted,
 * or re-hosted elsewhere), 413 for a body over 10 MiB, 503 when the sequencer cannot
 * be reached. Writes go to the process's sequencer through the SuClient; reads go through the
 * reader; the routes never touch the store.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { CallError } from '../../runtime/index.js';
import { formatBlockHeight } from './assignment.js';
import { SchedulerUnavailable, type SuClient } from './client.js';
import { messageJson, pageJsonParts, processJson } from './json.js';
import { DEFAULT_PAGE_BYTES, DEFAULT_PAGE_LIMIT, type PageQuery, type SuReader } from './reader.js';
import type { ScheduleReply } from './sequencer.js';
import { localReads, type SuReads } from './reads.js';
import { isTxId, parseExclude, validateItem } from './validate.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export const SU_BODY_LIMIT = ITEM_LIMITS.maxItemBytes;
/** The most entries one page returns (the reference's older default). */
export const MAX_PAGE_LIMIT = 5000;

export interface SuRoutesDeps {
  client: SuClient;
  reader: SuReader;
  /** This SU's wallet address. */
  address: string;
  blockHeight(): number;
  /** Unix ms. */
  now(): number;
  /**
   * Clustered: another node may own a process's log, so whether it is hosted is the owner's
   * sequencer's answer, not this node's LMDB.
   */
  clustered?: boolean;
  /** The read side (default: this node's reader; in a cluster: the owners', over the bus). */
  reads?: SuReads;
  /** Item bytes a page of a log holds at most (it always holds one entry). */
  pageBytes?: number;
  /** When the logs are published to a bundler: how far this one is (shown with its pages). */
  published?: SuPublished;
}

/** How far a process's log is published: every slot up to `through`; `backlog` slots not yet. */
export type SuPublished = (processId: string) => { through: number; backlog: number } | undefined;

/** A 4xx answer with a reason. */
class BadRequest extends Error {
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type Query = Record<string, string | string[] | undefined>;

const one = (q: Query, name: string): string | undefined => {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
};

function integer(q: Query, name: string, min: number): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d{1,16}$/.test(v) || Number(v) < min) throw new BadRequest(`${name} must be an integer >= ${min}, got '${v.slice(0, 32)}'`);
  return Number(v);
}

/** Ids in read routes: a transaction id, or a 400 saying so (never an LMDB key error). */
function txId(value: string, what: string): string {
  if (!isTxId(value)) throw new BadRequest(`${what} must be a transaction id (43 base64url characters), got '${value.slice(0, 64)}'`);
  return value;
}

function scheduled(r: ScheduleReply, id: (ok: { assignmentId: string; messageId: string }) => string) {
  // 409: the request is well-formed, but the process is no longer hosted here.
  if ('error' in r) throw new BadRequest(r.error, r.unhosted ? 409 : 400);
  return { timestamp: r.ok.timestamp, id: id(r.ok) };
}

export function suRoutes(d: SuRoutesDeps): FastifyPluginAsync {
  const reads = d.reads ?? localReads(d.reader);
  return async (app) => {
    // Every body is a data item, whatever its Content-Type says.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: SU_BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply: FastifyReply) => {
      if (err instanceof BadRequest) return reply.code(err.statusCode).send({ error: err.message });
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
        return reply.code(413).send({ error: `Request body is larger than the ${SU_BODY_LIMIT} byte limit` });
      }
      if (err instanceof SchedulerUnavailable || err instanceof CallError) {
        req.log.warn({ err: err.message }, 'scheduler unavailable');
        return reply.code(503).send({ error: `Scheduler unavailable, try again: ${err.message}` });
      }
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
      req.log.error({ err }, 'su route failed');
      return reply.code(500).send({ error: 'Internal error' });
    });

    app.get('/', async () => ({ timestamp: String(d.now()), address: d.address }));

    app.get('/timestamp', async () => ({ timestamp: String(d.now()), block_height: formatBlockHeight(d.blockHeight()) }));

    app.get('/health', async (_req, reply) => reply.code(200).send(''));

    app.post('/', { bodyLimit: SU_BODY_LIMIT }, async (req) => {
      const q = req.query as Query;
      const processId = one(q, 'process-id');
      const assign = one(q, 'assign');
      if ((processId === undefined) !== (assign === undefined)) throw new BadRequest('If sending assign or process-id, you must send both.');
      if (processId !== undefined && assign !== undefined) {
        if (!isTxId(processId)) throw new BadRequest(`process-id must be a process id (43 base64url characters), got '${processId.slice(0, 64)}'`);
        if (!isTxId(assign)) throw new BadRequest(`assign must be a transaction id (43 base64url characters), got '${assign.slice(0, 64)}'`);
        if (q['base-layer'] !== undefined) {
          throw new BadRequest('base-layer assignments need a gateway to count confirmations; this SU has none');
        }
        if (!d.clustered && !d.reader.hosts(processId)) throw new BadRequest(`Process not found: ${processId}`);
        const parsed = parseExclude(q.exclude);
        if ('error' in parsed) throw new BadRequest(parsed.error);
        const exclude = parsed.ok;
        const r = await d.client.schedule(processId, { op: 'assign', id: assign, ...(exclude.length ? { exclude } : {}) });
        return scheduled(r, (ok) => ok.assignmentId);
      }

      const body = req.body;
      if (!Buffer.isBuffer(body)) throw new BadRequest('Request body is empty: send a signed ANS-104 data item');
      const v = await validateItem(body, d.address);
      if ('error' in v) throw new BadRequest(v.error);
      const { item } = v.ok;
      if (v.ok.kind === 'process') {
        return scheduled(await d.client.schedule(item.id, { op: 'spawn', id: item.id, raw: body }), (ok) => ok.messageId);
      }
      const target = v.ok.processId;
      if (!d.clustered && !d.reader.hosts(target)) throw new BadRequest(`Process not found: ${target}`);
      return scheduled(await d.client.schedule(target, { op: 'message', id: item.id, raw: body }), (ok) => ok.messageId);
    });

    app.get('/processes/:processId', async (req) => {
      const processId = txId((req.params as { processId: string }).processId, 'process id');
      const info = await reads.process(processId);
      if (!info) throw new BadRequest(`Process not found: ${processId.slice(0, 64)}`);
      return processJson(info.spawn, info.first);
    });

    app.get('/:id/latest', async (req) => {
      const id = txId((req.params as { id: string }).id, 'process id');
      const e = await reads.latest(id);
      if (!e) throw new BadRequest(`Process not found: ${id.slice(0, 64)}`);
      return messageJson(e);
    });

    app.get('/:id', async (req, reply) => {
      const id = txId((req.params as { id: string }).id, 'id');
      const q = req.query as Query;
      const pidParam = one(q, 'process-id');
      const processId = pidParam === undefined ? undefined : txId(pidParam, 'process-id');
      if ((processId === undefined || processId === id) && (await reads.hosts(id))) {
        const query: PageQuery = { limit: Math.min(integer(q, 'limit', 1) ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT), maxBytes: d.pageBytes ?? DEFAULT_PAGE_BYTES };
        const from = integer(q, 'from', 0);
        const to = integer(q, 'to', 0);
        const fromNonce = integer(q, 'from-nonce', -1);
        const toNonce = integer(q, 'to-nonce', 0);
        if (from !== undefined) query.from = from;
        if (to !== undefined) query.to = to;
        if (fromNonce !== undefined) query.fromNonce = fromNonce;
        if (toNonce !== undefined) query.toNonce = toNonce;
        const published = d.published?.(id);
        const parts = pageJsonParts(await reads.page(id, query), published ? { published } : undefined);
        const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
        return reply.type('application/json; charset=utf-8').header('content-length', length).send(Readable.from(parts));
      }
      const e = await reads.find(id, processId);
      if (!e) throw new BadRequest('Message or Process not found');
      return messageJson(e);
    });
  };
}
