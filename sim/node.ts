/**
 * One node incarnation of a simulation: the node `aotp start` assembles (cli/start.ts: the same
 * units, the same supervision trees, the same routes), on the simulation's seams instead of the
 * real ones: its clock and timers are the scheduler's, its transport the simulated bus, its
 * LMDB a simulated disk, its evaluators inline, its wallets seeded. Requests reach the routes
 * through fastify's inject (no socket).
 */
import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { NatsConnection } from 'nats';
import { Node, service, supervisorSpec, type DownMessage, type ExitReason, type Pid, isDownMessage } from '../runtime/index.js';
import type { SimJetStream } from '../runtime/sim/jetstream.js';
import { caughtUp } from '../units/cluster/caught-up.js';
import { rebalancer } from '../units/cluster/rebalancer.js';
import { CU_METHODS, CU_SERVICE, placement, routedCuApi, routedSuService, SU_SERVICE, SU_SERVICE_METHODS, type SuService } from '../units/cluster/routing.js';
import { clusterReplica, type ClusterReplica } from '../units/cluster/su-replica.js';
import { SharedCu } from '../units/cluster/cu-shared.js';
import { ClusterMuStore } from '../units/cluster/mu-jobs.js';
import { MU_TAKEOVER, muTakeover } from '../units/cluster/mu-takeover.js';
import { LmdbMuStore } from '../units/mu/store.js';
import type { Store } from '../runtime/store.js';
import { ownerAddress, parseDataItem } from '../units/ans104/index.js';
import { SimNodeClock } from '../runtime/sim/node-clock.js';
import type { SimBus } from '../runtime/sim/bus.js';
import { SimStore, type SimDisk } from '../runtime/sim/disk.js';
import type { SimScheduler } from '../runtime/sim/scheduler.js';
import type { CallWatch } from './calls.js';
import { LOG_PREFIX, LOG_STREAM } from './stream.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { cuTree } from '../supervisors/cu.js';
import { muTree } from '../supervisors/mu.js';
import { nodeTree } from '../supervisors/node-tree.js';
import { secTree } from '../supervisors/sec.js';
import { SEQUENCERS, suTree } from '../supervisors/su.js';
import type { Wallet } from '../units/ans104/index.js';
import { createCu, InlineEvaluators, type Cu } from '../units/cu/index.js';
import { createGateway, itemList, moduleSource } from '../units/gateway/index.js';
import type { HttpApp } from '../units/http/http-server.js';
import { Registry } from 'prom-client';
import { Health } from '../units/http/health.js';
import { nodeRoutes } from '../units/http/node-routes.js';
import { responseBudget } from '../units/http/response-budget.js';
import { assignJobId, createMu, isTerminal, localCompute, localScheduler as muScheduler, type Mu } from '../units/mu/index.js';
import { createSec, localScheduler, type Sec } from '../units/sec/index.js';
import { createSu, suClient, type Su } from '../units/su/index.js';

export interface SimWallets {
  su: Wallet;
  mu: Wallet;
  cu: Wallet;
}

export interface SimNodeSeams {
  sched: SimScheduler;
  bus: SimBus;
  disk: SimDisk;
  wallets: SimWallets;
  /** The MU's wallet as it signs (its nonces from the seed: see signer.ts). */
  muSigner: Wallet;
  /** The world's wall clock at virtual time 0. */
  epoch: number;
  /** ms one commit of this node's disk takes now. */
  diskLatency: () => number;
  /** How long evaluator work takes (virtual ms), by operation. */
  evalCost: (op: string, args: unknown) => number;
  /** Log lines at warn and above, with the node's name. */
  onLog: (node: string, line: Record<string, unknown>) => void;
  onCommit?: (node: string, writes: number) => void;
  /** Watches the node's calls against their timeouts. */
  calls?: CallWatch;
  /** In a cluster: the JetStream the nodes share (their SU logs' leases and streams). */
  jetstream?: SimJetStream;
  /** Lease incarnation ids, from the seed. */
  leaseIds?: () => string;
}

