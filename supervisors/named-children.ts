import { supervisorSpec, type ActorContext, type ChildSpec, type Pid, type StartResult } from '../runtime/index.js';

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

export interface NamedChildrenOptions {
  /** The supervisor's child id in its parent, and its registered name. */
  id: string;
  name: string;
  /** The child template's id. */
  childId: string;
  start: (ctx: ActorContext, extra: any) => Promise<StartResult>;
  intensity: number;
  period: number;
  shutdownMs: number;
}

/**
 * A registered simple_one_for_one supervisor of such children, restart `transient`: one that
 * crashed is restarted, one that stopped on its own (`normal`) is not.
 */
export function namedChildren(o: NamedChildrenOptions): ChildSpec {
  return {
    id: o.id,
    type: 'supervisor',
    start: {
      ...supervisorSpec({
        strategy: 'simple_one_for_one',
        intensity: o.intensity,
        period: o.period,
        children: [{ id: o.childId, start: namedStart(o.start), restart: 'transient', shutdown: o.shutdownMs }],
      }),
      options: { name: o.name },
    },
  };
}
