/** The supervisor's calls (OTP's handle_call clauses) and what each answers. */
import type { Call } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import { SpecError } from '../errors.js';
import type { Pid } from '../pid.js';
import { checkChildSpec, specView, type Spec } from './child-spec.js';
import { shutdown, startChildProcess } from './lifecycle.js';
import { changePolicy } from './policy.js';
import { delChild, findById, findDynamic, info, isPid, isRestarting, isSimple, rememberGone, setPid, type State } from './state.js';
import type {
  ChangePolicyResult,
  ChildCounts,
  ChildInfo,
  ChildOpResult,
  Flags,
  GetChildspecResult,
  RestartChildResult,
  StartChildResult,
  SupervisorInit,
} from './types.js';

/** Every call a supervisor answers, with its reply (the API in api.ts makes them). */
export type SupervisorProtocol =
  | Call<{ op: 'startChild'; arg: unknown }, StartChildResult>
  | Call<{ op: 'terminateChild'; id: string | Pid }, ChildOpResult>
  | Call<{ op: 'restartChild'; id: string }, RestartChildResult>
  | Call<{ op: 'deleteChild'; id: string }, ChildOpResult>
  | Call<{ op: 'getChildspec'; id: string | Pid }, GetChildspecResult>
  | Call<{ op: 'whichChildren' }, ChildInfo[]>
  | Call<{ op: 'countChildren' }, ChildCounts>
  | Call<{ op: 'getFlags' }, Flags>
  | Call<{ op: 'changePolicy'; init: SupervisorInit }, ChangePolicyResult>;

export type SupervisorRequest = SupervisorProtocol['req'];

function counts(state: State): ChildCounts {
  const all = isSimple(state) ? [...state.dynamic.values()] : state.children;
  const out: ChildCounts = { specs: isSimple(state) ? 1 : all.length, active: 0, supervisors: 0, workers: 0 };
  for (const c of all) {
    if (isPid(c.pid)) out.active++;
    if (c.spec.type === 'supervisor') out.supervisors++;
    else out.workers++;
  }
  return out;
}

async function startChild(ctx: ActorContext, state: State, arg: unknown): Promise<StartChildResult> {
  if (isSimple(state)) {
    const r = await startChildProcess(ctx, state.template!, arg);
    if ('ok' in r && r.ok) state.dynamic.set(r.ok.key, { spec: state.template!, pid: r.ok, args: arg, key: r.ok.key });
    return r;
  }
  let spec: Spec;
  try {
    spec = checkChildSpec(arg, state.autoShutdown);
  } catch (e) {
    if (e instanceof SpecError) return { error: e.problem };
    throw e;
  }
  const existing = findById(state, spec.id);
  if (existing) return isPid(existing.pid) ? { error: { already_started: existing.pid } } : { error: 'already_present' };
  const r = await startChildProcess(ctx, spec);
  if ('error' in r) {
    const e = r.error;
    // OTP passes a taken name through as is; any other failure comes with the spec it was for.
    if (typeof e === 'object' && e !== null && 'already_started' in e) return { error: e };
    return { error: { reason: e, childSpec: specView(spec) } };
  }
  if (!(r.ok === undefined && spec.restart === 'temporary')) state.children = [{ spec, pid: r.ok }, ...state.children];
  return r;
}

async function terminateChild(ctx: ActorContext, state: State, id: string | Pid): Promise<ChildOpResult> {
  if (isSimple(state)) {
    if (!isPid(id)) return { error: 'simple_one_for_one' };
    const child = findDynamic(state, id);
    if (!child) {
      // OTP: a pid that is no longer alive needs no terminating.
      return ctx.isAlive(id) === false || state.gone.has(id.key) ? { ok: true } : { error: 'not_found' };
    }
    if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
    state.dynamic.delete(child.key!);
    rememberGone(state, id);
    return { ok: true };
  }
  const child = typeof id === 'string' ? findById(state, id) : undefined;
  if (!child) return { error: 'not_found' };
  if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
  delChild(state, child);
  return { ok: true };
}

async function restartChild(ctx: ActorContext, state: State, id: string): Promise<RestartChildResult> {
  if (isSimple(state)) return { error: 'simple_one_for_one' };
  const child = findById(state, id);
  if (!child) return { error: 'not_found' };
  if (isRestarting(child.pid)) return { error: 'restarting' };
  if (child.pid !== undefined) return { error: 'running' };
  const r = await startChildProcess(ctx, child.spec);
  if ('ok' in r) setPid(state, child.spec.id, r.ok);
  return r;
}

function deleteChild(state: State, id: string): ChildOpResult {
  if (isSimple(state)) return { error: 'simple_one_for_one' };
  const child = findById(state, id);
  if (!child) return { error: 'not_found' };
  if (isRestarting(child.pid)) return { error: 'restarting' };
  if (child.pid !== undefined) return { error: 'running' };
  state.children = state.children.filter((c) => c !== child);
  return { ok: true };
}

/**
 * OTP's get_childspec: by id; for simple_one_for_one, by a child's pid (or the template's id).
 * As OTP's find_child, a pid that is gone names the template too.
 */
function getChildspec(ctx: ActorContext, state: State, id: string | Pid): GetChildspecResult {
  if (isSimple(state)) {
    const template = state.template!;
    const known = isPid(id) ? findDynamic(state, id) !== undefined || ctx.isAlive(id) === false || state.gone.has(id.key) : id === template.id;
    return known ? { ok: specView(template) } : { error: 'not_found' };
  }
  const child = typeof id === 'string' ? findById(state, id) : undefined;
  return child ? { ok: specView(child.spec) } : { error: 'not_found' };
}

export async function handleRequest(ctx: ActorContext, state: State, req: SupervisorRequest): Promise<SupervisorProtocol['reply']> {
  switch (req.op) {
    case 'whichChildren':
      return (isSimple(state) ? [...state.dynamic.values()].reverse() : state.children).map(info);
    case 'countChildren':
      return counts(state);
    case 'startChild':
      return startChild(ctx, state, req.arg);
    case 'terminateChild':
      return terminateChild(ctx, state, req.id);
    case 'restartChild':
      return restartChild(ctx, state, req.id);
    case 'deleteChild':
      return deleteChild(state, req.id);
    case 'getChildspec':
      return getChildspec(ctx, state, req.id);
    case 'getFlags': {
      const { strategy, intensity, period, autoShutdown } = state;
      return { strategy, intensity, period, autoShutdown };
    }
    case 'changePolicy':
      return changePolicy(ctx, state, req.init);
  }
}
