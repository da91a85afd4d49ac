import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { Config } from '../config/schema.js';
import { NatsTransport, Node, service, supervisorSpec, type Pid } from '../runtime/index.js';
import { Store } from '../runtime/store.js';
import { cuTree } from '../supervisors/cu.js';
import { muTree } from '../supervisors/mu.js';
import { nodeTree } from '../supervisors/node-tree.js';
import { secTree } from '../supervisors/sec.js';
import { SEQUENCERS, suTree } from '../supervisors/su.js';
import { loadOrCreateWallet, loadWallet, parseDataItem } from '../units/ans104/index.js';
import { nodeRoutes } from '../units/http/node-routes.js';
import { createCu, type Cu } from '../units/cu/index.js';
import { CU_SERVICE, placement, routedCuApi, routedSuService, SU_SERVICE, SU_SERVICE_METHODS, type SuService } from '../units/cluster/routing.js';
import { clusterReplica, type ClusterReplica } from '../units/cluster/su-replica.js';
import { caughtUp } from '../units/cluster/caught-up.js';
import { rebalancer } from '../units/cluster/rebalancer.js';
import { crashPoint } from '../units/cluster/crash-point.js';
import { ClusterMuStore } from '../units/cluster/mu-jobs.js';
import { SharedCu } from '../units/cluster/cu-shared.js';
import { clusterItems } from '../units/cluster/items.js';
import { MU_TAKEOVER, muTakeover } from '../units/cluster/mu-takeover.js';
import { createGateway, itemList, moduleSource, schedulerLocation } from '../units/gateway/index.js';
import { createMu, LmdbMuStore, localCompute, localScheduler as muScheduler, type Mu } from '../units/mu/index.js';
import { createSec, localScheduler, type Sec } from '../units/sec/index.js';
import { createSu, suClient, type Su } from '../units/su/index.js';

export interface RunningNode {
  node: Node;
  root: Pid;
  url: string;
  log: Logger;
  su: Su;
  cu: Cu;
  mu: Mu;
  sec: Sec;
  stop(): Promise<void>;
}

/** A unit's wallet: the configured file, or `<dataDir>/<unit>-wallet.json` (created on first start). */
async function unitWallet(unit: 'su' | 'cu' | 'mu', c: { wallet?: string | undefined; walletKind: 'ed25519' | 'rsa' }, dataDir: string, log: Logger) {
  if (c.wallet) return loadWallet(c.wallet);
  const { wallet, created, path } = await loadOrCreateWallet(dataDir, { kind: c.walletKind, fileName: `${unit}-wallet.json` });
  if (created) log.info({ path, address: wallet.address, kind: wallet.kind }, `created a new ${wallet.kind} ${unit.toUpperCase()} wallet at ${path}`);
  return wallet;
}

