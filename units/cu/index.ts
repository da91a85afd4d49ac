/**
 * The Compute Unit, assembled: its stores in the node's LMDB environment, the module store with
 * the bundled aos modules registered, the evaluator threads, the API and its routes. The process
 * actors' supervisor and the manager are in supervisors/cu.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import { RealClock, type Caller, type Clock } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { Wallet } from '../ans104/wallet.js';
import type { ScheduleReader } from '../schedule.js';
import { CuApi } from './api.js';
import { signAttestation } from './attestation.js';
import { signCheckpoint } from './checkpoint-item.js';
import { cuDefaults, type CuConfig } from './config.js';
import type { CuRuntime } from './engine.js';
import { BUNDLED, ModuleStore } from './modules.js';
import { cuRoutes, type CuRoutesApi } from './routes.js';
import { CuStore } from './store.js';
import { EvaluatorPool, type EvaluatorSource } from './worker/client.js';

export interface CuOptions {
  store: Store;
  /** Signs the bundled modules' items; its address is the CU's. */
  wallet: Wallet;
  /** The SU log (on one node: the SU's reader). */
  reader: ScheduleReader;
  config?: Partial<CuConfig>;
  /** Register the bundled aos modules at start (default true). */
  registerBundled?: boolean;
  /** Which bundled modules to register, by name (default all). */
  bundledModules?: readonly string[];
  /** Wall clock, unix ms (cron messages after a process's last slot are generated up to it). */
  now?: () => number;
  /** Where evaluators come from; default a pool of evaluator threads. */
  evaluators?: EvaluatorSource;
  /** For the API's waits and the evaluators' time limits; default the real clock. */
  clock?: Clock;
  /** Compiles a prepared module binary; default WebAssembly.compile. */
  compile?: (binary: Uint8Array) => Promise<WebAssembly.Module>;
  /** Its results and checkpoints store (default: in `store`; in a cluster, shared through JetStream too). */
  cuStore?: (store: Store) => CuStore;
}

export interface Cu {
  address: string;
  runtime: CuRuntime;
  modules: ModuleStore;
  /** name → id of the registered bundled modules. */
  bundled: Record<string, string>;
  /** `pending`: whether this node has accepted a message for a process that the SU has not assigned yet (see CuApi.result). */
  api(caller: Caller, o?: { pending?: (processId: string, messageId: string) => boolean }): CuApi;
  routes(api: CuRoutesApi): FastifyPluginAsync;
  /** Stops the spare evaluator threads (after the process actors have stopped; the tree's `cu.evaluators` has closed them already when it ran). */
  close(): Promise<void>;
}

export async function createCu(o: CuOptions): Promise<Cu> {
  const config = cuDefaults(o.config);
  const now = o.now ?? Date.now;
  const modules = new ModuleStore(o.store, {
    ...(config.modulesDir ? { dir: config.modulesDir } : {}),
    ...(config.gateway ? { gateway: { url: config.gateway, timeoutMs: config.gatewayTimeoutMs, maxBytes: config.maxModuleBytes } } : {}),
    missMs: config.moduleMissMs,
    now,
    ...(o.compile ? { compile: o.compile } : {}),
  });
  const only = o.bundledModules ? BUNDLED.filter((b) => o.bundledModules!.includes(b.name)) : BUNDLED;
  const bundled = o.registerBundled === false ? modules.bundled() : await modules.registerBundled(o.wallet, config.modulesDir, only);
  const clock = o.clock ?? new RealClock();
  const pool = o.evaluators ?? new EvaluatorPool(config.spareEvaluators, { clock });
  const runtime: CuRuntime = {
    reader: o.reader,
    store: o.cuStore?.(o.store) ?? new CuStore(o.store),
    modules,
    pool,
    config,
    now,
    clock,
  };
  return {
    address: o.wallet.address,
    runtime,
    modules,
    bundled,
    api: (caller, a) => new CuApi(caller, runtime, { callTimeoutMs: Math.max(config.resultWaitMs, 60_000), address: o.wallet.address, attest: (f) => signAttestation(o.wallet.key, f), signCheckpoint: (c) => signCheckpoint(o.wallet.key, c), ...(a?.pending ? { pending: a.pending } : {}) }),
    routes: (api) => cuRoutes(api, { resultWaitMs: config.resultWaitMs, dryRunBodyBytes: config.dryRunBodyBytes }),
    close: () => pool.close(),
  };
}

export { CuApi, CuError, parseBound, type AttestationAnswer, type ResultAnswer } from './api.js';
export { InvalidCheckpoint, readCheckpoint, signCheckpoint } from './checkpoint-item.js';
export { attestationTags, canonicalJson, InvalidAttestation, readAttestation, resultHash, signAttestation, type Attestation, type AttestationFields } from './attestation.js';
export { cursorOf, resultsPage, type ResultsPage } from './results.js';
export { CuConfigSchema, cuDefaults, type CuConfig } from './config.js';
export { ProcessEngine, ProcessUnavailable, errorOutput, comparePositions, type CuRuntime, type EngineStats, type Position } from './engine.js';
export { parseSize, processLimits, InvalidLimit, type Limits } from './limits.js';
export { CU_MANAGER, CU_PROCESSES, cuManager, type EnsureReply, type ManagerRequest } from './manager.js';
export { dryRunMessage, messageFromSlot, processEnv, type AoEnv, type AoMessage, type EvalOutput } from './message.js';
export { BUNDLED, ModuleStore, ModuleNotFound, InvalidModule, GatewayUnreachable, moduleTags, type BundledModule, type ModuleRecord, type ModuleStoreOptions } from './modules.js';
export { cuRoutes, type CuRoutesApi } from './routes.js';
export { processActor, processName, type ProcessRequest, type ProcessReply, type ProcessStatus } from './process.js';
export { CuStore, type CheckpointRecord, type CronRecord, type ResultRecord } from './store.js';
export { parseCrons, ticks, cronName, InvalidCron, type Cron, type CronTick } from './cron.js';
export { memoryLimits, withMemoryMaximum, prepareBinary, SUPPORTED_FORMATS, type ModuleFormat } from './wasm.js';
export { Evaluator, EvaluatorPool, EvaluatorGone, EvaluatorLost, EvaluatorTimeout, EvaluatorError, type EvaluatorDeath, type EvaluatorHandle, type EvaluatorSource } from './worker/client.js';
export { CU_EVALUATORS, evaluatorOwner, type EvaluatorOwnerProtocol } from './evaluator-owner.js';
export { InlineEvaluator, InlineEvaluators } from './worker/inline.js';
export type { MemoryImage, Codec } from './worker/protocol.js';
