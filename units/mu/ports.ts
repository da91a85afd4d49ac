/**
 * What the MU needs of the other units, as interfaces: it schedules through the SU and reads
 * results from the CU, on one node by local actor calls (the functions below build these from
 * the SU client and the CU API), and in a cluster over the bus.
 */
import { ownerAddress, parseDataItem, type Tag } from '../ans104/index.js';
import type { CuApi, EvalOutput, ModuleStore, ResultsPage } from '../cu/index.js';
import type { ScheduleReply, SequencerRequest, SuClient, SuReader } from '../su/index.js';

export interface MuScheduler {
  /** The SU's wallet address (the Scheduler tag of processes it hosts). */
  address: string;
  /** The spawn's tags of a process this SU hosts; undefined for anything else (a wallet, say). */
  processTags(processId: string): Promise<Tag[] | undefined>;
  /** The address that signed the spawn of a process this SU hosts. */
  processOwner(processId: string): Promise<string | undefined>;
  schedule(processId: string, request: SequencerRequest): Promise<ScheduleReply>;
  /**
   * On a network: whether spawns naming SU `address` can be scheduled (its location is found).
   * Absent: only this node's SU takes spawns. Rejects when that cannot be known now.
   */
  reaches?(address: string): Promise<boolean>;
}

/** A result, or why there is none yet (`wait`: ask again later). */
export type ResultReply = { result: EvalOutput } | { wait: string };

export interface MuCompute {
  result(processId: string, messageId: string): Promise<ResultReply>;
  /** Cron results after `from` (a cursor or a unix-ms timestamp), ascending. */
  cron(processId: string, from: string, limit: number): Promise<ResultsPage>;
  /**
   * Whether the CU can run processes of this module: it holds it, or can load it (from its
   * modules dir or its gateway, which the CU then caches); else why not. A spawn of any other is
   * refused. Rejects when that cannot be known now (the gateway did not answer).
   */
  hasModule(moduleId: string): Promise<{ ok: true } | { missing: string }>;
}

export function localScheduler(reader: SuReader, client: SuClient, address: string): MuScheduler {
  const spawn = (processId: string) => {
    const info = reader.processSync(processId);
    return info ? parseDataItem(info.spawn) : undefined;
  };
  return {
    address,
    processTags: async (processId) => spawn(processId)?.tags,
    processOwner: async (processId) => {
      const item = spawn(processId);
      return item ? ownerAddress(item) : undefined;
    },
    schedule: (processId, request) => client.schedule(processId, request),
  };
}

export function localCompute(api: Pick<CuApi, 'result' | 'cron'>, waitMs: number, modules: Pick<ModuleStore, 'canRun'>): MuCompute {
  return {
    async hasModule(moduleId) {
      const r = await modules.canRun(moduleId);
      return 'ok' in r ? { ok: true } : r;
    },
    async result(processId, messageId) {
      const r = await api.result(processId, messageId, waitMs);
      if ('result' in r) return { result: r.result };
      return { wait: 'busy' in r ? r.busy : r.missing };
    },
    cron: (processId, from, limit) => api.cron(processId, { from, limit }),
  };
}

/** Spawns' tags and owners kept: a process's spawn never changes, and every push asks for them. */
const SPAWNS_CACHED = 10_000;

/**
 * `scheduler` with its answers about a process's spawn remembered (at most SPAWNS_CACHED
 * processes, oldest dropped first). Only found processes are remembered: "not here" may be
 * transient (a spawn on its way, a log being taken over).
 */
export function withSpawnCache(scheduler: MuScheduler): MuScheduler {
  const cache = <T>(ask: (processId: string) => Promise<T | undefined>) => {
    const known = new Map<string, T>();
    return async (processId: string): Promise<T | undefined> => {
      const hit = known.get(processId);
      if (hit !== undefined) return hit;
      const answer = await ask(processId);
      if (answer === undefined) return undefined;
      if (known.size >= SPAWNS_CACHED) known.delete(known.keys().next().value!);
      known.set(processId, answer);
      return answer;
    };
  };
  return { ...scheduler, processTags: cache((p) => scheduler.processTags(p)), processOwner: cache((p) => scheduler.processOwner(p)) };
}
