/**
 * Any node takes any request and asks the owner of the process it is about, over the bus:
 * placement (rendezvous hashing over the live members) names the owner; the owner's unit runs
 * the request as a service actor (runtime/service.ts). Requests about processes this node owns
 * run here, without the bus.
 */
import { serviceProxy, type Caller } from '../../runtime/index.js';
import { parseDataItem, tagValue, type Tag } from '../ans104/index.js';
import type { CuRoutesApi } from '../cu/index.js';
import { SU_READS, type Placement, type SuReads } from '../su/index.js';
import type { IdIndex } from './id-index.js';
import { owner } from './placement.js';

export const CU_SERVICE = 'svc/cu';
export const SU_SERVICE = 'svc/su';

/** Names the node that owns a process: the highest rendezvous weight among live members. */
export function placement(self: string, members: () => string[]): Placement {
  return { self, owner: (processId) => owner(processId, members()) ?? self };
}

export const CU_METHODS = ['result', 'results', 'dryRun', 'state', 'cron', 'attestation', 'signedCheckpoint', 'importCheckpoint'] as const;

/** The CU's routes' API, each request run by the process's owner. */
export function routedCuApi(local: CuRoutesApi, caller: Caller, p: Placement, timeoutMs: number): CuRoutesApi {
  const remote = (node: string) => serviceProxy<CuRoutesApi>(caller, { name: CU_SERVICE, node }, [...CU_METHODS], timeoutMs);
  const at = (processId: string): CuRoutesApi | Pick<CuRoutesApi, (typeof CU_METHODS)[number]> => {
    const o = p.owner(processId);
    return o === p.self ? local : remote(o);
  };
  return {
    info: () => local.info(),
    result: (processId, messageId, waitMs) => at(processId).result(processId, messageId, waitMs),
    results: (processId, q) => at(processId).results(processId, q),
    dryRun: (processId, body) => at(processId).dryRun(processId, body),
    state: (processId) => at(processId).state(processId),
    cron: (processId, q) => at(processId).cron(processId, q),
    attestation: (processId, messageId, waitMs) => at(processId).attestation(processId, messageId, waitMs),
    signedCheckpoint: (processId) => at(processId).signedCheckpoint(processId),
    // The owner of the process the checkpoint names adopts it (bytes that are no item: this node says why).
    importCheckpoint: (raw) => {
      const pid = processOf(raw);
      return (pid ? at(pid) : local).importCheckpoint(raw);
    },
  };
}

function processOf(raw: Uint8Array): string | undefined {
  try {
    const pid = tagValue(parseDataItem(raw).tags, 'Process');
    return pid !== undefined && /^[A-Za-z0-9_-]{43}$/.test(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** What the SU service answers for other nodes: its reads, and a process's spawn tags and owner (for the MU). */
export interface SuService extends SuReads {
  processTags(processId: string): Promise<Tag[] | undefined>;
  processOwner(processId: string): Promise<string | undefined>;
}

export const SU_SERVICE_METHODS = [...SU_READS, 'processTags', 'processOwner'] as const;

/**
 * The SU's reads and lookups, each answered by the owner of the process it is about. A message
 * looked up by id alone is found through the cluster's index of message ids (id-index.ts).
 */
export function routedSuService(local: SuService, caller: Caller, p: Placement, timeoutMs: number, ids: Pick<IdIndex, 'lookup'>): SuService {
  const at = (processId: string): SuService => {
    const o = p.owner(processId);
    return o === p.self ? local : (serviceProxy<SuService>(caller, { name: SU_SERVICE, node: o }, [...SU_SERVICE_METHODS], timeoutMs) as SuService);
  };
  return {
    // A spawn never changes and the stream holds it: this node answers, with no hop.
    processTags: (pid) => local.processTags(pid),
    processOwner: (pid) => at(pid).processOwner(pid),
    hosts: (pid) => at(pid).hosts(pid),
    process: (pid) => at(pid).process(pid),
    latest: (pid) => at(pid).latest(pid),
    page: (pid, q) => at(pid).page(pid, q),
    async find(id, pid) {
      if (pid) return at(pid).find(id, pid);
      // Without a process id: the owner of the process the index names (whichever logs this
      // node holds); else `id` as a process id (a spawn, or an assignment id, which the index
      // does not hold).
      const home = await ids.lookup(id);
      if (home) return at(home).find(id, home);
      return (await local.find(id)) ?? (p.owner(id) === p.self ? undefined : at(id).find(id));
    },
  };
}
