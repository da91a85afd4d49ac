/**
 * A process's log as its owner node reads it. The owner's LMDB holds the whole log only once
 * the process's sequencer has run there since it became the owner (the sequencer catches up
 * from the replicated stream when it starts). So before a read, if the stream holds slots this
 * LMDB lacks, the read waits until the sequencer has started and caught up (`SuClient.ready`:
 * finding its name registered is not enough, its `init` may still be claiming the log). A
 * process the stream does not know starts nothing (a read of a random id must not claim a
 * lease or fence a log).
 *
 * A read never takes a log that is behind for the answer: when this node's copy is still
 * behind after that (another node writes the log: the members disagree for a moment, or the
 * owner is still taking over), it fails with SchedulerUnavailable, which callers retry.
 *
 * A process's spawn (and so its tags) never changes: any node answers it from its LMDB or from
 * the stream's slot 0, without starting a sequencer.
 */
import type { ProcessInfo, ScheduleReader, ScheduledMessage } from '../schedule.js';
import { localReads, SchedulerUnavailable, type SuClient, type SuReader, type SuReads } from '../su/index.js';
import type { ReplicatedLog } from './replicated-log.js';

export interface CaughtUp {
  /** Brings this node's copy of `processId`'s log up to the stream (when the stream has more). */
  ensure(processId: string): Promise<void>;
  /** The spawn item of `processId`, from this node's log or the stream; undefined if neither has it. */
  spawn(processId: string): Promise<Uint8Array | undefined>;
  /** The reader the owner's CU uses. */
  reader: SuReader;
  /** The read side the owner answers other nodes (and its own routes) with. */
  reads: SuReads;
}

/** Spawns kept in memory once read from the stream (they are small and never change). */
const SPAWN_CACHE = 10_000;

export function caughtUp(reader: SuReader, client: SuClient, log: ReplicatedLog): CaughtUp {
  const localLast = (processId: string) => reader.processSync(processId)?.lastSlot ?? -1;
  const ensure = async (processId: string) => {
    const tail = await log.tail(processId);
    if (!tail) return;
    // A fence records its writer's next slot; a slot entry is that slot.
    const streamLast = tail.kind === 'slot' ? tail.slot : tail.slot - 1;
    if (streamLast <= localLast(processId)) return;
    await client.ready(processId, streamLast);
    if (streamLast > localLast(processId)) {
      throw new SchedulerUnavailable(`${processId}: this node's copy of its log is behind the replicated log (another node writes it, or is taking it over); try again`);
    }
  };
  const spawns = new Map<string, Uint8Array>();
  const spawn = async (processId: string) => {
    const local = reader.processSync(processId)?.spawn ?? spawns.get(processId);
    if (local) return local;
    const item = (await log.first(processId))?.item;
    if (!item) return undefined;
    if (spawns.size >= SPAWN_CACHE) spawns.delete(spawns.keys().next().value!);
    spawns.set(processId, item);
    return item;
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
  return { ensure, spawn, reader: Object.assign(Object.create(reader) as SuReader, wrapped), reads };
}
