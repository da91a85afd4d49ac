import { isDownMessage, isExitMessage, type Behaviour, type StartResult, type StartSpec } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import { Pid } from '../pid.js';
import { formatReason, isNormalExit, isShutdown, type ExitReason } from '../reason.js';
import { checkChildSpec, checkFlags, checkStartSpec, type Flags, type Spec } from './child-spec.js';
import { addRestart, exceeded } from './restart-intensity.js';
import type { ChildCounts, ChildInfo, ChildSpec, SupervisorInit, SupervisorSpec } from './types.js';

/** A child being restarted after a failed start; `old` is the pid it had before. */
interface Restarting {
  restarting: Pid | undefined;
}

interface Child {
  spec: Spec;
  pid: Pid | Restarting | undefined;
  /** simple_one_for_one: the args this child was started with. */
  args?: unknown;
  /** simple_one_for_one: this child's key in `dynamic`. */
  key?: string;
}

interface State extends Flags {
  /** Static children, newest first (OTP's Ids order): started last to first, stopped first to last. */
  children: Child[];
  /** simple_one_for_one: the template and the running (or restarting) children by key. */
  template?: Spec;
  dynamic: Map<string, Child>;
  restarts: number[];
  /** simple_one_for_one: recent dynamic children that are gone (for pids on other nodes, whose liveness is unknown here). */
  gone: Set<string>;
}

const GONE_MEMORY = 1024;

function rememberGone(state: State, pid: Pid): void {
  state.gone.add(pid.key);
  if (state.gone.size > GONE_MEMORY) state.gone.delete(state.gone.values().next().value!);
}

/** Requests a supervisor answers (the API in api.ts sends them). */
export type SupervisorRequest =
  | { op: 'startChild'; arg: ChildSpec | unknown }
  | { op: 'terminateChild'; id: string | Pid }
  | { op: 'restartChild'; id: string }
  | { op: 'deleteChild'; id: string }
  | { op: 'whichChildren' }
  | { op: 'countChildren' };

const isPid = (x: unknown): x is Pid => x instanceof Pid;
const isRestarting = (x: unknown): x is Restarting => typeof x === 'object' && x !== null && 'restarting' in x;

let restartingKeys = 0;

/** simple_one_for_one: where a restarting child is kept, found again by its old pid (OTP's restarting(Pid)). */
const restartingKey = (old: Pid | undefined) => (old ? `restarting:${old.key}` : `restarting#${++restartingKeys}`);

// --- starting ---------------------------------------------------------------------------------

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

/** Starts one child, linked to the supervisor. `{ ok: undefined }` means the child said ignore. */
async function startChildProcess(ctx: ActorContext, spec: Spec, extra?: unknown): Promise<{ ok: Pid | undefined } | { error: ExitReason }> {
  let r: StartResult;
  try {
    if (typeof spec.start === 'function') r = await spec.start(ctx, extra);
    else {
      const s: StartSpec = spec.start;
      r = await ctx.spawnLink({ ...s, args: childArgs(s.args, extra) });
    }
  } catch (e) {
    return { error: e };
  }
  if ('ok' in r) {
    // Its child id names an actor that has no registered name (in the observer, status --tree).
    if (ctx.isAlive(r.ok)) ctx.stats.labelled(r.ok.key, spec.id);
    return { ok: r.ok };
  }
  if ('ignore' in r) return { ok: undefined };
  return { error: r.error };
}

