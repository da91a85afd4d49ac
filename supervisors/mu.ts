import type { ChildSpec } from '../runtime/index.js';
import { namedChildren } from './named-children.js';
import { unitSupervisor } from './unit-supervisor.js';
import { jobName } from '../units/mu/job.js';
import { MU_JOBS, MU_MONITORS, monitorName } from '../units/mu/launcher.js';
import { cronMonitor } from '../units/mu/monitor.js';
import { pushJob, type MuRuntime } from '../units/mu/push-job.js';
import { MU_RESUMER, resumer } from '../units/mu/resumer.js';

export interface MuTreeOptions {
  /** Job-actor restarts allowed within `period` seconds before the MU subtree gives up. */
  intensity: number;
  period: number;
  shutdownMs: number;
  /** How often monitors poll the CU for cron results, ms. */
  cronPollMs: number;
}

/**
 * The Messenger Unit's subtree (rest_for_one: when a dynamic supervisor is restarted, the
 * resumer after it is too, and starts again every job and monitor that had not ended):
 *
 * - `mu.jobs`: simple_one_for_one of push jobs `mu/job/<id>`. Restart `transient`: a job that
 *   crashed goes on from its durable stage; one that ended (`normal`) stays ended.
 * - `mu.monitors`: simple_one_for_one of cron monitors `mu/cron/<processId>`, transient too.
 * - `mu`: the resumer.
 */
export function muTree(mu: MuRuntime, o: MuTreeOptions): ChildSpec {
  const limits = { intensity: o.intensity, period: o.period, shutdownMs: o.shutdownMs };
  return unitSupervisor('mu', [
    namedChildren({ id: 'jobs', name: MU_JOBS, childId: 'jobs', start: (ctx, { id }) => ctx.spawnLink({ behaviour: pushJob, args: { id, mu } }, { name: jobName(id) }), ...limits }),
    namedChildren({
      id: 'monitors',
      name: MU_MONITORS,
      childId: 'monitors',
      start: (ctx, { processId }) => ctx.spawnLink({ behaviour: cronMonitor, args: { processId, mu, pollMs: o.cronPollMs } }, { name: monitorName(processId) }),
      ...limits,
    }),
    { id: 'resumer', start: { behaviour: resumer, args: { store: mu.store }, options: { name: MU_RESUMER } } },
  ]);
}
