/**
 * A live policy change for a whole supervision tree, top down, as a release upgrade updates each
 * supervisor of an application: the new tree is checked first (every supervisor's flags and
 * child specs, nested ones through their start), so an invalid tree changes nothing; then each
 * running supervisor takes its part (changePolicy), the parent before its children.
 */
import type { Caller } from '../context.js';
import type { Pid } from '../pid.js';
import type { ExitReason } from '../reason.js';
import { changePolicy, whichChildren, type SupervisorRef } from './api.js';
import { checkPolicy } from './child-spec.js';
import { resolveInit } from './policy.js';
import { supervisorBehaviour } from './supervisor.js';
import type { ChildSpec, PolicyChange, SupervisorInit } from './types.js';

/** What one supervisor of the tree did; `path` is its child ids from the root (`root/cu/processes`). */
export interface TreeChange {
  path: string;
  change: PolicyChange;
}

export type TreePolicyResult = { ok: TreeChange[] } | { error: { path: string; error: ExitReason } };

/**
 * The init of a child supervisor: a child of type supervisor started from a start spec (the
 * supervisor behaviour, or a behaviour registered by name, maybe on another node), as OTP's
 * release handler takes every child of type supervisor for a supervisor.
 */
function supervisorInit(spec: ChildSpec): SupervisorInit | undefined {
  const start = spec.start;
  if (typeof start !== 'object' || (spec.type ?? 'worker') !== 'supervisor') return undefined;
  return start.behaviour === supervisorBehaviour || typeof start.behaviour === 'string' ? (start.args as SupervisorInit) : undefined;
}

/** Checks the whole tree; the first problem, with the path of the supervisor it is in. */
async function check(init: SupervisorInit, path: string): Promise<{ path: string; error: ExitReason } | undefined> {
  let spec;
  try {
    spec = await resolveInit(init);
  } catch (e) {
    return { path, error: e };
  }
  if (spec === 'ignore') return undefined;
  const policy = checkPolicy(spec);
  if ('error' in policy) return { path, error: policy.error };
  for (const child of policy.specs) {
    const sub = supervisorInit(child as ChildSpec);
    const problem = sub === undefined ? undefined : await check(sub, `${path}/${child.id}`);
    if (problem) return problem;
  }
  return undefined;
}

async function apply(caller: Caller, sup: SupervisorRef, init: SupervisorInit, path: string, out: TreeChange[]): Promise<TreePolicyResult | undefined> {
  const r = await changePolicy(caller, sup, init);
  if (!('ok' in r)) return { error: { path, error: r.error } };
  out.push({ path, change: r.ok });
  if (!r.ok.changed) return undefined;
  const spec = await resolveInit(init);
  if (spec === 'ignore' || !Array.isArray(spec.children)) return undefined;
  const running = new Map<string, Pid>();
  for (const c of await whichChildren(caller, sup)) if (c.id !== undefined && typeof c.child === 'object') running.set(c.id, c.child);
  for (const child of spec.children) {
    const sub = supervisorInit(child);
    const pid = running.get(child.id);
    // A child supervisor started by this change, or not running, starts with its new policy anyway.
    if (sub === undefined || pid === undefined || r.ok.started.includes(child.id)) continue;
    const failed = await apply(caller, pid, sub, `${path}/${child.id}`, out);
    if (failed) return failed;
  }
  return undefined;
}

/**
 * Gives the running tree under `root` the policy `init` describes (nested supervisors through
 * their child specs' starts). `init` and the nested inits are local values (they may hold
 * functions): call this on the tree's own node.
 */
export async function changeTreePolicy(caller: Caller, root: SupervisorRef, init: SupervisorInit, path = 'root'): Promise<TreePolicyResult> {
  const problem = await check(init, path);
  if (problem) return { error: problem };
  const out: TreeChange[] = [];
  return (await apply(caller, root, init, path, out)) ?? { ok: out };
}