/** Starts children in start order (oldest first). Stops at the first failure. */
async function startChildren(ctx: ActorContext, children: Child[]): Promise<{ children: Child[]; failed?: { id: string; reason: ExitReason } }> {
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

// --- stopping ---------------------------------------------------------------------------------

/** OTP's shutdown/2: monitor, exit (shutdown or kill), wait for DOWN, kill at the timeout, unlink and flush. */
async function shutdown(ctx: ActorContext, pid: Pid, spec: Spec): Promise<void> {
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
  const expected =
    (spec.shutdown === 'brutal_kill' && reason === 'killed') ||
    reason === 'shutdown' ||
    (spec.restart !== 'permanent' && (reason === 'normal' || isShutdown(reason)));
  if (!expected) ctx.log.error({ child: spec.id, reason: formatReason(reason) }, 'shutdown error');
}

/** Unlink, then take the child's EXIT if it already came: its reason is the real one. */
async function unlinkFlush(ctx: ActorContext, pid: Pid, dflt: ExitReason): Promise<ExitReason> {
  ctx.unlink(pid);
  const exit = await ctx.receive<{ reason: ExitReason }>((m) => isExitMessage(m) && m.from.equals(pid), 0);
  return exit ? exit.reason : dflt;
}

/** Stops static children first to last (newest first); temporary ones are forgotten. */
async function terminateChildren(ctx: ActorContext, children: Child[]): Promise<Child[]> {
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
async function terminateDynamic(ctx: ActorContext, state: State): Promise<void> {
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
    const expected = (brutal && reason === 'killed') || reason === 'shutdown' || (spec.restart !== 'permanent' && (reason === 'normal' || isShutdown(reason)));
    if (!expected) ctx.log.error({ child: spec.id, pid: pid.key, reason: formatReason(reason) }, 'shutdown error');
  }
}

// --- restarting -------------------------------------------------------------------------------

const isSimple = (s: State) => s.strategy === 'simple_one_for_one';

function findById(state: State, id: string): Child | undefined {
  return state.children.find((c) => c.spec.id === id);
}

function setPid(state: State, id: string, pid: Child['pid']): void {
  state.children = state.children.map((c) => (c.spec.id === id ? { ...c, pid } : c));
}

/** OTP's del_child: a dynamic child is forgotten; a static one keeps its spec unless temporary. */
function delChild(state: State, child: Child): void {
  if (isSimple(state)) {
    state.dynamic.delete(child.key!);
    if (isPid(child.pid)) rememberGone(state, child.pid);
    return;
  }
  if (child.spec.restart === 'temporary') state.children = state.children.filter((c) => c.spec.id !== child.spec.id);
  else setPid(state, child.spec.id, undefined);
}

type Outcome = 'ok' | 'shutdown';

function autoShutdown(state: State, child: Child): Outcome {
  if (state.autoShutdown === 'never' || !child.spec.significant) return 'ok';
  if (state.autoShutdown === 'any_significant') return 'shutdown';
  const all = isSimple(state) ? [...state.dynamic.values()] : state.children;
  return all.some((c) => c.pid !== undefined && c.spec.significant) ? 'ok' : 'shutdown';
}

async function onChildExit(ctx: ActorContext, state: State, child: Child, reason: ExitReason): Promise<Outcome> {
  const { restart, id } = child.spec;
  if (restart === 'permanent' || (restart === 'transient' && !isNormalExit(reason))) {
    ctx.log.error({ child: id, reason: formatReason(reason) }, 'child terminated');
    return restartChild(ctx, state, child);
  }
  if (restart === 'temporary' && !isNormalExit(reason)) ctx.log.error({ child: id, reason: formatReason(reason) }, 'child terminated');
  delChild(state, child);
  return autoShutdown(state, child);
}

/** Counts the restart against intensity, then restarts by strategy; a failed start is retried later. */
async function restartChild(ctx: ActorContext, state: State, child: Child): Promise<Outcome> {
  state.restarts = addRestart(state.restarts, Math.floor(ctx.clock.now() / 1000), state.period);
  if (exceeded(state.restarts, state.intensity)) {
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

// --- the behaviour ----------------------------------------------------------------------------

function info(c: Child): ChildInfo {
  return { id: c.key === undefined ? c.spec.id : undefined, child: isRestarting(c.pid) ? 'restarting' : c.pid, type: c.spec.type };
}

async function handleRequest(ctx: ActorContext, state: State, req: SupervisorRequest): Promise<unknown> {
  switch (req.op) {
    case 'whichChildren':
      return (isSimple(state) ? [...state.dynamic.values()].reverse() : state.children).map(info);
    case 'countChildren': {
      const all = isSimple(state) ? [...state.dynamic.values()] : state.children;
      const counts: ChildCounts = { specs: isSimple(state) ? 1 : all.length, active: 0, supervisors: 0, workers: 0 };
      for (const c of all) {
        if (isPid(c.pid)) counts.active++;
        if (c.spec.type === 'supervisor') counts.supervisors++;
        else counts.workers++;
      }
      return counts;
    }
    case 'startChild': {
      if (isSimple(state)) {
        const r = await startChildProcess(ctx, state.template!, req.arg);
        if ('ok' in r && r.ok) state.dynamic.set(r.ok.key, { spec: state.template!, pid: r.ok, args: req.arg, key: r.ok.key });
        return r;
      }
      let spec: Spec;
      try {
        spec = checkChildSpec(req.arg as ChildSpec, state.autoShutdown);
      } catch (e) {
        return { error: e };
      }
      const existing = findById(state, spec.id);
      if (existing) return isPid(existing.pid) ? { error: { already_started: existing.pid } } : { error: 'already_present' };
      const r = await startChildProcess(ctx, spec);
      if ('ok' in r && !(r.ok === undefined && spec.restart === 'temporary')) state.children = [{ spec, pid: r.ok }, ...state.children];
      return r;
    }
    case 'terminateChild': {
      if (isSimple(state)) {
        if (!isPid(req.id)) return { error: 'simple_one_for_one' };
        const child = state.dynamic.get(req.id.key) ?? state.dynamic.get(restartingKey(req.id));
        if (!child) {
          // OTP: a pid that is no longer alive needs no terminating.
          return ctx.isAlive(req.id) === false || state.gone.has(req.id.key) ? { ok: true } : { error: 'not_found' };
        }
        if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
        state.dynamic.delete(child.key!);
        rememberGone(state, req.id);
        return { ok: true };
      }
      const child = typeof req.id === 'string' ? findById(state, req.id) : undefined;
      if (!child) return { error: 'not_found' };
      if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
      delChild(state, child);
      return { ok: true };
    }
    case 'restartChild': {
      if (isSimple(state)) return { error: 'simple_one_for_one' };
      const child = findById(state, req.id);
      if (!child) return { error: 'not_found' };
      if (isRestarting(child.pid)) return { error: 'restarting' };
      if (child.pid !== undefined) return { error: 'running' };
      const r = await startChildProcess(ctx, child.spec);
      if ('ok' in r) setPid(state, child.spec.id, r.ok);
      return r;
    }
    case 'deleteChild': {
      if (isSimple(state)) return { error: 'simple_one_for_one' };
      const child = findById(state, req.id);
      if (!child) return { error: 'not_found' };
      if (isRestarting(child.pid)) return { error: 'restarting' };
      if (child.pid !== undefined) return { error: 'running' };
      state.children = state.children.filter((c) => c !== child);
      return { ok: true };
    }
  }
}

async function resolveInit(init: SupervisorInit): Promise<SupervisorSpec> {
  return typeof init === 'function' ? init() : init;
}

/**
 * The supervisor: a gen_server that traps exits, starts its children in order, restarts them by
 * its strategy within its restart intensity, and stops them in reverse order.
 */
export const supervisorBehaviour: Behaviour<SupervisorInit, State> = {
  async init(init, ctx) {
    ctx.trapExit(true);
    let spec: SupervisorSpec;
    let flags: Flags;
    let specs: Spec[];
    try {
      spec = await resolveInit(init);
      flags = checkFlags(spec);
    } catch (e) {
      return { stop: { supervisor_data: (e as Error).message } };
    }
    try {
      specs = checkStartSpec(spec.children, flags);
    } catch (e) {
      return { stop: { start_spec: (e as Error).message } };
    }
    const state: State = { ...flags, children: [], dynamic: new Map(), restarts: [], gone: new Set() };
    if (flags.strategy === 'simple_one_for_one') {
      state.template = specs[0];
      return { ok: state };
    }
    const children: Child[] = specs.map((s) => ({ spec: s, pid: undefined })).reverse();
    const started = await startChildren(ctx, children);
    if (started.failed) {
      await terminateChildren(ctx, started.children);
      return { stop: { shutdown: { failed_to_start_child: started.failed } } };
    }
    state.children = started.children;
    return { ok: state };
  },

  async handleCall(req: SupervisorRequest, _from, state, ctx) {
    return { reply: await handleRequest(ctx, state, req), state };
  },

  async handleCast(msg: { op: string; id: string }, state, ctx) {
    if (msg?.op !== '$tryAgainRestart') return { state };
    const child = isSimple(state) ? state.dynamic.get(msg.id) : findById(state, msg.id);
    // Only a child still marked restarting is retried: terminateChild cancels the retries.
    if (!child || !isRestarting(child.pid)) return { state };
    const outcome = await restartChild(ctx, state, child);
    return outcome === 'shutdown' ? { stop: 'shutdown', state } : { state };
  },

  async handleInfo(msg, state, ctx) {
    if (!isExitMessage(msg)) {
      ctx.log.warn({ msg: formatReason(msg) }, 'supervisor got an unexpected message');
      return { state };
    }
    const child = isSimple(state) ? state.dynamic.get(msg.from.key) : state.children.find((c) => isPid(c.pid) && c.pid.equals(msg.from));
    if (!child) return { state };
    const outcome = await onChildExit(ctx, state, child, msg.reason);
    return outcome === 'shutdown' ? { stop: 'shutdown', state } : { state };
  },

  async terminate(_reason, state, ctx) {
    if (isSimple(state)) await terminateDynamic(ctx, state);
    else await terminateChildren(ctx, state.children);
  },
};
