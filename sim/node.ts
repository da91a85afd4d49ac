/**
 * One node incarnation of a simulation: the node `aotp start` runs (supervisors/node.ts: the same
 * units, the same supervision trees, the same routes), on the simulation's seams instead of the
 * real ones: its clock and timers are the scheduler's, its transport the simulated bus, its
 * LMDB a simulated disk, its evaluators inline, its wallets seeded. Requests reach the routes
 * through fastify's inject (no socket).
 */
import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { NatsConnection } from 'nats';
import { Node, type ExitReason, type Pid } from '../runtime/index.js';
import type { SimJetStream } from '../runtime/sim/jetstream.js';
import { clusterReplica, type ClusterReplica } from '../units/cluster/su-replica.js';
import { SimNodeClock } from '../runtime/sim/node-clock.js';
import type { SimBus } from '../runtime/sim/bus.js';
import { SimStore, type SimDisk } from '../runtime/sim/disk.js';
import type { SimScheduler } from '../runtime/sim/scheduler.js';
import type { CallWatch } from './calls.js';
import { LOG_PREFIX, LOG_STREAM } from './stream.js';
import { ConfigSchema, type Config } from '../config/schema.js';
import { composeNode } from '../supervisors/node.js';
import { startRoot } from '../supervisors/root.js';
import type { Wallet } from '../units/ans104/index.js';
import { InlineEvaluators, type Cu } from '../units/cu/index.js';
import type { HttpApp } from '../units/http/http-server.js';
import type { Mu } from '../units/mu/index.js';
import type { Sec } from '../units/sec/index.js';
import type { Su } from '../units/su/index.js';

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
  /** Whether the node's next disk commit fails (an I/O error). */
  diskFails?: () => boolean;
  /** Watches the node's calls against their timeouts. */
  calls?: CallWatch;
  /** In a cluster: the JetStream the nodes share (their SU logs' leases and streams). */
  jetstream?: SimJetStream;
  /** Lease incarnation ids, from the seed. */
  leaseIds?: () => string;
  /** Counts messages the CU evaluated ahead of their commit, and those it then dropped. */
  ahead?: { evaluated: number; abandoned: number };
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
    // Other nodes' chaos tooling may kill actors here (as the simulation's faults do).
    chaos: true,
    ...overrides,
    // Signed inline: a signing thread would finish at a time no seed chooses.
    su: { idleMs: 20_000, signers: 0, ...overrides.su },
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
      ...(seams.diskFails ? { failCommit: seams.diskFails } : {}),
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
    this.replica = replica;
    const composed = await composeNode(config, {
      node,
      store,
      wallets: { su: seams.wallets.su, mu: seams.muSigner, cu: seams.wallets.cu },
      log: this.log,
      ...(replica && nc ? { cluster: { replica, nc, name: CLUSTER, replicas: 1, heartbeatMs: HEARTBEAT_MS } } : {}),
      now: wall,
      clock: this.clock,
      startedAt: wall(),
      cu: {
        evaluators: new InlineEvaluators(() => this.clock.now(), {
          cost: seams.evalCost,
          wait: (ms) => new Promise<void>((resolve) => seams.sched.after(ms, resolve, this.owner, 'cpu')),
        }),
        compile: compileOnce,
        bundledModules: [SIM_MODULE],
      },
      unbound: { url: `http://${o.name}.sim`, onApp: (app) => (this.http = app) },
      bus: 'sim',
    });
    const { su, cu, mu, sec } = composed;
    Object.assign(this, { su, cu, mu, sec });
    const ahead = seams.ahead;
    if (ahead) cu.runtime.onAhead = (outcome, n) => (ahead[outcome] += n);
    const started = await startRoot(node, composed.tree);
    if ('error' in started) throw new Error(`node ${o.name} failed to start: ${JSON.stringify(started)}`);
    this.root = started.pid;
    this.started = true;
    started.exited.then((reason) => (this.rootExit = reason), () => undefined);
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
