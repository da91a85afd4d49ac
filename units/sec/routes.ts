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
 * 404; an origin that cannot be reached 503.
 */
import type { FastifyPluginAsync } from 'fastify';
import { CallError, type Caller } from '../../runtime/index.js';
import { ORIGIN, type OriginReply, type OriginRequest } from './origin.js';
import { ITEM_LIMITS } from '../ans104/index.js';

export const SEC_BODY_LIMIT = ITEM_LIMITS.maxItemBytes;

export function secRoutes(caller: Caller, timeout: number): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: SEC_BODY_LIMIT }, (_req, body, done) => done(null, body));

    const ask = async (req: OriginRequest, reply: { code(n: number): { send(b: unknown): unknown } }) => {
      let r: OriginReply;
      try {
        r = await caller.call(ORIGIN, req, { timeout });
      } catch (e) {
        if (e instanceof CallError) return reply.code(503).send({ error: `AO-Sec origin unavailable, try again: ${e.message}` });
        throw e;
      }
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
    app.get('/stakes/:address', (req, reply) => {
      const { address } = req.params as { address: string };
      if (!/^[A-Za-z0-9_-]{43}$/.test(address)) return reply.code(400).send({ error: `'${address.slice(0, 64)}' is not an address` });
      return ask({ op: 'stakes', address }, reply);
    });
    app.get('/:processId', (req, reply) => {
      const { processId } = req.params as { processId: string };
      if (!/^[A-Za-z0-9_-]{43}$/.test(processId)) return reply.code(400).send({ error: `'${processId.slice(0, 64)}' is not a process id` });
      return ask({ op: 'get', processId }, reply);
    });
  };
}
