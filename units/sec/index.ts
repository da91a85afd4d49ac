/**
 * AO-Sec origin (paper 5.6), assembled: its store in the node's LMDB environment, the SUs it
 * reaches, and its routes. The origin actor's supervisor is in supervisors/sec.ts. The SUs of
 * the node consult `hosting(address)` (pass it to createSu) to refuse unhosted processes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Caller } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { EvalOutput } from '../cu/index.js';
import { secDefaults, type SecConfig } from './config.js';
import type { OriginArgs, SecView } from './origin.js';
import { secRoutes } from './routes.js';
import { Schedulers } from './schedulers.js';
import { SecStore } from './store.js';
import type { Recompute } from './slashing.js';
import { minStakeRefusal, StakeLedger } from './stake-ledger.js';

export interface SecOptions {
  store: Store;
  config?: Partial<SecConfig>;
  now?: () => number;
  observe?: (view: SecView) => void;
}

export interface Sec {
  store: SecStore;
  ledger: StakeLedger;
  schedulers: Schedulers;
  config: SecConfig;
  /**
   * The refusal predicate for the SU with wallet `address` (SuOptions.hosting): a process the
   * origin unhosted or gave to another SU; a spawn whose Min-SU-Stake this SU's stake is below.
   */
  hosting(address: string): (processId: string, spawn?: Uint8Array) => string | undefined;
  /** The origin actor's args, given the CU's dry-run (and its facts for a message, to check attestations). */
  originArgs(dryRun: (processId: string, message: unknown) => Promise<EvalOutput>, recompute?: Recompute): OriginArgs;
  routes(caller: Caller, timeout?: number): FastifyPluginAsync;
}

export function createSec(o: SecOptions): Sec {
  const store = new SecStore(o.store);
  const schedulers = new Schedulers();
  const config = secDefaults(o.config);
  const ledger = new StakeLedger(o.store, { exclusivityMs: config.stakeExclusivityMs, rewardPercent: config.slashRewardPercent });
  return {
    store,
    ledger,
    schedulers,
    config,
    hosting: (address) => (processId, spawn) => store.refusal(processId, address) ?? (spawn ? minStakeRefusal(spawn, ledger.account(address)) : undefined),
    originArgs: (dryRun, recompute) => ({ store, ledger, schedulers, dryRun, ...(recompute ? { recompute } : {}), config, now: o.now ?? Date.now, ...(o.observe ? { observe: o.observe } : {}) }),
    routes: (caller, timeout = 120_000) => secRoutes(caller, timeout),
  };
}

export { SecConfigSchema, secDefaults, LIVENESS_PERIOD_TAG, PUBLICATION_WINDOW_TAG, type SecConfig } from './config.js';
export { hostingMachine, type HostingContext, type HostingEvent, type Host } from './hosting-machine.js';
export { livenessMachine } from './liveness-machine.js';
export { publicationMachine } from './publication-machine.js';
export { origin, ORIGIN, type OriginArgs, type OriginProtocol, type OriginReply, type OriginRequest, type SecView } from './origin.js';
export { parseChallenge, parseEvidence, parseOffer, secItem, Rejected } from './requests.js';
export { decisionOf, type Decision } from './offer.js';
export { Schedulers, localScheduler, type SchedulerPort } from './schedulers.js';
export { SecStore, type HostingRecord, type Lifecycle } from './store.js';
export { secRoutes } from './routes.js';
export { MIN_SU_STAKE_TAG, minStakeRefusal, StakeLedger, SU_STAKE_TAG, viewOf, type Account, type AccountView, type Slash, type StakeRequest, type Unstaking } from './stake-ledger.js';
export { attestationOffense, doubleAssignmentOffense, parseSlashEvidence, recomputeWith, type Offense, type Recompute } from './slashing.js';
export { parseStake } from './requests.js';
