import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { Config } from '../config/schema.js';
import { DuplicateNode, formatReason, isDownMessage, NatsTransport, Node, service, supervisorSpec, type DownMessage, type ExitReason, type Pid, type SupervisorSpec } from '../runtime/index.js';
import { checkDataDir, checkDataDirIdentity, checkModulesDir, checkPort, ensureWallets, knownWallets, StartError, writeDataDirIdentity } from './preflight.js';
import { claimClusterIdentity, clusterChecks, identityMismatch } from './cluster-identity.js';
import { parsePolicy, policyDiff, policyOf, withPolicy, type NodePolicy } from '../supervisors/policy.js';
import { Store } from '../runtime/store.js';
import { cuTree } from '../supervisors/cu.js';
import { muTree } from '../supervisors/mu.js';
import { nodeTree } from '../supervisors/node-tree.js';
import { secTree } from '../supervisors/sec.js';
import { SEQUENCERS, suTree } from '../supervisors/su.js';
import { ownerAddress, parseDataItem } from '../units/ans104/index.js';
import { nodeRoutes } from '../units/http/node-routes.js';
import { Health, type HealthCheck } from '../units/http/health.js';
import { NodeMetrics } from '../units/http/metrics.js';
import { responseBudget } from '../units/http/response-budget.js';
import { instrumentUnits, logNatsStatus, observedReplica } from './instrument.js';
import { aoView } from '../units/observer/ao-view.js';
import { observerRoutes } from '../units/observer/routes.js';
import { createCu, type Cu } from '../units/cu/index.js';
import { CU_METHODS, CU_SERVICE, placement, routedCuApi, routedSuService, SU_SERVICE, SU_SERVICE_METHODS, type SuService } from '../units/cluster/routing.js';
import { clusterReplica, type ClusterReplica } from '../units/cluster/su-replica.js';
import { isTransient } from '../units/cluster/retry.js';
import { caughtUp } from '../units/cluster/caught-up.js';
import { rebalancer } from '../units/cluster/rebalancer.js';
import { crashPoint } from '../units/cluster/crash-point.js';
import { ClusterMuStore } from '../units/cluster/mu-jobs.js';
import { SharedCu } from '../units/cluster/cu-shared.js';
import { clusterItems } from '../units/cluster/items.js';
import { MU_TAKEOVER, muTakeover } from '../units/cluster/mu-takeover.js';
import { createGateway, itemList, logSource, moduleSource, schedulerLocation } from '../units/gateway/index.js';
import { assignJobId, createMu, isTerminal, LmdbMuStore, localCompute, localScheduler as muScheduler, type Mu } from '../units/mu/index.js';
import { createSec, localScheduler, recomputeWith, type Sec } from '../units/sec/index.js';
import { createSu, suClient, type Su } from '../units/su/index.js';
import { createNetwork, PublishedLog } from '../units/network/index.js';
import { uploadRoutes, Uploads } from '../units/gateway/uploads.js';
import { infoRoutes } from '../units/gateway/info.js';

export interface RunningNode {
  node: Node;
  /** The node's LMDB environment. */
  store: Store;
  health: Health;
  /** `stopping` once a stop began: readiness fails, new work (POST) is answered 503. */
  lifecycle: { stopping: boolean };
  /** On NATS, with other nodes to take its work over. */
  clustered: boolean;
  root: Pid;
  /** Resolves with the root supervisor's exit reason if it ever exits. */
  exited: Promise<ExitReason>;
  url: string;
  log: Logger;
  su: Su;
  cu: Cu;
  mu: Mu;
  sec: Sec;
  stop(): Promise<void>;
}

