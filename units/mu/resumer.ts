/**
 * `mu`: started after the job and monitor supervisors, it restarts every job that had not
 * ended and every monitor, from their durable records — after a node restart, or after the MU
 * subtree was restarted (rest_for_one starts it again then).
 */
import type { Behaviour } from '../../runtime/index.js';
import { startJob, startMonitor } from './launcher.js';
import type { MuStore } from './store.js';

export const MU_RESUMER = 'mu';

export const resumer: Behaviour<{ store: MuStore }, { store: MuStore }> = {
  init(args, ctx) {
    ctx.send(ctx.self, 'resume');
    return { ok: args };
  },
  async handleInfo(msg, s, ctx) {
    if (msg !== 'resume') return { state: s };
    const jobs = s.store.unfinished();
    for (const j of jobs) await startJob(ctx, j.id);
    const monitors = s.store.allMonitors();
    for (const m of monitors) await startMonitor(ctx, m.processId);
    if (jobs.length || monitors.length) ctx.log.info({ jobs: jobs.length, monitors: monitors.length }, 'resumed unfinished push jobs and cron monitors');
    return { state: s };
  },
};
