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
 * Errors are `{ "error": "<what is wrong>" }` (units/http/error-mapping.ts): 400 for bad input and
 * unknown ids (as the reference, which answers 400 for not found too), 409 when the process is no
 * longer hosted here (unhosted, or re-hosted elsewhere), 413 for a body over 10 MiB, 503 when the
 * sequencer cannot be reached. Params and query strings are checked by the routes' schemas. Writes go to the process's sequencer through the SuClient; reads go through the
 * reader; the routes never touch the store.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { formatBlockHeight } from './assignment.js';
import type { SuClient } from './client.js';
import { messageJson, pageJsonParts, processJson } from './json.js';
import { DEFAULT_PAGE_BYTES, DEFAULT_PAGE_LIMIT, type PageQuery, type SuReader } from './reader.js';
import type { ScheduleReply } from './sequencer.js';
import { localReads, type SuReads } from './reads.js';
import { validateItem } from './validate.js';
import { ITEM_LIMITS } from '../ans104/index.js';
import { unitRoutes } from '../http/unit-routes.js';
import { assignQuery as assignParams, intQuery, txId, txIdQuery } from '../http/params.js';

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

/** A 4xx answer with a reason (answered by units/http/error-mapping.ts). */
export class SuError extends Error {
  override readonly name = 'SuError';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const assignQuery = assignParams('If sending assign or process-id, you must send both.');

const pageQuery = z.object({
  'process-id': txIdQuery('process-id'),
  limit: intQuery('limit', 1),
  from: intQuery('from', 0),
  to: intQuery('to', 0),
  'from-nonce': intQuery('from-nonce', -1),
  'to-nonce': intQuery('to-nonce', 0),
});

function scheduled(r: ScheduleReply, id: (ok: { assignmentId: string; messageId: string }) => string) {
  // 409: the request is well-formed, but the process is no longer hosted here.
  if ('error' in r) throw new SuError(r.error, r.unhosted ? 409 : 400);
  return { timestamp: r.ok.timestamp, id: id(r.ok) };
}

export function suRoutes(d: SuRoutesDeps) {
  const reads = d.reads ?? localReads(d.reader);
  return unitRoutes(async (app) => {
    // Every body is a data item, whatever its Content-Type says.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: SU_BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.get('/', async () => ({ timestamp: String(d.now()), address: d.address }));

    app.get('/timestamp', async () => ({ timestamp: String(d.now()), block_height: formatBlockHeight(d.blockHeight()) }));

    app.get('/health', async (_req, reply) => reply.code(200).send(''));

    app.post('/', { bodyLimit: SU_BODY_LIMIT, schema: { querystring: assignQuery } }, async (req) => {
      const { 'process-id': processId, assign, 'base-layer': baseLayer, exclude } = req.query;
      if (processId !== undefined && assign !== undefined) {
        if (baseLayer) throw new SuError('base-layer assignments need a gateway to count confirmations; this SU has none');
        if (!d.clustered && !d.reader.hosts(processId)) throw new SuError(`Process not found: ${processId}`);
        const r = await d.client.schedule(processId, { op: 'assign', id: assign, ...(exclude.length ? { exclude } : {}) });
        return scheduled(r, (ok) => ok.assignmentId);
      }

      const body = req.body;
      if (!Buffer.isBuffer(body)) throw new SuError('Request body is empty: send a signed ANS-104 data item');
      const v = await validateItem(body, d.address);
      if ('error' in v) throw new SuError(v.error);
      const { item } = v.ok;
      if (v.ok.kind === 'process') {
        return scheduled(await d.client.schedule(item.id, { op: 'spawn', id: item.id, raw: body }), (ok) => ok.messageId);
      }
      const target = v.ok.processId;
      if (!d.clustered && !d.reader.hosts(target)) throw new SuError(`Process not found: ${target}`);
      return scheduled(await d.client.schedule(target, { op: 'message', id: item.id, raw: body }), (ok) => ok.messageId);
    });

    app.get('/processes/:processId', { schema: { params: z.object({ processId: txId('process id') }) } }, async (req) => {
      const { processId } = req.params;
      const info = await reads.process(processId);
      if (!info) throw new SuError(`Process not found: ${processId}`);
      return processJson(info.spawn, info.first);
    });

    app.get('/:id/latest', { schema: { params: z.object({ id: txId('process id') }) } }, async (req) => {
      const { id } = req.params;
      const e = await reads.latest(id);
      if (!e) throw new SuError(`Process not found: ${id}`);
      return messageJson(e);
    });

    app.get('/:id', { schema: { params: z.object({ id: txId('id') }), querystring: pageQuery } }, async (req, reply) => {
      const { id } = req.params;
      const q = req.query;
      const processId = q['process-id'];
      if ((processId === undefined || processId === id) && (await reads.hosts(id))) {
        const query: PageQuery = { limit: Math.min(q.limit ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT), maxBytes: d.pageBytes ?? DEFAULT_PAGE_BYTES };
        if (q.from !== undefined) query.from = q.from;
        if (q.to !== undefined) query.to = q.to;
        if (q['from-nonce'] !== undefined) query.fromNonce = q['from-nonce'];
        if (q['to-nonce'] !== undefined) query.toNonce = q['to-nonce'];
        const published = d.published?.(id);
        const parts = pageJsonParts(await reads.page(id, query), published ? { published } : undefined);
        const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
        return reply.type('application/json; charset=utf-8').header('content-length', length).send(Readable.from(parts));
      }
      const e = await reads.find(id, processId);
      if (!e) throw new SuError('Message or Process not found');
      return messageJson(e);
    });
  });
}