/** Starts a node and its supervision tree from a validated config. */
export async function startNode(config: Config, logger?: Logger): Promise<RunningNode> {
  const log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const startedAt = Date.now();
  const lifecycle = { stopping: false };
  // Checks first: nothing (data dir, wallet, stream, bucket) is created until they pass.
  checkDataDir(config.dataDir);
  checkModulesDir(config.cu.modulesDir);
  await checkPort(config.host, config.port);
  const dataDirIdentity = checkDataDirIdentity(config);
  const known = await knownWallets(config);
  const transport = config.nats
    ? new NatsTransport({
        servers: config.nats.servers,
        cluster: config.nats.cluster,
        heartbeatMs: config.nats.heartbeatMs,
        downAfterMs: config.nats.downAfterMs,
        auth: { user: config.nats.user, pass: config.nats.pass, token: config.nats.token, ...(config.nats.tls ? { tls: config.nats.tls } : {}) },
        // Not a member (nothing is placed here) until every check has passed.
        observer: true,
        uniqueNameWaitMs: 500,
      })
    : undefined;
  const node = await Node.start({ name: config.nodeName, logger: log, transport }).catch((e: Error & { code?: string }) => {
    if (e instanceof DuplicateNode) throw new StartError(e.message);
    // The first connection to NATS failed (nobody there, credentials, TLS): a start error, exit 2.
    if (transport) throw Object.assign(new StartError(`${e.message.split('\n')[0]} (check nats.servers / --nats, and that nats-server runs there)`), { code: e.code });
    throw e;
  });
  // Clustered: one writer per process log, kept by a lease and a replicated stream on NATS.
  let replica: ClusterReplica | undefined;
  /** Replicas of the cluster's streams and buckets (as the servers allow: see clusterChecks). */
  let replicas = config.nats?.replicas ?? 3;
  let wallets: Awaited<ReturnType<typeof ensureWallets>>;
  try {
    const addresses = Object.fromEntries(Object.entries(known).map(([u, w]) => [u, w.wallet.address]));
    const files = Object.fromEntries(Object.entries(known).map(([u, w]) => [u, w.path]));
    const checked = transport && config.nats
      ? await clusterChecks(transport.connection, { cluster: config.nats.cluster, servers: config.nats.servers, replicas: config.nats.replicas, addresses, files })
      : undefined;
    mkdirSync(config.dataDir, { recursive: true });
    wallets = await ensureWallets(config, known, (unit, wallet, path) =>
      log.info({ path, address: wallet.address, kind: wallet.kind }, `created a new ${wallet.kind} ${unit.toUpperCase()} wallet at ${path}`),
    );
    writeDataDirIdentity(config.dataDir, dataDirIdentity);
    if (transport && config.nats && checked) {
      replicas = checked.replicas;
      const mine = { su: wallets.su.address, mu: wallets.mu.address, cu: wallets.cu.address };
      if (!checked.identity) {
        const recorded = await claimClusterIdentity(transport.connection, { cluster: config.nats.cluster, addresses: mine, by: config.nodeName, at: Date.now(), replicas: checked.replicas }, checked.replicas);
        const bad = identityMismatch(recorded, mine, files);
        if (bad) throw new StartError(bad);
        // Nodes started together: the one that recorded first chose the replicas.
        replicas = recorded.replicas ?? replicas;
      }
      replica = await clusterReplica(transport.connection, config.nodeName, {
        // A process whose owner membership knows to be down is taken over at once (the log's
        // fence keeps one writer); the lease's ttl matters only for owners up but not renewing.
        lease: { ttlMs: config.nats.leaseTtlMs, replicas, holderDown: (holder) => node.knownDown(holder) },
        log: { replicas, prefix: `${config.nats.cluster}.su`, stream: `${config.nats.cluster.toUpperCase()}_SU_LOG` },
        ids: { cluster: config.nats.cluster, replicas },
      });
      node.setDraining(false);
      void logNatsStatus(transport.connection, log);
    }
  } catch (e) {
    await node.stop();
    // JetStream still not answering after the retries (no leader, servers without -js).
    if (isTransient(e)) throw new StartError(`JetStream did not answer (${(e as Error).message}): check that the NATS servers run with -js and, clustered, that a majority of them are up`);
    throw e;
  }
  const wallet = wallets.su;
  const muWallet = wallets.mu;
  const cuWallet = wallets.cu;
  const place = replica ? placement(node.name, () => node.members()) : undefined;
  const metrics = new NodeMetrics({ node, clustered: replica !== undefined });
  // One LMDB environment per node; each unit keeps its sub-databases in it.
  const store = Store.open(join(config.dataDir, 'lmdb'));
  // The AO-Sec origin's view of who hosts what; the SU refuses processes it no longer hosts.
  const sec = createSec({ store, config: config.sec });
  // The network's block height (from its gateway's /info, network/block-height.ts); 0 without one.
  const height = { current: 0 };
  const su = createSu({
    wallet,
    store,
    blockHeight: () => height.current,
    signers: config.su.signers ?? (wallet.kind === 'rsa' ? availableParallelism() : 0),
    idleMs: config.su.idleMs,
    maxRun: config.su.maxRun,
    pageBytes: config.su.pageBytes,
    hosting: sec.hosting(wallet.address),
    ...(replica ? { replica: observedReplica(replica, metrics, log) } : {}),
    // Clustered: an assignment of a message another node's log holds fetches it from there.
    ...(replica ? { fetchItem: (id: string) => fetchItem(id) } : {}),
  });
  let fetchItem: (id: string) => Promise<Uint8Array | undefined> = async () => undefined;
  const client = suClient(node, node, SEQUENCERS, config.su.callTimeoutMs, place);
  // Clustered, a process's log reaches this node's LMDB when its sequencer starts here (and
  // catches up from the stream): reads start it first when the stream is ahead.
  const fresh = replica ? caughtUp(su.reader, client, replica.log) : undefined;
  const localReader = fresh ? fresh.reader : su.reader;
  // Other operators' nodes: found through a gateway (another node's, or this one's when it
  // serves uploads); absent, the node keeps to itself as before.
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
    // Registers the bundled aos modules (signed by the CU wallet) so that processes can be
    // spawned with no network.
    // Clustered: results and checkpoints are shared through JetStream, so a process's next owner
    // starts from the newest any node made.
    const shared = transport && config.nats ? await SharedCu.open(transport.connection, { cluster: config.nats.cluster, replicas, keep: config.cu.checkpointKeep, log }) : undefined;
    // Modules are fetched from the network's gateway when the CU names none of its own.
    const cuConfig = config.cu.gateway || !config.network.gateway ? config.cu : { ...config.cu, gateway: config.network.gateway };
    cu = await createCu({ store, wallet: cuWallet, reader, config: cuConfig, ...(shared ? { cuStore: (s: Store) => shared.store(s) } : {}) });
    if (transport && config.nats) {
      jobs = await ClusterMuStore.open(transport.connection, node.name, new LmdbMuStore(store), {
        cluster: config.nats.cluster,
        replicas,
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
  // What clients are told to use: the configured public URL, else http://<host>:<bound port>.
  const publicUrl = () => config.publicUrl ?? (url ? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${new URL(url).port}` : '');
  sec.schedulers.add(localScheduler(su, client, () => (url ? `${publicUrl()}/su` : undefined)));
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
    wallet: muWallet,
    scheduler: network ? network.scheduler(nodeScheduler) : nodeScheduler,
    ...(network ? { publish: network.upload } : {}),
    compute: localCompute(cuRoutesApi, config.cu.resultWaitMs, cu.modules),
    config: config.mu,
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
  instrumentUnits({ su, cu, mu }, metrics);
  const ao = aoView({ node, su: su.log, mu, ...(place ? { owner: place.owner } : {}), ...(published ? { published } : {}) });
  metrics.withAo(ao);
  const health = new Health(readinessChecks({ node, store, transport, stream: replica?.log.stream, lifecycle }));
  // The tree as a function of the config, so that `aotp reload` can apply a new supervision
  // policy to it live (node/policy builds the tree for the new policy and changes it in place).
  const treeOf = (config: Config): SupervisorSpec => nodeTree({
    http: {
      host: config.host,
      port: config.port,
      // A lame duck takes no new work; reads still answer (routed to the new owners).
      refuse: (method) => (lifecycle.stopping && method === 'POST' ? `node ${config.nodeName} is stopping: send new work to another node` : undefined),
      onListening: (u) => {
        url = u;
        // Signed again on every (re)bind; the newest record wins.
        void schedulerLocation(wallet, `${publicUrl()}/su`).then((item) => locations.add(item));
      },
    },
    plugins: [
      // First: its hook counts the responses of every route below.
      { prefix: '/', plugin: responseBudget(config.responseBytesInFlight).plugin },
      {
        prefix: '/',
        plugin: nodeRoutes({
          node,
          health,
          metrics: metrics.registry,
          startedAt,
          info: () => ({
            url: publicUrl(),
            mu: `${publicUrl()}/mu`,
            cu: `${publicUrl()}/cu`,
            su: `${publicUrl()}/su`,
            graphql: `${publicUrl()}/graphql`,
            addresses: { mu: mu.address, su: su.address, cu: cu.address },
            modules: cu.modules.bundled(),
            bus: config.nats ? 'nats' : 'local',
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
    reloader: { root: 'root', current: policyOf(config), parse: parsePolicy, tree: (p: NodePolicy) => treeOf(withPolicy(config, p)), diff: policyDiff },
    units: [
      // Clustered: what other nodes ask of this node's SU and CU about the processes it owns.
      ...(place
        ? [
            { id: 'su-service', start: { behaviour: service, args: { impl: ownSu, methods: SU_SERVICE_METHODS }, options: { name: SU_SERVICE } } },
            { id: 'cu-service', start: { behaviour: service, args: { impl: cuApi, methods: [...CU_METHODS] }, options: { name: CU_SERVICE } } },
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
      ...(heightReader ? [heightReader] : []),
      // After the SU's subtree: it publishes what that SU hosts.
      ...(network
        ? [
            network.publisherChild({
              url: () => (url ? `${publicUrl()}/su` : undefined),
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
  const started = await node.spawn(supervisorSpec(treeOf(config)), { name: 'root' });
  if (!('ok' in started)) {
    await node.stop();
    await release();
    throw new Error(`node failed to start: ${whyNotStarted((started as { error: unknown }).error)}`);
  }
  // The root exits only when a subtree gave up past its restart budget (or the node stops):
  // whoever runs the node hears it, with the reason, instead of the process just ending.
  const watcher = node.inbox();
  const rootRef = watcher.monitor(started.ok);
  const exited = watcher.receive<DownMessage>((m): m is DownMessage => isDownMessage(m) && m.ref === rootRef, Infinity).then((m) => m.reason);
  exited.catch(() => undefined);
  return {
    node,
    store,
    health,
    lifecycle,
    clustered: replica !== undefined,
    root: started.ok,
    exited,
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

/** What /health/ready asks: see units/http/health.ts. */
function readinessChecks(o: { node: Node; store: Store; transport: NatsTransport | undefined; stream: string | undefined; lifecycle: { stopping: boolean } }): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'lifecycle',
      check: () => (o.lifecycle.stopping ? 'stopping: handing work over before exit' : o.node.draining ? 'draining: no new work is placed here' : undefined),
      cacheMs: 0,
    },
    {
      // A committed write: LMDB open, the disk writable and syncing.
      name: 'store',
      check: async () => {
        if (o.store.closed) return 'the LMDB environment is closed';
        await o.store.transact(() => o.store.db('health').put('probe', Date.now()));
        return undefined;
      },
      cacheMs: 2000,
    },
  ];
  const t = o.transport;
  if (t) {
    checks.push({ name: 'nats', check: () => (o.node.busConnected ? undefined : 'disconnected from every NATS server (reconnecting)'), cacheMs: 0 });
    const stream = o.stream;
    if (stream) {
      checks.push({
        // The SU log's stream answers (it needs a JetStream leader): without it no slot can be assigned.
        name: 'jetstream',
        check: async () => {
          if (!o.node.busConnected) return 'no NATS connection';
          const jsm = await t.connection.jetstreamManager({ timeout: 1500 });
          await jsm.streams.info(stream);
          return undefined;
        },
      });
    }
  }
  return checks;
}

/** A supervisor's start failure (`{shutdown: {failed_to_start_child: {id, reason}}}`), as one line. */
function whyNotStarted(e: unknown): string {
  const f = (e as { shutdown?: { failed_to_start_child?: { id: string; reason: unknown } } })?.shutdown?.failed_to_start_child;
  if (f) return `${f.id}: ${whyNotStarted(f.reason)}`;
  if (e instanceof Error) return e.message;
  const c = e as { code?: unknown; message?: unknown };
  if (typeof c?.message === 'string') return c.message;
  if (typeof c?.code === 'string') return c.code;
  return formatReason(e);
}
