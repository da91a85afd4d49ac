/**
 * `cluster/mu-takeover`: when a member is known down, its unfinished push jobs are taken over
 * by the survivors, each job by the member rendezvous placement names among the live ones (so
 * the survivors share them out without talking; the compare-and-set in mu-jobs.ts keeps one
 * owner even if two disagree), and started here.
 *
 * It looks when a member has left since its last look, and every `scanEveryMs` anyway (an owner
 * that died while no one else was up, a look that failed).
 */
import type { Behaviour } from '../../runtime/index.js';
import { startJob } from '../mu/index.js';
import type { ClusterMuStore } from './mu-jobs.js';
import { owner } from './placement.js';

export interface MuTakeoverArgs {
  store: ClusterMuStore;
  self: string;
  members: () => string[];
  knownDown: (node: string) => boolean;
  /** How often it checks the members. */
  everyMs: number;
  /** How often it looks at every open job anyway. */
  scanEveryMs: number;
}

interface State extends MuTakeoverArgs {
  seen: Set<string>;
  lastScan: number;
}

export const MU_TAKEOVER = 'cluster/mu-takeover';

export const muTakeover: Behaviour<MuTakeoverArgs, State> = {
  init(args, ctx) {
    ctx.sendAfter(args.everyMs, 'check');
    return { ok: { ...args, seen: new Set(args.members()), lastScan: 0 } };
  },
  async handleInfo(msg, s, ctx) {
    if (msg !== 'check') return { state: s };
    const now = new Set(s.members());
    const left = [...s.seen].some((m) => !now.has(m));
    s.seen = now;
    if (left || ctx.clock.now() - s.lastScan >= s.scanEveryMs) {
      try {
        const taken = await scan(s);
        s.lastScan = ctx.clock.now();
        for (const id of taken) await startJob(ctx, id);
        if (taken.length) ctx.log.info({ jobs: taken.length }, 'took over the push jobs of members that are down');
      } catch (e) {
        // JetStream out of reach for now: look again at the next check.
        s.lastScan = 0;
        ctx.log.warn({ err: (e as Error).message }, 'could not look for push jobs to take over');
      }
    }
    ctx.sendAfter(s.everyMs, 'check');
    return { state: s };
  },
};

async function scan(s: State): Promise<string[]> {
  const taken: string[] = [];
  for (const [from, ids] of await s.store.openJobs()) {
    if (from === s.self || !s.knownDown(from)) continue;
    const live = s.members();
    taken.push(...(await s.store.takeOver(from, ids, (id) => owner(id, live) === s.self)));
  }
  return taken;
}
