/**
 * A process's log as its owner node reads it. The owner's LMDB holds the whole log only once
 * the process's sequencer has run there since it became the owner (the sequencer catches up
 * from the replicated stream when it starts). So before a read, if the stream holds slots this
 * LMDB lacks, the sequencer is started. A process the stream does not know starts nothing (a
 * read of a random id must not claim a lease or fence a log).
 */
import type { ProcessInfo, ScheduleReader, ScheduledMessage } from '../schedule.js';
import { localReads, type SuClient, type SuReader, type SuReads } from '../su/index.js';
import type { ReplicatedLog } from './replicated-log.js';

export interface CaughtUp {
  /** Brings this node's copy of `processId`'s log up to the stream (when the stream has more). */
  ensure(processId: string): Promise<void>;
  /** The reader the owner's CU uses. */
  reader: SuReader;
  /** The read side the owner answers other nodes (and its own routes) with. */
  reads: SuReads;
}

export function caughtUp(reader: SuReader, client: SuClient, log: ReplicatedLog): CaughtUp {
  const ensure = async (processId: string) => {
    const tail = await log.tail(processId);
    if (!tail) return;
    // A fence records its writer's next slot; a slot entry is that slot.
    const streamLast = tail.kind === 'slot' ? tail.slot : tail.slot - 1;
    const localLast = reader.processSync(processId)?.lastSlot ?? -1;
    if (streamLast > localLast) await client.sequencer(processId);
  };
  const wrapped: ScheduleReader = {
    async process(processId: string): Promise<ProcessInfo | undefined> {
      await ensure(processId);
      return reader.process(processId);
    },
    async read(processId: string, from: number, to?: number, limit?: number, maxBytes?: number): Promise<ScheduledMessage[]> {
      await ensure(processId);
      return reader.read(processId, from, to, limit, maxBytes);
    },
  };
  const local = localReads(reader);
  const reads: SuReads = {
    hosts: async (pid) => (await ensure(pid), local.hosts(pid)),
    process: async (pid) => (await ensure(pid), local.process(pid)),
    latest: async (pid) => (await ensure(pid), local.latest(pid)),
    page: async (pid, q) => (await ensure(pid), local.page(pid, q)),
    find: async (id, pid) => {
      if (pid) await ensure(pid);
      return local.find(id, pid);
    },
  };
  // Everything else (find, page, …) as the SU's reader.
  return { ensure, reader: Object.assign(Object.create(reader) as SuReader, wrapped), reads };
}
