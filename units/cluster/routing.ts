/**
 * Any node takes any request and asks the owner of the process it is about, over the bus:
 * placement (rendezvous hashing over the live members) names the owner; the owner's unit runs
 * the request as a service actor (runtime/service.ts). Requests about processes this node owns
 * run here, without the bus.
 */
import { serviceProxy, type Caller } from '../../runtime/index.js';
import type { Tag } from '../ans104/index.js';
import type { CuRoutesApi } from '../cu/index.js';
import type { Placement } from '../su/index.js';
import { owner } from './placement.js';

export const CU_SERVICE = 'svc/cu';
export const SU_SERVICE = 'svc/su';

/** Names the node that owns a process: the highest rendezvous weight among live members. */
export function placement(self: string, members: () => string[]): Placement {
  return { self, owner: (processId) => owner(processId, members()) ?? self };
}

const CU_METHODS = ['result', 'results', 'dryRun', 'state', 'cron'] as const;

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
  };
}

/** What the SU service answers for other nodes. */
export interface SuService {
  processTags(processId: string): Promise<Tag[] | undefined>;
}

export function routedSuService(local: SuService, caller: Caller, p: Placement, timeoutMs: number): SuService {
  return {
    processTags(processId) {
      const o = p.owner(processId);
      if (o === p.self) return local.processTags(processId);
      return serviceProxy<SuService>(caller, { name: SU_SERVICE, node: o }, ['processTags'], timeoutMs).processTags(processId);
    },
  };
}
