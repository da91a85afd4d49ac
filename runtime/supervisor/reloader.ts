/**
 * `node/policy`: applies a new supervision policy to the running tree of its node, when asked
 * over the bus (`aotp reload`) or from the node itself. The policy is plain data (it crosses the
 * bus); the reloader turns it into the tree's init (which may hold functions) on its own node,
 * and changes the tree live (changeTreePolicy): no child restarts, nothing in flight is dropped.
 */
import type { Behaviour, Call } from '../behaviour.js';
import { isSendable } from '../codec.js';
import { typedName } from '../pid.js';
import { formatReason, type ExitReason } from '../reason.js';
import type { SupervisorRef } from './api.js';
import { changeTreePolicy, type TreeChange } from './tree-policy.js';
import type { SupervisorInit } from './types.js';

export interface ReloaderArgs<P> {
  /** The tree's root supervisor. */
  root: SupervisorRef;
  /** The policy the tree runs now. */
  current: P;
  /** Checks a policy that came over the bus: the policy, or what is wrong with it. */
  parse(raw: unknown): { ok: P } | { error: string };
  /** The tree's init for a policy. */
  tree(policy: P): SupervisorInit;
  /** The settings that differ between two policies (for the report and the log). */
  diff(from: P, to: P): Record<string, unknown>;
}

export interface ReloadReport {
  node: string;
  /** The settings that changed (`diff` of the policies). */
  changed: Record<string, unknown>;
  /** What each supervisor of the tree did (children started or stopped, new flags). */
  supervisors: TreeChange[];
}

export type ReloadError =
  /** The policy does not validate: nothing changed. */
  | { kind: 'invalid_policy'; message: string }
  /** A supervisor refused its part (see `path`); supervisors before it in the tree took theirs. */
  | { kind: 'refused'; path: string; reason: ExitReason };

export type ReloadReply = { ok: ReloadReport } | { error: ReloadError };

export type ReloaderProtocol = Call<{ op: 'reload'; policy: unknown }, ReloadReply> | Call<{ op: 'policy' }, unknown>;

export const RELOADER = typedName<ReloaderProtocol>('node/policy');

/** Reasons in a report go as data when they can, else as text: a reply must cross the bus. */
const sendable = (report: ReloadReport): ReloadReport =>
  isSendable(report)
    ? report
    : {
        ...report,
        supervisors: report.supervisors.map((s) => ({
          ...s,
          change: { ...s.change, failed: s.change.failed.map((f) => ({ id: f.id, reason: isSendable(f.reason) ? f.reason : formatReason(f.reason) })) },
        })),
      };

export const reloader: Behaviour<ReloaderArgs<unknown>, ReloaderArgs<unknown>, ReloaderProtocol> = {
  init(args) {
    return { ok: args };
  },

  async handleCall(req, _from, s, ctx) {
    if (req?.op === 'policy') return { reply: s.current, state: s };
    if (req?.op !== 'reload') return { reply: { error: { kind: 'invalid_policy', message: 'unknown request' } }, state: s };
    const parsed = s.parse(req.policy);
    if ('error' in parsed) return { reply: { error: { kind: 'invalid_policy', message: parsed.error } }, state: s };
    const changed = s.diff(s.current, parsed.ok);
    const r = await changeTreePolicy(ctx, s.root, s.tree(parsed.ok));
    if ('error' in r) {
      ctx.log.error({ path: r.error.path, reason: formatReason(r.error.error) }, 'supervision policy refused');
      const reason = isSendable(r.error.error) ? r.error.error : formatReason(r.error.error);
      return { reply: { error: { kind: 'refused', path: r.error.path, reason } }, state: s };
    }
    ctx.log.info({ changed }, 'supervision policy reloaded');
    return { reply: { ok: sendable({ node: ctx.nodeName, changed, supervisors: r.ok }) }, state: { ...s, current: parsed.ok } };
  },
};
