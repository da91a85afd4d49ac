/**
 * The Messenger Unit, assembled: its store in the node's LMDB environment, the runtime its
 * job and monitor actors share, the API and its routes. Its supervisors are in supervisors/mu.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Caller } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { Wallet } from '../ans104/index.js';
import { MuApi } from './api.js';
import { muDefaults, type MuConfig } from './config.js';
import type { NameRegistry } from './launcher.js';
import { withSpawnCache, type MuCompute, type MuScheduler } from './ports.js';
import type { MuRuntime } from './push-job.js';
import { PushRate } from './push-rate.js';
import { muRoutes } from './routes.js';
import { LmdbMuStore, type MuStore } from './store.js';

export interface MuOptions {
  store: Store;
  /** Where jobs are kept (default: the LMDB store; in a cluster, JetStream with this node's LMDB as its copy). */
  jobs?: MuStore;
  /** Signs outbox messages and spawns. */
  wallet: Wallet;
  scheduler: MuScheduler;
  compute: MuCompute;
  config?: Partial<MuConfig>;
  /** Wall clock, unix ms (default Date.now). */
  now?: () => number;
  /** On a network: publishes messages to wallets to the bundler (MuRuntime.publish). */
  publish?: (raw: Uint8Array) => Promise<void>;
}

export interface Mu {
  address: string;
  config: MuConfig;
  runtime: MuRuntime;
  store: MuStore;
  api(caller: Caller, names: NameRegistry): MuApi;
  routes(api: MuApi): FastifyPluginAsync;
}

export function createMu(o: MuOptions): Mu {
  const config = muDefaults(o.config);
  const store = o.jobs ?? new LmdbMuStore(o.store);
  const runtime: MuRuntime = {
    store,
    scheduler: withSpawnCache(o.scheduler),
    compute: o.compute,
    wallet: o.wallet,
    limits: { maxDepth: config.maxDepth, maxFanOut: config.maxFanOut, maxPushJobs: config.maxPushJobs },
    rate: new PushRate({ perSecond: config.processRate, burst: config.processBurst }),
    retry: { firstMs: config.retryFirstMs, maxMs: config.retryMaxMs, attempts: config.retryAttempts },
    now: o.now ?? Date.now,
    ...(o.publish ? { publish: o.publish } : {}),
  };
  return {
    address: o.wallet.address,
    config,
    runtime,
    store,
    api: (caller, names) => new MuApi(caller, names, runtime, { scheduleWaitMs: config.scheduleWaitMs, maxMonitorsPerOwner: config.maxMonitorsPerOwner }),
    routes: (api) => muRoutes(api, o.wallet.address, runtime.now),
  };
}

export { MuApi, MuError, jobView, type Accepted, type JobView } from './api.js';
export { MuConfigSchema, muDefaults, type MuConfig } from './config.js';
export { assignJobId, isTerminal, jobName, type JobKind, type JobRecord, type JobStage } from './job.js';
export { MU_JOBS, MU_MONITORS, monitorName, startJob, startMonitor, stopMonitor } from './launcher.js';
export { cronMonitor, type MonitorArgs } from './monitor.js';
export { outboxCount, outboxJobs, pushedMessages, spawnedMessage, type OutboxLimits, type OutboxSource, type PushedMessage } from './outbox.js';
export { localCompute, localScheduler, type MuCompute, type MuScheduler, type ResultReply } from './ports.js';
export { pushJob, type MuRuntime, type PushJobArgs } from './push-job.js';
export { PushRate, type PushRateOptions } from './push-rate.js';
export { MU_RESUMER, resumer } from './resumer.js';
export { LmdbMuStore, StaleJob, type MonitorRecord, type MuStore } from './store.js';
