/**
 * The origin's HTTP routes (mounted under `/sec`):
 *
 *   POST /challenge    a signed Sec-Challenge item        → the process's lifecycle view
 *   POST /evidence     a signed Sec-Evidence item         → the view
 *   POST /offer        a signed Host-Offer message        → { decision, answer?, …view }
 *   GET  /:processId   the current lifecycle state and its history
 *   POST /stake        a signed Sec-Stake item (Stake, Unstake, Withdraw)  → the signer's account
 *   POST /slash        signed slashing evidence (slashing.ts)   → { slash, …the offender's account }
 *   GET  /stakes/:address                                       → the account (zeros when unknown)
 *
 * A rejected request gets 400 `{ error }` saying why, and changed nothing; an unknown process
 * 404; an origin that cannot be reached 503 (units/http/error-mapping.ts). Params are checked by
 * the routes' schemas.
 */
import { z } from 'zod';
import type { Caller } from '../../runtime/index.js';
import { ORIGIN, type OriginReply, type OriginRequest } from './origin.js';
import { ITEM_LIMITS } from '../ans104/index.js';
import { txId } from '../http/params.js';
import { unitRoutes } from '../http/unit-routes.js';

export const SEC_BODY_LIMIT = ITEM_LIMITS.maxItemBytes;

// Any 43 base64url characters: an address or process the origin does not know is its answer to give.
const addressParams = z.object({ address: txId('address', 'an address', { loose: true }) });
const processParams = z.object({ processId: txId('process id', 'a process id', { loose: true }) });

export function secRoutes(caller: Caller, timeout: number) {
  return unitRoutes(async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: SEC_BODY_LIMIT }, (_req, body, done) => done(null, body));

    const ask = async (req: OriginRequest, reply: { code(n: number): { send(b: unknown): unknown } }) => {
      // A CallError (the origin cannot be reached) is the mapping's 503.
      const r: OriginReply = await caller.call(ORIGIN, req, { timeout });
      if ('error' in r) return reply.code(r.status ?? 400).send({ error: r.error });
      const { ok, ...rest } = r;
      return reply.code(200).send({ ...rest, ...ok });
    };
    const body = (b: unknown) => (Buffer.isBuffer(b) ? b : Buffer.alloc(0));

    app.post('/challenge', (req, reply) => ask({ op: 'challenge', raw: body(req.body) }, reply));
    app.post('/evidence', (req, reply) => ask({ op: 'evidence', raw: body(req.body) }, reply));
    app.post('/offer', (req, reply) => ask({ op: 'offer', raw: body(req.body) }, reply));
    app.post('/stake', (req, reply) => ask({ op: 'stake', raw: body(req.body) }, reply));
    app.post('/slash', (req, reply) => ask({ op: 'slash', raw: body(req.body) }, reply));
    app.get('/stakes/:address', { schema: { params: addressParams } }, (req, reply) => ask({ op: 'stakes', address: req.params.address }, reply));
    app.get('/:processId', { schema: { params: processParams } }, (req, reply) => ask({ op: 'get', processId: req.params.processId }, reply));
  });
}
