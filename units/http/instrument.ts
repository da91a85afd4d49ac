/**
 * Feeds the node's metrics (and a few lifecycle log lines) from the seams the units already
 * have, without the units knowing: the SU log's committed runs (assigned, commit time), the
 * replicated log's claims and appends (takeovers, stream latency), the CU's evaluation hook and
 * result writes (evaluated, evaluation time), the MU store's job events (accepted, pushed).
 */
import type { ReplicaWriter, SuReplica } from '../su/replica.js';
import type { Cu } from '../cu/index.js';
import type { Mu } from '../mu/index.js';
import type { Su } from '../su/index.js';
import type { NodeMetrics } from './metrics.js';
import type { Logger } from '../../runtime/index.js';

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/** A replica whose writers time their appends, and whose claims that caught up are logged. */
export function observedReplica(r: SuReplica, m: NodeMetrics, log: Logger): SuReplica {
  return {
    claim: async (processId, localNext) => {
      const w = await r.claim(processId, localNext);
      // Slots from the stream are another writer's: this node took the log over from it.
      if (w.missing.length > 0) log.info({ processId, slots: w.missing.length, from: localNext }, `took over the process log of ${processId}: caught up ${w.missing.length} slot(s) from the stream`);
      else log.debug({ processId, next: localNext }, 'claimed a process log');
      const timed: ReplicaWriter = {
        get missing() {
          return w.missing;
        },
        append: async (run) => {
          const t = process.hrtime.bigint();
          await w.append(run);
          m.streamAppendSeconds.observe(since(t));
        },
        release: () => w.release(),
        onLost: (cb) => w.onLost(cb),
      };
      return timed;
    },
  };
}

export function instrumentUnits(u: { su: Su; cu: Cu; mu: Mu }, m: NodeMetrics): void {
  u.su.log.onAppended((_processId, _nextSlot, run) => {
    m.suCommitSeconds.observe(run.ms / 1000);
    m.messages.inc({ unit: 'su', event: 'assigned' }, run.slots);
  });
  u.cu.runtime.onEvaluated = (ms) => m.evaluationSeconds.observe(ms / 1000);
  u.cu.runtime.onAhead = (outcome, n) => m.ahead.inc({ outcome }, n);
  const results = u.cu.runtime.store;
  const putResults = results.putResults.bind(results);
  results.putResults = async (processId, rs) => {
    await putResults(processId, rs);
    m.messages.inc({ unit: 'cu', event: 'evaluated' }, rs.length);
  };
  // Each job record is written as it moves on; the first write that carries its slot counts it:
  // for a root, a message accepted (the client is answered then); for an outbox job, one pushed.
  const slotted = new Set<string>();
  u.mu.store.onJob((r) => {
    if (r.slot === undefined || slotted.has(r.id)) return;
    slotted.add(r.id);
    if (slotted.size > 100_000) slotted.clear(); // bounded; a rare double count is the price
    m.messages.inc({ unit: 'mu', event: r.depth === 0 ? 'accepted' : 'pushed' });
  });
}