export interface SimNodeOptions {
  name: string;
  /** The incarnation: every restart gets a new one. */
  creation: number;
  config?: Partial<Config>;
}

/** The module the simulation's processes run. */
export const SIM_MODULE = 'aos-2.0.4-wasm32';

const compiled = new Map<string, WebAssembly.Module>();

/**
 * Compiles synchronously, once per binary for the whole OS process: WebAssembly.compile would
 * finish on a background thread at a time no seed chooses, and every seed compiles the same aos.
 */
export function compileOnce(binary: Uint8Array): Promise<WebAssembly.Module> {
  const key = createHash('sha256').update(binary).digest('hex');
  let m = compiled.get(key);
  if (!m) compiled.set(key, (m = new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>)));
  return Promise.resolve(m);
}

/** The settings a simulated node runs with: the defaults, with what a short run needs smaller. */
export function simConfig(name: string, overrides: Partial<Config> = {}): Config {
  return ConfigSchema.parse({
    nodeName: name,
    logLevel: 'warn',
    ...overrides,
    su: { idleMs: 20_000, ...overrides.su },
    cu: { maxResident: 4, spareEvaluators: 0, checkpointEvery: 16, checkpointCodec: 'none', cronSafetyMs: 500, ...overrides.cu },
    mu: { cronPollMs: 1000, retryMaxMs: 2000, ...overrides.mu },
  });
}

/** The cluster's timing (as `aotp init` writes a cluster's configs: fast failover). */
export const HEARTBEAT_MS = 250;
/** The cluster's name (its subjects' and streams' prefix). */
export const CLUSTER = 'sim';
export const LEASE_TTL_MS = 20_000;

export class SimNode {
  readonly name: string;
  readonly owner: string;
  readonly clock: SimNodeClock;
  readonly store: SimStore;
  readonly log: Logger;
  node!: Node;
  su!: Su;
  cu!: Cu;
  mu!: Mu;
  sec!: Sec;
  root: Pid | undefined;
  /** The routes (rebuilt if the HTTP actor restarts). */
  http: HttpApp | undefined;
  /** The root supervisor's exit, if it exits. */
  rootExit: ExitReason | undefined;
  crashed = false;
  started = false;
  /** In a cluster: the SU's replicated log and leases. */
  replica: ClusterReplica | undefined;
  /** Client requests in flight: a crash ends them (a connection reset). */
  private readonly requests = new Set<(e: Error) => void>();

  constructor(
    readonly seams: SimNodeSeams,
    readonly o: SimNodeOptions,
  ) {
    this.name = o.name;
    this.owner = `${o.name}:${o.creation}`;
    this.clock = new SimNodeClock(seams.sched, this.owner, seams.epoch);
    this.store = new SimStore(seams.disk, {
      sched: seams.sched,
      owner: this.owner,
      latency: seams.diskLatency,
      ...(seams.onCommit ? { onCommit: (n: number) => seams.onCommit!(o.name, n) } : {}),
    });
    const dest = { write: (s: string) => seams.onLog(o.name, JSON.parse(s) as Record<string, unknown>) };
    this.log = pino({ level: 'warn', base: null, timestamp: () => `,"t":${seams.sched.now()}` }, dest).child({ node: o.name });
  }

