/**
 * The reference evaluation: after the run, a CU of its own (the same code, a fresh disk, no
 * node, no fault) evaluates every process from its final log. What the nodes' CUs stored for a
 * slot must be what it computes: a CU that recorded a wrong result (a killed handler's, a rolled
 * back memory) is caught even when no other node evaluated that slot.
 */
import { createLogger } from '../runtime/logger.js';
import { SimDisk, SimStore } from '../runtime/sim/disk.js';
import { SimNodeClock } from '../runtime/sim/node-clock.js';
import { createCu, InlineEvaluators, ProcessEngine, type CuConfig, type ResultRecord } from '../units/cu/index.js';
import { SuReader } from '../units/su/reader.js';
import { readSuLog } from '../units/su/log-reader.js';
import { SuStore } from '../units/su/store.js';
import type { ScheduleReader } from '../units/schedule.js';
import type { LogSource } from './invariants.js';
import { EPOCH, type World } from './world.js';
import { compileOnce, SIM_MODULE } from './node.js';

/** Per process: slot → the result the reference evaluation computed. */
export type Reference = Map<string, Map<number, ResultRecord>>;

export async function referenceResults(w: World, processes: Iterable<string>, config: CuConfig, extra: LogSource[] = []): Promise<Reference> {
  const owner = 'verifier';
  const clock = new SimNodeClock(w.sched, owner, EPOCH);
  // Each process is read from the longest copy of its log (the disks agree slot by slot, or
  // the logs invariant has said where they do not).
  const readers = new Map<string, { reader: SuReader; length: number }>();
  for (const processId of processes) {
    for (const [name, disk] of w.disks) {
      const su = readSuLog(new SimStore(disk, { sched: w.sched, owner: `inspect:${name}`, latency: () => 0 }));
      const length = su.process(processId)?.nextSlot ?? 0;
      if (length > (readers.get(processId)?.length ?? 0)) readers.set(processId, { reader: new SuReader(su), length });
    }
    for (const source of extra) {
      const copy = source.logs.get(processId);
      if (copy && copy.slots.length > (readers.get(processId)?.length ?? 0)) {
        // A copy on no disk (the stream's): written to a scratch disk of its own (no node's) to be
        // read as the SU reads.
        const su = new SuStore(new SimStore(new SimDisk(), { sched: w.sched, owner, latency: () => 0 }));
        await su.append(processId, copy.slots);
        readers.set(processId, { reader: new SuReader(su), length: copy.slots.length });
      }
    }
  }
  const reader: ScheduleReader = {
    process: async (processId) => readers.get(processId)?.reader.process(processId),
    read: async (processId, from, to, limit, maxBytes) => readers.get(processId)?.reader.read(processId, from, to, limit, maxBytes) ?? [],
  };
  const cu = await createCu({
    store: new SimStore(new SimDisk(), { sched: w.sched, owner, latency: () => 0 }),
    wallet: w.wallets.cu,
    reader,
    config: { ...config, checkpointEvery: 1_000_000 },
    now: () => clock.wall(),
    clock,
    evaluators: new InlineEvaluators(() => clock.now()),
    compile: compileOnce,
    bundledModules: [SIM_MODULE],
  });
  const out: Reference = new Map();
  for (const [processId, { length }] of readers) {
    const engine = await ProcessEngine.load(processId, cu.runtime, createLogger({ level: 'silent' }));
    while (engine.pos < length - 1) {
      const before = engine.pos;
      await engine.advance(length - 1, 256);
      if (engine.pos === before) break;
    }
    await engine.flush();
    await engine.close();
    const results = new Map<number, ResultRecord>();
    for (const r of cu.runtime.store.resultsBetween(processId, { from: -1, to: length - 1 })) results.set(r.slot, r);
    out.set(processId, results);
  }
  return out;
}
