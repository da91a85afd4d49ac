/**
 * A process's log as the CU of its owner node reads it. The owner's LMDB holds the whole log
 * only once the process's sequencer has started there (it catches up from the replicated
 * stream at start), so the first read of each process starts the sequencer.
 */
import type { ProcessInfo, ScheduleReader, ScheduledMessage } from '../schedule.js';
import type { SuClient, SuReader } from '../su/index.js';

export function caughtUp(reader: SuReader, client: SuClient): SuReader {
  const ready = new Map<string, Promise<unknown>>();
  const ensure = (processId: string) => {
    let p = ready.get(processId);
    if (!p) {
      p = client.sequencer(processId).catch((e) => {
        ready.delete(processId);
        throw e;
      });
      ready.set(processId, p);
    }
    return p;
  };
  const wrapped: ScheduleReader = {
    async process(processId: string): Promise<ProcessInfo | undefined> {
      await ensure(processId);
      return reader.process(processId);
    },
    async read(processId: string, from: number, to?: number, limit?: number): Promise<ScheduledMessage[]> {
      await ensure(processId);
      return reader.read(processId, from, to, limit);
    },
  };
  // Everything else (find, page, …) as the SU's reader.
  return Object.assign(Object.create(reader) as SuReader, wrapped);
}