  /** Starts the node and its supervision tree; rejects if the tree does not start. */
  async start(): Promise<void> {
    const { seams, o } = this;
    const config = simConfig(o.name, o.config);
    const wall = () => this.clock.wall();
    const node = await Node.start({ name: o.name, clock: this.clock, logger: this.log, transport: seams.bus.transport(this.owner), creation: o.creation });
    this.node = node;
    seams.calls?.watch(node, this.owner, () => !this.crashed);
    const store = this.store;
    // Clustered: one writer per process log, kept by a lease and a replicated stream (the model).
    const nc = seams.jetstream ? (seams.jetstream.connection(this.owner) as unknown as NatsConnection) : undefined;
    const replica = nc
      ? await clusterReplica(nc, o.name, {
          // A process whose owner membership knows to be down is taken over at once (the log's
          // fence keeps one writer); the lease's ttl matters only for owners up but not renewing.
          lease: {
            ttlMs: config.nats?.leaseTtlMs ?? LEASE_TTL_MS,
            replicas: 1,
            clock: this.clock,
            now: wall,
            holderDown: (holder) => node.knownDown(holder),
            ...(seams.leaseIds ? { incarnationId: seams.leaseIds } : {}),
          },
          log: { replicas: 1, prefix: LOG_PREFIX, stream: LOG_STREAM, clock: this.clock },
          ids: { cluster: CLUSTER, replicas: 1, clock: this.clock },
        })
      : undefined;
    const place = replica ? placement(node.name, () => node.members()) : undefined;
    this.replica = replica;
    const sec = createSec({ store, config: config.sec, now: wall });
    const su = createSu({
      wallet: seams.wallets.su,
      store,
      signers: 0,
      idleMs: config.su.idleMs,
      maxRun: config.su.maxRun,
      pageBytes: config.su.pageBytes,
      hosting: sec.hosting(seams.wallets.su.address),
      now: wall,
      ...(replica ? { replica, fetchItem: (id: string) => fetchItem(id) } : {}),
    });
    let fetchItem: (id: string) => Promise<Uint8Array | undefined> = async () => undefined;
    const client = suClient(node, node, SEQUENCERS, config.su.callTimeoutMs, place);
    const fresh = replica ? caughtUp(su.reader, client, replica.log) : undefined;
    // Clustered: results and checkpoints shared through JetStream; push jobs in a KV bucket.
    const shared = nc ? await SharedCu.open(nc, { cluster: CLUSTER, replicas: 1, keep: config.cu.checkpointKeep, log: this.log, clock: this.clock }) : undefined;
    const cu = await createCu({
      ...(shared ? { cuStore: (s: Store) => shared.store(s) } : {}),
      store,
      wallet: seams.wallets.cu,
      reader: fresh ? fresh.reader : su.reader,
      config: config.cu,
      now: wall,
      clock: this.clock,
      evaluators: new InlineEvaluators(() => this.clock.now(), {
        cost: seams.evalCost,
        wait: (ms) => new Promise<void>((resolve) => seams.sched.after(ms, resolve, this.owner, 'cpu')),
      }),
      compile: compileOnce,
      bundledModules: [SIM_MODULE],
    });
    const jobs = nc ? await ClusterMuStore.open(nc, node.name, new LmdbMuStore(store), { cluster: CLUSTER, replicas: 1, clock: this.clock }) : undefined;
    // Before the MU resumes its jobs: JetStream's, not this disk's (lost, or taken over meanwhile).
    if (jobs) await jobs.hydrate();
    const url = `http://${o.name}.sim`;
    sec.schedulers.add(localScheduler(su, client, () => `${url}/su`));
    let inFlight: (processId: string, messageId: string) => boolean = () => false;
    const cuApi = cu.api(node, { pending: (p, m) => inFlight(p, m) });
    const localSu = muScheduler(su.reader, client, su.address);
    // What this node answers about the processes it owns (to itself and, as `svc/su`, to others).
    const ownSu: SuService | undefined = fresh
      ? {
          ...fresh.reads,
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
    const mu = createMu({
      store,
      wallet: seams.muSigner,
      scheduler: { ...localSu, processTags: (processId) => suService.processTags(processId), processOwner: (processId) => suService.processOwner(processId) },
      compute: localCompute(cuRoutesApi, config.cu.resultWaitMs, cu.modules),
      config: config.mu,
      now: wall,
      ...(jobs ? { jobs } : {}),
    });
    inFlight = (processId, messageId) => {
      const job = mu.store.job(messageId) ?? mu.store.job(assignJobId(messageId, processId));
      return job !== undefined && job.processId === processId && job.slot === undefined && !isTerminal(job);
    };
    const gateway = createGateway({ sources: [su.log, moduleSource(cu.modules), itemList()] });
    Object.assign(this, { su, cu, mu, sec });
    const tree = nodeTree({
      http: { host: '127.0.0.1', port: 0, listen: false, onApp: (app) => (this.http = app) },
      plugins: [
        { prefix: '/', plugin: responseBudget(config.responseBytesInFlight).plugin },
        {
          prefix: '/',
          plugin: nodeRoutes({
            node,
            health: new Health([]),
            metrics: new Registry(),
            startedAt: wall(),
            info: () => ({
              url,
              mu: `${url}/mu`,
              cu: `${url}/cu`,
              su: `${url}/su`,
              graphql: `${url}/graphql`,
              addresses: { mu: mu.address, su: su.address, cu: cu.address },
              modules: cu.modules.bundled(),
              bus: 'sim',
            }),
          }),
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
      chaos: true,
      units: [
        ...(place
          ? [
              { id: 'su-service', start: { behaviour: service, args: { impl: ownSu, methods: SU_SERVICE_METHODS }, options: { name: SU_SERVICE } } },
              { id: 'cu-service', start: { behaviour: service, args: { impl: cuApi, methods: [...CU_METHODS] }, options: { name: CU_SERVICE } } },
            ]
          : []),
        suTree(su.runtime, { intensity: config.su.restartIntensity, period: config.su.restartPeriod, shutdownMs: config.shutdownMs }),
        cuTree(cu.runtime, { names: node, intensity: config.cu.restartIntensity, period: config.cu.restartPeriod, shutdownMs: config.shutdownMs }),
        muTree(mu.runtime, { intensity: config.mu.restartIntensity, period: config.mu.restartPeriod, shutdownMs: config.shutdownMs, cronPollMs: config.mu.cronPollMs }),
        ...(place
          ? [
              {
                id: 'rebalancer',
                start: {
                  behaviour: rebalancer,
                  args: {
                    placement: place,
                    supervisor: SEQUENCERS,
                    everyMs: HEARTBEAT_MS * 2,
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
                  args: { store: jobs, self: node.name, members: () => node.members(), knownDown: (n: string) => node.knownDown(n), everyMs: HEARTBEAT_MS, scanEveryMs: 10_000 },
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
    if (!('ok' in started)) throw new Error(`node ${o.name} failed to start: ${JSON.stringify(started)}`);
    this.root = started.ok;
    this.started = true;
    const watcher = node.inbox();
    const ref = watcher.monitor(started.ok);
    watcher
      .receive<DownMessage>((m): m is DownMessage => isDownMessage(m) && m.ref === ref, Infinity)
      .then((m) => (this.rootExit = m.reason), () => undefined);
  }

  /** The node dies at once: no terminate runs, nothing uncommitted is kept, nothing of it runs again. */
  crash(): void {
    this.crashed = true;
    for (const reset of this.requests) reset(new Error(`connection to ${this.name} reset`));
    this.requests.clear();
    this.clock.kill();
    this.store.crash();
    this.seams.sched.cancelOwner(this.owner);
    this.seams.bus.detach(this.name, this.o.creation, false);
  }

  /** Stops in order (as SIGTERM does). */
  async stop(): Promise<void> {
    await this.node.stop(5000);
    await this.store.close();
  }

  /** An HTTP request to this node's routes. */
  /** Rejects when the node crashes first (as a reset connection would). */
  request(method: 'GET' | 'POST' | 'DELETE', url: string, body?: Uint8Array): Promise<{ status: number; body: string }> {
    const http = this.http;
    if (!http || this.crashed) return Promise.reject(new Error(`${this.name} is not listening`));
    return new Promise((resolve, reject) => {
      this.requests.add(reject);
      http
        .inject({ method, url, ...(body ? { payload: Buffer.from(body), headers: { 'content-type': 'application/octet-stream' } } : {}) })
        .then(
          (r) => resolve({ status: r.statusCode, body: r.body }),
          (e: Error) => reject(e),
        )
        .finally(() => this.requests.delete(reject));
    });
  }
}
