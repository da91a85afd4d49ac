/** Starting children and stopping them, as OTP's supervisor does (do_start_child, shutdown/2). */
import { isDownMessage, isExitMessage, type StartSpec } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import type { Pid } from '../pid.js';
import { formatReason, isShutdown, type ExitReason } from '../reason.js';
import type { Spec } from './child-spec.js';
import { isPid, type Child, type State } from './state.js';
import type { ChildStartResult } from './types.js';

function childArgs(template: unknown, extra: unknown): unknown {
  if (extra === undefined) return template;
  if (template === undefined) return extra;
  if (Array.isArray(template) && Array.isArray(extra)) return [...template, ...extra];
  if (isPlainObject(template) && isPlainObject(extra)) return { ...template, ...extra };
  return extra;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

export type StartOutcome = { ok: Pid | undefined; info?: unknown } | { error: ExitReason };

/**
 * Starts one child, linked to the supervisor. `{ ok: undefined }` means the child said ignore;
 * `info` is what a start function returned with the pid (OTP's `{ok, Pid, Info}`).
 */
export async function startChildProcess(ctx: ActorContext, spec: Spec, extra?: unknown): Promise<StartOutcome> {
  let r: ChildStartResult;
  try {
    if (typeof spec.start === 'function') r = await spec.start(ctx, extra);
    else {
      const s: StartSpec = spec.start;
      r = await ctx.spawnLink({ ...s, args: childArgs(s.args, extra) });
    }
  } catch (e) {
    return { error: e };
  }
  if (typeof r !== 'object' || r === null) return { error: { bad_start_return: r } };
  if ('ok' in r) {
    if (r.ok !== undefined && !isPid(r.ok)) return { error: { bad_start_return: r } };
    // Its child id names an actor that has no registered name (in the observer, status --tree).
    if (r.ok !== undefined && ctx.isAlive(r.ok)) ctx.stats.labelled(r.ok.key, spec.id);
    return 'info' in r ? { ok: r.ok, info: r.info } : { ok: r.ok };
  }
  if ('ignore' in r) return { ok: undefined };
  if ('error' in r) return { error: r.error };
  return { error: { bad_start_return: r } };
}

/** Starts children in start order (oldest first). Stops at the first failure. */
export async function startChildren(ctx: ActorContext, children: Child[]): Promise<{ children: Child[]; failed?: { id: string; reason: ExitReason } }> {
  const out = [...children];
  for (let i = out.length - 1; i >= 0; i--) {
    const child = out[i]!;
    const r = await startChildProcess(ctx, child.spec);
    if ('error' in r) {
      ctx.log.error({ child: child.spec.id, reason: formatReason(r.error) }, 'child failed to start');
      return { children: out, failed: { id: child.spec.id, reason: r.error } };
    }
    if (r.ok === undefined && child.spec.restart === 'temporary') out.splice(i, 1);
    else out[i] = { ...child, pid: r.ok };
  }
  return { children: out };
}

/** Whether a child stopped by its supervisor exited as it should have (else OTP reports a shutdown error). */
function expectedExit(spec: Spec, reason: ExitReason): boolean {
  return (
    (spec.shutdown === 'brutal_kill' && reason === 'killed') ||
    reason === 'shutdown' ||
    (spec.restart !== 'permanent' && (reason === 'normal' || isShutdown(reason)))
  );
}

/** OTP's shutdown/2: monitor, exit (shutdown or kill), wait for DOWN, kill at the timeout, unlink and flush. */
export async function shutdown(ctx: ActorContext, pid: Pid, spec: Spec): Promise<void> {
  const ref = ctx.monitor(pid);
  const isDown = (m: unknown) => isDownMessage(m) && m.ref === ref;
  let down: { reason: ExitReason } | undefined;
  if (spec.shutdown === 'brutal_kill') {
    ctx.exit(pid, 'kill');
    down = await ctx.receive(isDown);
  } else {
    ctx.exit(pid, 'shutdown');
    down = await ctx.receive(isDown, spec.shutdown === 'infinity' ? Infinity : spec.shutdown);
    if (!down) {
      ctx.exit(pid, 'kill');
      down = await ctx.receive(isDown);
    }
  }
  const reason = await unlinkFlush(ctx, pid, down?.reason);
  if (!expectedExit(spec, reason)) ctx.log.error({ child: spec.id, reason: formatReason(reason) }, 'shutdown error');
}

/** Unlink, then take the child's EXIT if it already came: its reason is the real one. */
async function unlinkFlush(ctx: ActorContext, pid: Pid, dflt: ExitReason): Promise<ExitReason> {
  ctx.unlink(pid);
  const exit = await ctx.receive<{ reason: ExitReason }>((m) => isExitMessage(m) && m.from.equals(pid), 0);
  return exit ? exit.reason : dflt;
}

/** Stops static children first to last (newest first); temporary ones are forgotten. */
export async function terminateChildren(ctx: ActorContext, children: Child[]): Promise<Child[]> {
  const out: Child[] = [];
  for (const child of children) {
    if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
    if (child.spec.restart !== 'temporary') out.push({ ...child, pid: undefined });
  }
  return out;
}

/**
 * simple_one_for_one: stop all dynamic children at once, as OTP does: one exit to each, then one
 * receive loop for their DOWNs under a single deadline; whoever is left at the deadline is killed.
 */
export async function terminateDynamic(ctx: ActorContext, state: State): Promise<void> {
  const spec = state.template!;
  const refs = new Map<string, Pid>();
  const brutal = spec.shutdown === 'brutal_kill';
  for (const c of state.dynamic.values()) {
    if (!isPid(c.pid)) continue;
    refs.set(ctx.monitor(c.pid), c.pid);
    ctx.exit(c.pid, brutal ? 'kill' : 'shutdown');
  }
  state.dynamic.clear();
  const isOurDown = (m: unknown) => isDownMessage(m) && refs.has(m.ref);
  const deadline = typeof spec.shutdown === 'number' ? ctx.clock.now() + spec.shutdown : Infinity;
  let killed = false;
  while (refs.size > 0) {
    const wait = deadline === Infinity || killed ? Infinity : Math.max(0, deadline - ctx.clock.now());
    const down = await ctx.receive<{ ref: string; reason: ExitReason }>(isOurDown, wait);
    if (!down) {
      for (const pid of refs.values()) ctx.exit(pid, 'kill');
      killed = true;
      continue;
    }
    const pid = refs.get(down.ref)!;
    refs.delete(down.ref);
    const reason = await unlinkFlush(ctx, pid, down.reason);
    if (!expectedExit(spec, reason)) ctx.log.error({ child: spec.id, pid: pid.key, reason: formatReason(reason) }, 'shutdown error');
  }
}
