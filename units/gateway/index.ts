/**
 * The gateway: the small part of an Arweave gateway that ao's tools need when this node is
 * their only network — GraphQL `transactions` / `transaction` over the items this node knows
 * (the SU's processes and messages, the CU's modules, the SU's Scheduler-Location record), and
 * item data by id. aoconnect (legacy mode) looks modules up through it when spawning, and
 * ao-scheduler-utils finds a process's SU through it (process → Scheduler tag → that wallet's
 * Scheduler-Location → Url).
 */
import type { FastifyPluginAsync } from 'fastify';
import { runGraphQL, type GraphQLAnswer, type GraphQLRequest } from './graphql.js';
import { ItemIndex } from './items.js';
import { MAX_EXAMINED, transactions, type TransactionConnection, type TransactionsArgs } from './query.js';
import { graphqlRoutes, rawRoutes } from './routes.js';
import type { ItemSource } from './sources.js';
import type { TransactionNode } from './transaction.js';

export interface GatewayOptions {
  /** Asked in order; the first source that has an id answers for it. */
  sources: ItemSource[];
  /**
   * Run before a request is answered with the ids it names (in a cluster: fetches the items
   * this node does not hold into a source, so that every node answers the same).
   */
  prefetch?: (ids: string[]) => Promise<void>;
  /** Transaction nodes kept parsed (default 10 000). */
  maxCached?: number;
  /** JSON bytes one GraphQL answer may hold (default DEFAULT_ANSWER_BYTES). */
  maxAnswerBytes?: number;
  /** Items one `transactions` query looks at, at most (default MAX_EXAMINED). */
  maxExamined?: number;
}

export interface Gateway {
  /** The raw bytes of a known item. */
  item(id: string): Uint8Array | undefined;
  transaction(id: string): TransactionNode | undefined;
  transactions(args: TransactionsArgs): TransactionConnection;
  /** One GraphQL request, answered with its HTTP status. */
  graphql(request: GraphQLRequest): GraphQLAnswer;
  /** The GraphQL endpoint: mount at `/graphql`. */
  routes(): FastifyPluginAsync;
  /** `GET /raw/:id` and `GET /:id`: mount at the node root (`/`). */
  rawRoutes(): FastifyPluginAsync;
}

export function createGateway(o: GatewayOptions): Gateway {
  const index = new ItemIndex(o.sources, o.maxCached, o.maxExamined ?? MAX_EXAMINED);
  return {
    item: (id) => index.raw(id),
    transaction: (id) => index.node(id),
    transactions: (args) => transactions(index, args),
    graphql: (request) => runGraphQL(index, request, o.maxAnswerBytes),
    routes: () => graphqlRoutes(index, o.maxAnswerBytes, o.prefetch),
    rawRoutes: () => rawRoutes(index, o.prefetch),
  };
}

export { itemList, logSource, moduleSource, type ItemFilter, type ItemList, type ItemSource, type ModuleItems } from './sources.js';
export { DEFAULT_LOCATION_TTL_MS, schedulerLocation, schedulerLocationTags } from './scheduler-location.js';
export { SCHEMA_SDL } from './schema.js';
export { DEFAULT_ANSWER_BYTES } from './budget.js';
export { MAX_ROOT_FIELDS } from './graphql.js';
export { DEFAULT_FIRST, MAX_EXAMINED, MAX_FILTER_VALUES, MAX_FIRST, type TagFilter, type TransactionConnection, type TransactionsArgs } from './query.js';
export type { GraphQLAnswer, GraphQLRequest } from './graphql.js';
export type { TransactionNode } from './transaction.js';
