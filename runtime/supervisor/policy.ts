/**
 * A live policy change: what OTP does for a supervisor in a release upgrade, in one step of the
 * supervisor's mailbox. OTP's appup for it is: terminate_child + delete_child for the children
 * the new version drops, `{update, Sup, supervisor}` (code_change: init is called again, new
 * flags and specs replace the old ones, running children keep running), then restart_child for
 * the children it adds. Children added by startChild that the new policy does not name are kept,
 * as code_change keeps them. Nothing changes unless the whole new policy is valid.
 */
import type { ActorContext } from '../context.js';
import { formatReason } from '../reason.js';
import { checkPolicy, type Spec } from './child-spec.js';
import { shutdown, startChildProcess } from './lifecycle.js';
import { isPid, isSimple, setPid, type Child, type State } from './state.js';
import type { ChangePolicyResult, Flags, PolicyChange, SupervisorInit, SupervisorSpec } from './types.js';

/** OTP's `Mod:init(Args)`: the spec, or `ignore`. */
export async function resolveInit(init: SupervisorInit): Promise<SupervisorSpec | 'ignore'> {
  return typeof init === 'function' ? init() : init;
}

const flagsOf = (s: State): Flags => ({ strategy: s.strategy, intensity: s.intensity, period: s.period, autoShutdown: s.autoShutdown });

export async function changePolicy(ctx: ActorContext, state: State, init: SupervisorInit): Promise<ChangePolicyResult> {
  let spec: SupervisorSpec | 'ignore';
  try {
    spec = await resolveInit(init);
  } catch (e) {
    return { error: e };
  }
  if (spec === 'ignore') return { ok: { changed: false, flags: flagsOf(state), terminated: [], started: [], failed: [] } };
  const policy = checkPolicy(spec);
  if ('error' in policy) return policy;
  const { flags, specs } = policy;
  if (isSimple(state) !== (flags.strategy === 'simple_one_for_one')) {
    return { error: { supervisor_data: { kind: 'invalid_strategy_change', value: { from: state.strategy, to: flags.strategy } } } };
  }
  const change: PolicyChange = { changed: true, flags, terminated: [], started: [], failed: [] };
  if (isSimple(state)) {
    // The template is the spec of every dynamic child: restarts and shutdowns follow the new one.
    const template = specs[0]!;
    state.template = template;
    for (const c of state.dynamic.values()) c.spec = template;
    Object.assign(state, flags);
  } else {
    const ids = new Set(specs.map((s) => s.id));
    await removeDropped(ctx, state, ids, change);
    Object.assign(state, flags);
    const current = new Map(state.children.map((c) => [c.spec.id, c]));
    // OTP's update_childspec: the new spec's order, after (so stopped before) the children it
    // does not name; running children keep their pids.
    const others = state.children.filter((c) => !ids.has(c.spec.id));
    state.children = [...others, ...specs.map((s): Child => ({ spec: s, pid: current.get(s.id)?.pid })).reverse()];
    state.policyIds = ids;
    await startAdded(ctx, state, specs.filter((s) => !current.has(s.id)), change);
  }
  ctx.log.info({ flags, terminated: change.terminated, started: change.started, failed: change.failed.map((f) => f.id) }, 'supervision policy changed');
  return { ok: change };
}

/** Children the old policy had and the new one drops, stopped newest first (their old shutdown applies) and deleted. */
async function removeDropped(ctx: ActorContext, state: State, ids: Set<string>, change: PolicyChange): Promise<void> {
  for (const child of state.children.filter((c) => state.policyIds.has(c.spec.id) && !ids.has(c.spec.id))) {
    if (isPid(child.pid)) await shutdown(ctx, child.pid, child.spec);
    state.children = state.children.filter((c) => c.spec.id !== child.spec.id);
    change.terminated.push(child.spec.id);
  }
}

/** Children the new policy adds, started in start order, as restart_child would. */
async function startAdded(ctx: ActorContext, state: State, added: Spec[], change: PolicyChange): Promise<void> {
  for (const spec of added) {
    const r = await startChildProcess(ctx, spec);
    if ('error' in r) {
      ctx.log.error({ child: spec.id, reason: formatReason(r.error) }, 'child added by a policy change failed to start');
      change.failed.push({ id: spec.id, reason: r.error });
      continue;
    }
    if (r.ok === undefined && spec.restart === 'temporary') state.children = state.children.filter((c) => c.spec.id !== spec.id);
    else setPid(state, spec.id, r.ok);
    change.started.push(spec.id);
  }
}
