/**
 * The gateway's HTTP routes, as arweave.net serves them:
 *
 *   POST <prefix>/         { query, variables?, operationName? } → GraphQL answer (mount at /graphql)
 *   GET  <prefix>/?query=&variables=&operationName=           → the same
 *
 *   GET  /raw/:id          the data of item `id` (mount at the node root)
 *   GET  /:id              the same
 *
 * Data is served with the item's Content-Type tag (application/octet-stream without one); an id
 * no source knows → 404 `{ error }`. The ids a request names that the node does not hold are
 * fetched first (`prefetch`: from the cluster, a module from the CU's gateway); when that fails
 * for now → 503. GraphQL's errors keep GraphQL's shape, `{ errors: [{ message }] }`, also those
 * of the one error mapping (units/http/error-mapping.ts: a body that is not JSON, …).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDataItem } from '../ans104/index.js';
import { mapError } from '../http/error-mapping.js';
import { queryString } from '../http/params.js';
import { unitRoutes } from '../http/unit-routes.js';
import { runGraphQL, type GraphQLRequest } from './graphql.js';
import { requestedIds } from './requested-ids.js';
import type { ItemIndex } from './items.js';

/** Errors on the GraphQL endpoint, in GraphQL-over-HTTP's shape. */
function graphqlErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const m = mapError(err, req.routeOptions.bodyLimit);
  if (m.log === 'error') req.log.error({ err }, 'graphql request failed');
  return reply.code(m.status).send({ errors: [{ message: m.error }] });
}

/** A GET request's fields; runGraphQL says what is wrong with them (in GraphQL's words), so none fails here. */
const graphqlQuery = z.object({ query: queryString(), variables: queryString(), operationName: queryString() });

export function graphqlRoutes(index: ItemIndex, maxAnswerBytes?: number, prefetch?: (ids: string[]) => Promise<void>) {
  return unitRoutes(async (app) => {
    const answer = async (request: GraphQLRequest, reply: FastifyReply) => {
      try {
        await prefetch?.(requestedIds(request));
      } catch (e) {
        // Items held elsewhere could not be fetched now: not an answer that they do not exist.
        return reply.code(503).send({ errors: [{ message: `items could not be fetched now (from the cluster or a gateway), try again: ${(e as Error).message}` }] });
      }
      const { status, body } = runGraphQL(index, request, maxAnswerBytes);
      return reply.code(status).type('application/json; charset=utf-8').send(body);
    };
    app.post('/', async (req, reply) => answer(typeof req.body === 'object' && req.body !== null ? (req.body as GraphQLRequest) : {}, reply));
    app.get('/', { schema: { querystring: graphqlQuery } }, async (req, reply) => answer(req.query, reply));
  }, graphqlErrors);
}

const PRINTABLE = /^[\x20-\x7e]{1,255}$/;

// Any id is asked for: one no source knows is a 404.
const idParams = z.object({ id: z.string() });

export function rawRoutes(index: ItemIndex, prefetch?: (ids: string[]) => Promise<void>) {
  return unitRoutes(async (app) => {
    const data = async (id: string, reply: FastifyReply) => {
      try {
        if (/^[A-Za-z0-9_-]{43}$/.test(id)) await prefetch?.([id]);
      } catch (e) {
        return reply.code(503).send({ error: `item ${id} could not be fetched now (from the cluster or a gateway), try again: ${(e as Error).message}` });
      }
      const raw = index.raw(id);
      let item;
      try {
        item = raw ? parseDataItem(raw) : undefined;
      } catch {
        item = undefined;
      }
      if (!item || item.id !== id) return reply.code(404).send({ error: `item ${id} is not known to this gateway` });
      const type = item.tags.find((t) => t.name.toLowerCase() === 'content-type')?.value;
      return reply
        .type(type && PRINTABLE.test(type) ? type : 'application/octet-stream')
        .send(Buffer.from(item.data.buffer, item.data.byteOffset, item.data.byteLength));
    };
    app.get('/raw/:id', { schema: { params: idParams } }, async (req, reply) => data(req.params.id, reply));
    app.get('/:id', { schema: { params: idParams } }, async (req, reply) => data(req.params.id, reply));
  });
}
