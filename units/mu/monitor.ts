/**
 * The cron monitor `mu/cron/<processId>` (aoconnect's `monitor`): every `pollMs` it asks the CU
 * for the process's cron results since its cursor — the CU evaluates the due cron messages to
 * answer — and pushes their outboxes. The cursor and the jobs a page made are written in one
 * transaction, so a restart neither skips a cron result nor pushes one twice.
 */
import type { ActorContext, Behaviour } from '../../runtime/index.js';
import { startJob } from './launcher.js';
import { outboxCount, outboxJobs } from './outbox.js';
import type { MuRuntime } from './push-job.js';

export interface MonitorArgs {
  processId: string;
  mu: MuRuntime;
  pollMs: number;
}

interface State extends MonitorArgs {
  /** The process's Module tag, once looked up. */
  module: string | undefined;
}

type Info = { tag: 'tick' };
const TICK: Info = { tag: 'tick' };
const PAGE = 50;

export const cronMonitor: Behaviour<MonitorArgs, State> = {
  init(args, ctx) {
    if (!args.mu.store.monitor(args.processId)) return { ignore: true };
    // The process is looked up at the first tick, not here: a lookup that fails for now (the
    // SU out of reach) is retried at the next tick instead of failing starts in a loop.
    ctx.send(ctx.self, TICK);
    return { ok: { ...args, module: undefined } };
  },

  async handleInfo(msg: Info, s, ctx) {
    if (msg.tag !== 'tick') return { state: s };
    const more = await tick(s, ctx).catch((e: Error) => {
      // The CU out of reach, or the process failing to load: try again at the next tick.
      ctx.log.warn({ processId: s.processId, err: e.message }, 'cron monitor tick failed');
      return false;
    });
    if (more === undefined) return { stop: 'normal', state: s };
    if (more) ctx.send(ctx.self, TICK);
    else ctx.sendAfter(s.pollMs, TICK);
    return { state: s };
  },
};

/** One page of cron results: true if there may be more now, undefined if no longer monitored. */
async function tick(s: State, ctx: ActorContext): Promise<boolean | undefined> {
  const record = s.mu.store.monitor(s.processId);
  if (!record) return undefined;
  if (s.module === undefined) {
    const tags = await s.mu.scheduler.processTags(s.processId);
    if (!tags) {
      ctx.log.warn({ processId: s.processId }, 'cron monitor stops: the process is not hosted by this node\'s SU');
      return undefined;
    }
    s.module = tags.find((t) => t.name === 'Module')?.value ?? '';
  }
  const page = await s.mu.compute.cron(s.processId, record.cursor, PAGE);
  if (page.edges.length === 0) return false;
  const created = [];
  for (const { node, cursor } of page.edges) {
    const root = `cron/${s.processId}/${cursor}`;
    const limited = s.mu.rate.admit(s.processId, outboxCount(node), ctx.clock.now());
    const { jobs, notes } = limited
      ? { jobs: [], notes: [limited] }
      : await outboxJobs(node, { fromProcess: s.processId, fromModule: s.module, root, depth: 0 }, s.mu.wallet, s.mu.limits, s.mu.scheduler.address);
    if (notes.length) ctx.log.warn({ processId: s.processId, cron: cursor, notes: notes.slice(0, 8) }, 'cron outbox not fully pushed');
    created.push(...jobs);
  }
  await s.mu.store.advanceMonitor({ ...record, cursor: page.edges[page.edges.length - 1]!.cursor }, created);
  for (const j of created) await startJob(ctx, j.id);
  return page.pageInfo.hasNextPage;
}