/** Starts a node and its supervision tree from a validated config. */
export async function startNode(config: Config, logger?: Logger): Promise<RunningNode> {
  const log = logger ?? createLogger({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });
  const transport = config.nats
    ? new NatsTransport({
        servers: config.nats.servers,
        cluster: config.nats.cluster,
        heartbeatMs: config.nats.heartbeatMs,
        downAfterMs: config.nats.downAfterMs,
        auth: { user: config.nats.user, pass: config.nats.pass, token: config.nats.token, ...(config.nats.tls ? { tls: config.nats.tls } : {}) },
      })
    : undefined;
  const wallet = await unitWallet('su', config.su, config.dataDir, log);
  const muWallet = await unitWallet('mu', config.mu, config.dataDir, log);
  const cuWallet = await unitWallet('cu', config.cu, config.dataDir, log);
  const node = await Node.start({ name: config.nodeName, logger: log, transport });
  // Clustered: one writer per process log, kept by a lease and a replicated stream on NATS.
  let replica: ClusterReplica | undefined;
  if (transport && config.nats) {
    try {
      replica = await clusterReplica(transport.connection, config.nodeName, {
        // A process whose owner membership knows to be down is taken over at once (the log's
        // fence keeps one writer); the lease's ttl matters only for owners up but not renewing.
        lease: { ttlMs: config.nats.leaseTtlMs, replicas: config.nats.replicas, holderDown: (holder) => node.knownDown(holder) },
        log: { replicas: config.nats.replicas, prefix: `${config.nats.cluster}.su`, stream: `${config.nats.cluster.toUpperCase()}_SU_LOG` },
        ids: { cluster: config.nats.cluster, replicas: config.nats.replicas },
      });
    } catch (e) {
      await node.stop();
      throw e;
    }
  }
  const place = replica ? placement(node.name, () => node.members()) : undefined;
  // One LMDB environment per node; each unit keeps its sub-databases in it.
  const store = Store.open(join(config.dataDir, 'lmdb'));
  // The AO-Sec origin's view of who hosts what; the SU refuses processes it no longer hosts.
  const sec = createSec({ store, config: config.sec });
  const su = createSu({
    wallet,
    store,
    signers: config.su.signers ?? (wallet.kind === 'rsa' ? availableParallelism() : 0),
    idleMs: config.su.idleMs,
    maxRun: config.su.maxRun,
    hosting: sec.hosting(wallet.address),
    ...(replica ? { replica } : {}),
  });
  const client = suClient(node, node, SEQUENCERS, config.su.callTimeoutMs, place);
  // Clustered, a process's log reaches this node's LMDB when its sequencer starts here (and
  // catches up from the stream): reads start it first when the stream is ahead.
  const fresh = replica ? caughtUp(su.reader, client, replica.log) : undefined;
  const reader = fresh ? fresh.reader : su.reader;
  let cu: Cu;
  // Clustered: push jobs live in JetStream (this node's LMDB keeps a copy of those it runs).
  let jobs: ClusterMuStore | undefined;
  try {
    // Registers the bundled aos modules (signed by the CU wallet) so that processes can be
    // spawned with no network.
    // Clustered: results and checkpoints are shared through JetStream, so a process's next owner
    // starts from the newest any node made.
    const shared = transport && config.nats ? await SharedCu.open(transport.connection, { cluster: config.nats.cluster, replicas: config.nats.replicas, keep: config.cu.checkpointKeep, log }) : undefined;
    cu = await createCu({ store, wallet: cuWallet, reader, config: config.cu, ...(shared ? { cuStore: (s: Store) => shared.store(s) } : {}) });
    if (transport && config.nats) {
      jobs = await ClusterMuStore.open(transport.connection, node.name, new LmdbMuStore(store), {
        cluster: config.nats.cluster,
        replicas: config.nats.replicas,
        crashAt: config.chaos ? crashPoint(process.env.AOTP_CRASH_AT) : undefined,
      });
      // Before the MU resumes its jobs: JetStream's, not this disk's (lost, or taken over meanwhile).
      const n = await jobs.hydrate();
      if (n) log.info({ jobs: n }, 'reloaded this node\'s open push jobs from JetStream');
    }
  } catch (e) {
    await su.close();
    await store.close();
    await node.stop();
    throw e;
  }
  const release = async () => {
    await cu.close();
    await su.close();
    await store.close();
  };
  let url = '';
  sec.schedulers.add(localScheduler(su, client, () => (url ? `${url}/su` : undefined)));
  const cuApi = cu.api(node);
  const localSu = muScheduler(su.reader, client, su.address);
  // What this node answers about the processes it owns (to itself and, as `svc/su`, to others).
  const ownSu: SuService | undefined = fresh
    ? {
        ...fresh.reads,
        // Any node answers a spawn's tags: from its LMDB, or the stream's slot 0 (never "not
        // found" for a process whose owner is still taking it over).
        processTags: async (pid) => {
          const spawn = await fresh.spawn(pid);
          return spawn ? parseDataItem(spawn).tags : undefined;
        },
      }
    : undefined;
  const routedSu = place && ownSu && replica ? routedSuService(ownSu, node, place, config.su.callTimeoutMs, replica.ids) : undefined;
  const suService = routedSu ?? localSu;
  const cuRoutesApi = place ? routedCuApi(cuApi, node, place, Math.max(config.cu.resultWaitMs, 60_000) + 5_000) : cuApi;
  const mu = createMu({
    store,
    wallet: muWallet,
    scheduler: { ...localSu, processTags: (processId) => suService.processTags(processId) },
    compute: localCompute(cuRoutesApi, config.cu.resultWaitMs),
    config: config.mu,
    ...(jobs ? { jobs } : {}),
  });
  // The gateway answers what aoconnect looks up before a spawn (the module's tags, the SU's
  // Scheduler-Location record) from what this node holds.
  const locations = itemList();
  // Clustered: the items a request names are fetched from the cluster first (units/cluster/items.ts).
  const fetched =
    fresh && routedSu
      ? clusterItems({
          known: (id) => su.store.item(id) !== undefined || cu.modules.raw(id) !== undefined || locations.item(id) !== undefined,
          fetch: async (id) => (await fresh.spawn(id)) ?? (await routedSu.find(id))?.message ?? undefined,
        })
      : undefined;
  const gateway = createGateway({ sources: [su.store, moduleSource(cu.modules), locations, ...(fetched ? [fetched.source] : [])], ...(fetched ? { prefetch: fetched.prefetch } : {}) });
  const tree = nodeTree({
    http: {
      host: config.host,
      port: config.port,
      onListening: (u) => {
        url = u;
        // Signed again on every (re)bind; the newest record wins.
        void schedulerLocation(wallet, `${u}/su`).then((item) => locations.add(item));
      },
    },
    plugins: [
      {
        prefix: '/',
        plugin: nodeRoutes(node, (base) => ({
          mu: `${base}/mu`,
          cu: `${base}/cu`,
          su: `${base}/su`,
          graphql: `${base}/graphql`,
          addresses: { mu: mu.address, su: su.address, cu: cu.address },
          modules: cu.modules.bundled(),
          bus: config.nats ? 'nats' : 'local',
        })),
      },
      { prefix: '/graphql', plugin: gateway.routes() },
      { prefix: '/', plugin: gateway.rawRoutes() },
      { prefix: '/mu', plugin: mu.routes(mu.api(node, node)) },
      { prefix: '/su', plugin: su.routes(client, routedSu) },
      { prefix: '/cu', plugin: cu.routes(cuRoutesApi) },
      { prefix: '/sec', plugin: sec.routes(node) },
    ],
    shutdownMs: config.shutdownMs,
    node,
    chaos: config.chaos,
    units: [
      // Clustered: what other nodes ask of this node's SU and CU about the processes it owns.
      ...(place
        ? [
            { id: 'su-service', start: { behaviour: service, args: { impl: ownSu, methods: SU_SERVICE_METHODS }, options: { name: SU_SERVICE } } },
            { id: 'cu-service', start: { behaviour: service, args: { impl: cuApi, methods: ['result', 'results', 'dryRun', 'state', 'cron'] }, options: { name: CU_SERVICE } } },
          ]
        : []),
      suTree(su.runtime, {
        intensity: config.su.restartIntensity,
        period: config.su.restartPeriod,
        shutdownMs: config.shutdownMs,
      }),
      cuTree(cu.runtime, {
        names: node,
        intensity: config.cu.restartIntensity,
        period: config.cu.restartPeriod,
        shutdownMs: config.shutdownMs,
      }),
      muTree(mu.runtime, {
        intensity: config.mu.restartIntensity,
        period: config.mu.restartPeriod,
        shutdownMs: config.shutdownMs,
        cronPollMs: config.mu.cronPollMs,
      }),
      ...(place
        ? [
            {
              id: 'rebalancer',
              start: {
                behaviour: rebalancer,
                args: {
                  placement: place,
                  supervisor: SEQUENCERS,
                  everyMs: config.nats!.heartbeatMs * 2,
                  sequencers: () =>
                    node
                      .actors()
                      .filter((a) => a.name?.startsWith('su/'))
                      .map((a) => ({ processId: a.name!.slice(3), pid: a.pid })),
                },
                options: { name: 'cluster/rebalancer' },
              },
            },
          ]
        : []),
      // After the MU's subtree: it starts the jobs it takes over under the MU's job supervisor.
      ...(jobs
        ? [
            {
              id: 'mu-takeover',
              start: {
                behaviour: muTakeover,
                args: {
                  store: jobs,
                  self: node.name,
                  members: () => node.members(),
                  knownDown: (n: string) => node.knownDown(n),
                  everyMs: config.nats!.heartbeatMs,
                  scanEveryMs: 10_000,
                },
                options: { name: MU_TAKEOVER },
              },
            },
          ]
        : []),
      secTree(
        sec.originArgs((processId, message) => cu.api(node).dryRun(processId, message)),
        { intensity: config.sec.restartIntensity, period: config.sec.restartPeriod, shutdownMs: config.shutdownMs },
      ),
    ],
  });
  const started = await node.spawn(supervisorSpec(tree), { name: 'root' });
  if (!('ok' in started)) {
    await node.stop();
    await release();
    throw new Error(`node failed to start: ${JSON.stringify(started)}`);
  }
  return {
    node,
    root: started.ok,
    url,
    log,
    su,
    cu,
    mu,
    sec,
    stop: async () => {
      await node.stop(config.shutdownMs * 2);
      await release();
    },
  };
}
