/**
 * The SU's read side as its routes use it: on one node the reader answers at once; in a
 * cluster each question goes to the owner of the process it is about (units/cluster/routing.ts),
 * so these are async.
 */
import type { ProcessInfo } from '../schedule.js';
import type { Page, PageQuery, SuEntry, SuReader } from './reader.js';

export interface SuReads {
  hosts(processId: string): Promise<boolean>;
  process(processId: string): Promise<ProcessInfo | undefined>;
  latest(processId: string): Promise<SuEntry | undefined>;
  page(processId: string, q: PageQuery): Promise<Page>;
  /** A message or assignment by id; `processId` narrows (and, in a cluster, routes) it. */
  find(id: string, processId?: string): Promise<SuEntry | undefined>;
}

export const SU_READS = ['hosts', 'process', 'latest', 'page', 'find'] as const;

export function localReads(reader: SuReader): SuReads {
  return {
    hosts: async (processId) => reader.hosts(processId),
    process: async (processId) => reader.processSync(processId),
    latest: async (processId) => reader.latest(processId),
    page: async (processId, q) => reader.page(processId, q),
    find: async (id, processId) => reader.find(id, processId),
  };
}
