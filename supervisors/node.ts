/**
 * The node, declared: its units (SU, CU, MU, AO-Sec, network, gateway), the services other
 * nodes call, the rebalancer and the root supervision tree, from the config and the resources
 * the caller brings (the running Node, the LMDB, the wallets; clustered, the replicated log and
 * the NATS connection; the clock). `aotp start` (cli/start.ts) and the simulation (sim/node.ts)
 * both build their node here: they differ only in the resources they bring, so the simulation
 * runs the node `aotp start` runs.
 */
import { availableParallelism } from 'node:os';
import type { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { resourceOwner, service, type Clock, type ResourceArgs, type Logger, type Node, type SupervisorSpec } from '../runtime/index.js';
import type { Store } from '../runtime/store.js';
import { ownerAddress, parseDataItem, type Wallet } from '../units/ans104/index.js';
import { caughtUp } from '../units/cluster/caught-up.js';
import { SharedCu } from '../units/cluster/cu-shared.js';
import { clusterItems } from '../units/cluster/items.js';
import { ClusterMuStore } from '../units/cluster/mu-jobs.js';
import { MU_TAKEOVER, muTakeover } from '../units/cluster/mu-takeover.js';
import { rebalancer } from '../units/cluster/rebalancer.js';
import { CU_METHODS, CU_SERVICE, placement, routedCuApi, routedSuService, SU_SERVICE, SU_SERVICE_METHODS, type SuService } from '../units/cluster/routing.js';
import type { ClusterReplica } from '../units/cluster/su-replica.js';
import { createCu, type Cu, type CuOptions } from '../units/cu/index.js';
import { createGateway, itemList, logSource, moduleSource, schedulerLocation } from '../units/gateway/index.js';
import { infoRoutes } from '../units/gateway/info.js';
import { uploadRoutes, Uploads } from '../units/gateway/uploads.js';
import { Health } from '../units/http/health.js';
import type { HttpApp } from '../units/http/http-server.js';
import { instrumentUnits, observedReplica } from '../units/http/instrument.js';
import type { NodeMetrics } from '../units/http/metrics.js';
import { nodeRoutes } from '../units/http/node-routes.js';
import { readinessChecks } from '../units/http/readiness.js';
import { responseBudget } from '../units/http/response-budget.js';
import { assignJobId, createMu, isTerminal, LmdbMuStore, localCompute, localScheduler as muScheduler, type Mu } from '../units/mu/index.js';
import { createNetwork, PublishedLog } from '../units/network/index.js';
import { aoView } from '../units/observer/ao-view.js';
import { observerRoutes } from '../units/observer/routes.js';
import { createSec, localScheduler, recomputeWith, type Sec } from '../units/sec/index.js';
import { createSu, suClient, type Su } from '../units/su/index.js';
import { cuTree } from './cu.js';
import { muTree } from './mu.js';
import { nodeTree } from './node-tree.js';
import { parsePolicy, policyDiff, policyOf, withPolicy, type NodePolicy } from './policy.js';
import { secTree } from './sec.js';
import { SEQUENCERS, suTree } from './su.js';

/** What a node is built from, besides its config. */
export interface NodeResources {
  node: Node;
  /** The node's LMDB environment: each unit keeps its sub-databases in it. */
  store: Store;
  wallets: { su: Wallet; mu: Wallet; cu: Wallet };
  log: Logger;
  /** Clustered: one writer per process log (a lease and a replicated stream on NATS). */
  cluster?: {
    replica: ClusterReplica;
    nc: NatsConnection;
    /** The cluster's name (its buckets' and streams' prefix). */
    name: string;
    /** Replicas of the cluster's streams and buckets. */
    replicas: number;
    heartbeatMs: number;
    /** Chaos tests: where the MU's job store crashes the process (units/cluster/crash-point.ts). */
    crashAt?: (point: string) => void;
  };
  /** Wall clock (unix ms) and timers; default the process's. */
  now?: () => number;
  clock?: Clock;
  /** When the node started (unix ms); default now. */
  startedAt?: number;
  /** How the CU evaluates and compiles (default: worker threads, WebAssembly.compile) and which bundled modules it registers. */
  cu?: Pick<CuOptions, 'evaluators' | 'compile' | 'bundledModules'>;
  /**
   * No socket: the routes are handed to `onApp` and the node is at `url` (the simulation);
   * default, a listener on config.host:port.
   */
  unbound?: { url: string; onApp: (app: HttpApp) => void };
  /** Fed from the units and served at /metrics; absent, /metrics is empty. */
  metrics?: NodeMetrics;
  /** What /info says the bus is; default `nats` or `local`, by the config. */
  bus?: string;
}

/** The node, built: its tree to start under `root`, and the handles its runner needs. */
export interface ComposedNode {
  /** The root supervision tree (policy reloads rebuild it from the config: see `reloader`). */
  tree: SupervisorSpec;
  su: Su;
  cu: Cu;
  mu: Mu;
  sec: Sec;
  health: Health;
  /** `stopping` once a stop began: readiness fails, new work (POST) is answered 503. */
  lifecycle: { stopping: boolean };
  /** The listener's URL once bound ('' before). */
  url(): string;
  /** Closes what the units hold outside the tree (evaluators, signing threads); the store is the caller's. */
  close(): Promise<void>;
}

export async function composeNode(config: Config, r: NodeResources): Promise<ComposedNode> {
  const { node, store, wallets, log, cluster, metrics } = r;
  const now = r.now ?? Date.now;
  const startedAt = r.startedAt ?? now();
  const lifecycle = { stopping: false };
  const replica = cluster?.replica;
  const wallet = wallets.su;
  const place = replica ? placement(node.name, () => node.members()) : undefined;
  const timing = { ...(r.now ? { now: r.now } : {}) };
  // The AO-Sec origin's view of who hosts what; the SU refuses processes it no longer hosts.
  const sec = createSec({ store, config: config.sec, ...timing });
  // The network's block height (from its gateway's /info, network/block-height.ts); 0 without one.
  const height = { current: 0 };
  let fetchItem: (id: string) => Promise<Uint8Array | undefined> = async () => undefined;
  const su = createSu({
    wallet,
    store,
    blockHeight: () => height.current,
    signers: config.su.signers ?? (wallet.kind === 'rsa' ? availableParallelism() : 0),
    idleMs: config.su.idleMs,
    maxRun: config.su.maxRun,
    pageBytes: config.su.pageBytes,
    hosting: sec.hosting(wallet.address),
    ...timing,
    ...(replica ? { replica: metrics ? observedReplica(replica, metrics, log) : replica } : {}),
    // Clustered: an assignment of a message another node's log holds fetches it from there.
    ...(replica ? { fetchItem: (id: string) => fetchItem(id) } : {}),
  });
  const client = suClient(node, node, SEQUENCERS, config.su.callTimeoutMs, place);
  // Clustered, a process's log reaches this node's LMDB when its sequencer starts here (and
  // catches up from the stream): reads start it first when the stream is ahead.
  const fresh = replica ? caughtUp(su.reader, client, replica.log) : undefined;
  const localReader = fresh ? fresh.reader : su.reader;
  // Other operators' nodes: found through a gateway (another node's, or this one's when it
  // serves uploads); absent, the node keeps to itself.
  const uploads = config.network.acceptUploads ? new Uploads(store) : undefined;
  let ownGateway: ReturnType<typeof createGateway> | undefined;
  const network = createNetwork({
    config: config.network,
    localGraphQL: (request) => ownGateway!.graphql(request),
    ...(uploads ? { localUpload: async (raw: Uint8Array) => void (await uploads.add(raw)) } : {}),
  });
  const reader = network ? network.reader(localReader, su.address) : localReader;
  let cu: Cu;
  // Clustered: push jobs live in JetStream (this node's LMDB keeps a copy of those it runs).
  let jobs: ClusterMuStore | undefined;
  try {
    // The gateway finds processes by owner and tag through this index (built once for older logs).
    await su.indexProcesses();
    // Clustered: results and checkpoints are shared through JetStream, so a process's next owner
    // starts from the newest any node made.
    const shared = cluster
      ? await SharedCu.open(cluster.nc, { cluster: cluster.name, replicas: cluster.replicas, keep: config.cu.checkpointKeep, log, ...(r.clock ? { clock: r.clock } : {}) })
      : undefined;
    // Modules are fetched from the network's gateway when the CU names none of its own.
    const cuConfig = config.cu.gateway || !config.network.gateway ? config.cu : { ...config.cu, gateway: config.network.gateway };
    // Registers the bundled aos modules (signed by the CU wallet) so that processes can be
    // spawned with no network.
    cu = await createCu({
      ...r.cu,
      store,
      wallet: wallets.cu,
      reader,
      config: cuConfig,
      ...timing,
      ...(r.clock ? { clock: r.clock } : {}),
      ...(shared ? { cuStore: (s: Store) => shared.store(s) } : {}),
    });
    if (cluster) {
      jobs = await ClusterMuStore.open(cluster.nc, node.name, new LmdbMuStore(store), {
        cluster: cluster.name,
        replicas: cluster.replicas,
        ...(cluster.crashAt ? { crashAt: cluster.crashAt } : {}),
        ...(r.clock ? { clock: r.clock } : {}),
      });
      // Before the MU resumes its jobs: JetStream's, not this disk's (lost, or taken over meanwhile).
      const n = await jobs.hydrate();
      if (n) log.info({ jobs: n }, "reloaded this node's open push jobs from JetStream");
    }
  } catch (e) {
    await su.close();
    throw e;
  }
  let bound = r.unbound?.url ?? '';
  // What clients are told to use: the configured public URL, else http://<host>:<bound port>.
  const publicUrl = () =>
    config.publicUrl ?? r.unbound?.url ?? (bound ? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${new URL(bound).port}` : '');
  const suUrl = () => (bound ? `${publicUrl()}/su` : undefined);
  sec.schedulers.add(localScheduler(su, client, suUrl));
  // A result asked for before the SU has assigned the message is waited for only when this
  // node's MU has accepted it (its push job has no slot yet); any other unknown message is a 404 at once.
  let inFlight: (processId: string, messageId: string) => boolean = () => false;
  const cuApi = cu.api(node, { pending: (p, m) => inFlight(p, m) });
  const localSu = muScheduler(su.reader, client, su.address);
  // What this node answers about the processes it owns (to itself and, as `svc/su`, to others).
  const ownSu: SuService | undefined = fresh
    ? {
        ...fresh.reads,
        // Any node answers a spawn's tags and owner: from its LMDB, or the stream's slot 0
        // (never "not found" for a process whose owner is still taking it over).
        processTags: async (pid) => {
          const spawn = await fresh.spawn(pid);
          return spawn ? parseDataItem(spawn).tags : undefined;
        },
        processOwner: async (pid) => {
          const spawn = await fresh.spawn(pid);
          return spawn ? ownerAddress(parseDataItem(spawn)) : undefined;
        },
      }
    : undefined;
  const routedSu = place && ownSu && replica ? routedSuService(ownSu, node, place, config.su.callTimeoutMs, replica.ids) : undefined;
  const suService = routedSu ?? localSu;
  if (routedSu) fetchItem = async (id) => (await routedSu.find(id))?.message ?? undefined;
  const cuRoutesApi = place ? routedCuApi(cuApi, node, place, Math.max(config.cu.resultWaitMs, 60_000) + 5_000) : cuApi;
  const nodeScheduler = {
    ...localSu,
    processTags: (processId: string) => suService.processTags(processId),
    processOwner: (processId: string) => suService.processOwner(processId),
  };
  const mu = createMu({
    store,
    wallet: wallets.mu,
    scheduler: network ? network.scheduler(nodeScheduler) : nodeScheduler,
    ...(network ? { publish: network.upload } : {}),
    compute: localCompute(cuRoutesApi, config.cu.resultWaitMs, cu.modules),
    config: config.mu,
    ...timing,
    ...(jobs ? { jobs } : {}),
  });
  inFlight = (processId, messageId) => {
    const job = mu.store.job(messageId) ?? mu.store.job(assignJobId(messageId, processId));
    return job !== undefined && job.processId === processId && job.slot === undefined && !isTerminal(job);
  };
  // The gateway answers what aoconnect looks up before a spawn (the module's tags, the SU's
  // Scheduler-Location record) from what this node holds.
  const locations = itemList();
  const held = (id: string) => su.log.item(id) !== undefined || cu.modules.raw(id) !== undefined || locations.item(id) !== undefined || uploads?.item(id) !== undefined;
  // Clustered: the items a request names are fetched from the cluster first (units/cluster/items.ts).
  const fetched =
    fresh && routedSu
      ? clusterItems({
          known: held,
          fetch: async (id) => (await fresh.spawn(id)) ?? (await routedSu.find(id))?.message ?? undefined,
        })
      : undefined;
  // A module the CU can load (from cu.modulesDir or cu.gateway) is answered for too, once loaded.
  const prefetch = async (ids: string[]) => {
    await Promise.all([fetched?.prefetch(ids), cu.modules.prefetch(ids, held)]);
  };
  const gateway = createGateway({ sources: [logSource(su.log), moduleSource(cu.modules), locations, ...(uploads ? [uploads] : []), ...(fetched ? [fetched.source] : [])], prefetch });
  ownGateway = gateway;
  const heightReader = network?.blockHeightChild((h) => (height.current = Math.max(height.current, h)));
  // With a bundler named, every assignment and its message go up too, bundled; the SU's pages say how far.
  const publishedLog = network && config.network.bundler ? new PublishedLog(store) : undefined;
  const logPublisher = publishedLog ? network!.logPublisherChild({ wallet, log: su.log, published: publishedLog }) : undefined;
  const published = publishedLog
    ? (processId: string) => {
        const head = su.log.process(processId);
        return head ? publishedLog.status(processId, head.nextSlot) : undefined;
      }
    : undefined;
  if (metrics) instrumentUnits({ su, cu, mu }, metrics);
  const ao = aoView({ node, su: su.log, mu, ...(place ? { owner: place.owner } : {}), ...(published ? { published } : {}) });
  metrics?.withAo(ao);
  const health = new Health(readinessChecks({ node, store, ...(cluster ? { nc: cluster.nc, stream: cluster.replica.log.stream } : {}), lifecycle }));
  const registry = metrics?.registry;
  // The tree as a function of the config, so that `aotp reload` can apply a new supervision
  // policy to it live (node/policy builds the tree for the new policy and changes it in place).
  const treeOf = (config: Config): SupervisorSpec =>
    nodeTree({
      http: {
        host: config.host,
        port: config.port,
        // A lame duck takes no new work; reads still answer (routed to the new owners).
        refuse: (method) => (lifecycle.stopping && method === 'POST' ? `node ${config.nodeName} is stopping: send new work to another node` : undefined),
        ...(r.unbound
          ? { listen: false as const, onApp: r.unbound.onApp }
          : {
              onListening: (u: string) => {
                bound = u;
                // Signed again on every (re)bind; the newest record wins.
                void schedulerLocation(wallet, `${publicUrl()}/su`).then((item) => locations.add(item));
              },
            }),
      },
      plugins: [
        // First: its hook counts the responses of every route below.
        { prefix: '/', plugin: responseBudget(config.responseBytesInFlight).plugin },
        {
          prefix: '/',
          plugin: nodeRoutes({
            node,
            health,
            metrics: registry ?? new Registry(),
            startedAt,
            info: () => ({
              url: publicUrl(),
              mu: `${publicUrl()}/mu`,
              cu: `${publicUrl()}/cu`,
              su: `${publicUrl()}/su`,
              graphql: `${publicUrl()}/graphql`,
              addresses: { mu: mu.address, su: su.address, cu: cu.address },
              modules: cu.modules.bundled(),
              bus: r.bus ?? (config.nats ? 'nats' : 'local'),
            }),
          }),
        },
        { prefix: '/observer', plugin: observerRoutes({ node }) },
        { prefix: '/graphql', plugin: gateway.routes() },
        { prefix: '/', plugin: gateway.rawRoutes() },
        ...(uploads ? [{ prefix: '/', plugin: uploadRoutes(uploads) }] : []),
        { prefix: '/', plugin: infoRoutes(() => height.current) },
        { prefix: '/mu', plugin: mu.routes(mu.api(node, node)) },
        { prefix: '/su', plugin: su.routes(client, routedSu, published) },
        { prefix: '/cu', plugin: cu.routes(cuRoutesApi) },
        { prefix: '/sec', plugin: sec.routes(node) },
      ],
      shutdownMs: config.shutdownMs,
      node,
      chaos: config.chaos,
      describe: ao,
      resources: [
        {
          id: 'lmdb',
          start: { behaviour: resourceOwner, args: { resource: 'the LMDB environment', alive: () => !store.closed, close: () => store.close() } satisfies ResourceArgs },
          shutdown: config.shutdownMs,
        },
        ...(cluster
          ? [
              {
                id: 'nats',
                // Closed for good (nats.js reconnects forever otherwise): the node cannot be a member any more.
                start: { behaviour: resourceOwner, args: { resource: 'the NATS connection', alive: () => !cluster.nc.isClosed(), failed: () => cluster.nc.closed() } satisfies ResourceArgs },
              },
            ]
          : []),
      ],
      reloader: { root: 'root', current: policyOf(config), parse: parsePolicy, tree: (p: NodePolicy) => treeOf(withPolicy(config, p)), diff: policyDiff },
      units: [
        // Clustered: what other nodes ask of this node's SU and CU about the processes it owns.
        ...(place
          ? [
              { id: 'su-service', start: { behaviour: service, args: { impl: ownSu, methods: SU_SERVICE_METHODS }, options: { name: SU_SERVICE } } },
              { id: 'cu-service', start: { behaviour: service, args: { impl: cuApi, methods: [...CU_METHODS] }, options: { name: CU_SERVICE } } },
            ]
          : []),
        suTree(su.sequencers, { intensity: config.su.restartIntensity, period: config.su.restartPeriod, shutdownMs: config.shutdownMs }),
        cuTree(cu.runtime, { names: node, intensity: config.cu.restartIntensity, period: config.cu.restartPeriod, shutdownMs: config.shutdownMs }),
        muTree(mu.runtime, {
          intensity: config.mu.restartIntensity,
          period: config.mu.restartPeriod,
          shutdownMs: config.shutdownMs,
          cronPollMs: config.mu.cronPollMs,
        }),
        ...(place && cluster
          ? [
              {
                id: 'rebalancer',
                start: {
                  behaviour: rebalancer,
                  args: {
                    placement: place,
                    supervisor: SEQUENCERS,
                    everyMs: cluster.heartbeatMs * 2,
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
        ...(jobs && cluster
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
                    everyMs: cluster.heartbeatMs,
                    scanEveryMs: 10_000,
                  },
                  options: { name: MU_TAKEOVER },
                },
              },
            ]
          : []),
        ...(heightReader ? [heightReader] : []),
        // After the SU's subtree: it publishes what that SU hosts.
        ...(network
          ? [
              network.publisherChild({
                url: suUrl,
                wallet,
                spawns: () => su.log.processIds({}, true),
                spawn: (id) => su.log.item(id),
                store,
                signed: (item) => locations.add(item),
              }),
            ]
          : []),
        ...(logPublisher ? [logPublisher] : []),
        secTree(
          sec.originArgs((processId, message) => cu.api(node).dryRun(processId, message), recomputeWith(cuRoutesApi, config.cu.resultWaitMs)),
          { intensity: config.sec.restartIntensity, period: config.sec.restartPeriod, shutdownMs: config.shutdownMs },
        ),
      ],
    });
  return {
    tree: treeOf(config),
    su,
    cu,
    mu,
    sec,
    health,
    lifecycle,
    url: () => bound,
    close: async () => {
      await cu.close();
      await su.close();
    },
  };
}
