/**
 * In a cluster, the replicated stream is the logs' durable truth: read through the cluster's own
 * reader (units/cluster/replicated-log.ts) on a connection of its own, checked entry by entry with
 * `aotp verify`'s checks (units/cluster/verify.ts), and handed to the invariants as one more copy
 * of every log.
 */
import type { NatsConnection } from 'nats';
import { SimNodeClock } from '../runtime/sim/node-clock.js';
import { ReplicatedLog } from '../units/cluster/replicated-log.js';
import { verify } from '../units/cluster/verify.js';
import type { LogSource, Violation } from './invariants.js';
import { EPOCH, type World } from './world.js';

export const LOG_STREAM = 'SIM_SU_LOG';
export const LOG_PREFIX = 'sim.su';

export async function streamSource(w: World, violations: Violation[]): Promise<LogSource | undefined> {
  const js = w.jetstream;
  const stream = js?.streams.get(LOG_STREAM);
  if (!js || !stream) return undefined;
  const clock = new SimNodeClock(w.sched, 'inspector', EPOCH);
  const log = await ReplicatedLog.open(js.connection('inspector') as unknown as NatsConnection, { prefix: LOG_PREFIX, stream: LOG_STREAM, replicas: 1, clock });
  const logs: LogSource['logs'] = new Map();
  const subject = `${LOG_PREFIX}.log.`;
  for (const s of [...stream.bySubject.keys()].sort()) {
    const processId = s.slice(subject.length);
    const report = verify(processId, await log.read(processId));
    if (!report.clean) violations.push({ invariant: 'logs', detail: `stream: ${processId}: ${report.problems.slice(0, 3).join('; ')}` });
    const slots = await log.slots(processId);
    logs.set(processId, { slots, nextSlot: slots.length });
  }
  return { name: 'stream', logs };
}
