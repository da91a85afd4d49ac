/** What a supervisor does when a child exits: restart it by strategy, within its restart intensity. */
import type { ActorContext } from '../context.js';
import type { Pid } from '../pid.js';
import { formatReason, isNormalExit, type ExitReason } from '../reason.js';
import { startChildProcess, startChildren, terminateChildren } from './lifecycle.js';
import { delChild, isPid, isRestarting, isSimple, rememberGone, restartingKey, setPid, type Child, type State } from './state.js';

/** `shutdown`: the supervisor gives up (intensity reached, or auto_shutdown) and exits shutdown. */
export type Outcome = 'ok' | 'shutdown';

function autoShutdown(state: State, child: Child): Outcome {
  if (state.autoShutdown === 'never' || !child.spec.significant) return 'ok';
  if (state.autoShutdown === 'any_significant') return 'shutdown';
  const all = isSimple(state) ? [...state.dynamic.values()] : state.children;
  return all.some((c) => c.pid !== undefined && c.spec.significant) ? 'ok' : 'shutdown';
}

/** OTP's restart_child/3: a child exited with `reason`. */
export async function onChildExit(ctx: ActorContext, state: State, child: Child, reason: ExitReason): Promise<Outcome> {
  const { restart: type, id } = child.spec;
  if (type === 'permanent' || (type === 'transient' && !isNormalExit(reason))) {
    ctx.log.error({ child: id, reason: formatReason(reason) }, 'child terminated');
    return restart(ctx, state, child);
  }
  if (type === 'temporary' && !isNormalExit(reason)) ctx.log.error({ child: id, reason: formatReason(reason) }, 'child terminated');
  delChild(state, child);
  return autoShutdown(state, child);
}

/** Counts the restart against intensity, then restarts by strategy; a failed start is retried later. */
export async function restart(ctx: ActorContext, state: State, child: Child): Promise<Outcome> {
  state.restarts.add(Math.floor(ctx.clock.now() / 1000), state.period);
  if (state.restarts.exceeded(state.intensity)) {
    ctx.log.error({ child: child.spec.id }, 'reached max restart intensity, shutting down');
    delChild(state, child);
    return 'shutdown';
  }
  ctx.stats.restarted(ctx.name ?? ctx.self.key);
  const tryAgain = await restartByStrategy(ctx, state, child);
  // Back to the mailbox before retrying, so calls (and a shutdown) can come in between.
  if (tryAgain !== undefined) ctx.cast(ctx.self, { op: '$tryAgainRestart', id: tryAgain });
  return 'ok';
}

/** Returns the id (or dynamic key) to retry when a start failed. */
async function restartByStrategy(ctx: ActorContext, state: State, child: Child): Promise<string | undefined> {
  const oldPid = isRestarting(child.pid) ? child.pid.restarting : child.pid;
  switch (state.strategy) {
    case 'simple_one_for_one': {
      state.dynamic.delete(child.key!);
      if (isPid(child.pid)) rememberGone(state, child.pid);
      const r = await startChildProcess(ctx, child.spec, child.args);
      if ('ok' in r && r.ok) {
        state.dynamic.set(r.ok.key, { ...child, pid: r.ok, key: r.ok.key });
        return undefined;
      }
      if ('ok' in r) return undefined;
      const key = restartingKey(oldPid);
      state.dynamic.set(key, { ...child, pid: { restarting: oldPid }, key });
      ctx.log.error({ child: child.spec.id, reason: formatReason(r.error) }, 'child failed to restart');
      return key;
    }
    case 'one_for_one': {
      const r = await startChildProcess(ctx, child.spec);
      if ('ok' in r) {
        setPid(state, child.spec.id, r.ok);
        return undefined;
      }
      setPid(state, child.spec.id, { restarting: oldPid });
      ctx.log.error({ child: child.spec.id, reason: formatReason(r.error) }, 'child failed to restart');
      return child.spec.id;
    }
    case 'rest_for_one': {
      const i = state.children.findIndex((c) => c.spec.id === child.spec.id);
      // The failed child is already dead: as OTP's split_child, forget its pid before stopping
      // the younger children, so no shutdown is attempted on it.
      const after = state.children.slice(0, i + 1).map((c, j) => (j === i ? { ...c, pid: undefined } : c));
      const before = state.children.slice(i + 1);
      const failed = await restartMultiple(ctx, child, after);
      state.children = [...failed.children, ...before];
      return failed.tryAgain;
    }
    case 'one_for_all': {
      const rest = state.children.flatMap((c) =>
        c.spec.id !== child.spec.id ? [c] : c.spec.restart === 'temporary' ? [] : [{ ...c, pid: undefined }],
      );
      const failed = await restartMultiple(ctx, child, rest);
      state.children = failed.children;
      return failed.tryAgain;
    }
  }
}

async function restartMultiple(ctx: ActorContext, child: Child, children: Child[]): Promise<{ children: Child[]; tryAgain?: string }> {
  const stopped = await terminateChildren(ctx, children);
  const started = await startChildren(ctx, stopped);
  if (!started.failed) return { children: started.children };
  const failedId = started.failed.id;
  const oldPid = failedId === child.spec.id ? (isRestarting(child.pid) ? child.pid.restarting : (child.pid as Pid | undefined)) : undefined;
  return {
    children: started.children.map((c) => (c.spec.id === failedId ? { ...c, pid: { restarting: oldPid } } : c)),
    tryAgain: failedId,
  };
}
