import type { ActorContext, Pid, StartResult } from '../runtime/index.js';

/**
 * A dynamic child's start, for children registered under a name that is their identity (a
 * process's sequencer, process actor or push job): when the name is taken — two on-demand starts
 * of one child, or a restart racing an on-demand start — the start answers with the running
 * actor instead of failing, so the supervisor keeps one child and never loops on restarts that
 * cannot succeed.
 */
export const namedStart =
  (start: (ctx: ActorContext, extra: any) => Promise<StartResult>) =>
  async (ctx: ActorContext, extra?: unknown): Promise<StartResult> => {
    const r = await start(ctx, extra);
    if ('error' in r && typeof r.error === 'object' && r.error !== null && 'already_started' in r.error) {
      return { ok: (r.error as { already_started: Pid }).already_started };
    }
    return r;
  };
