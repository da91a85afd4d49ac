/**
 * An actor that owns one of the node's resources (its LMDB environment, its NATS connection),
 * so the resource's life is the tree's business: placed before what uses it, it is stopped
 * after them and closes the resource then; a resource that fails (a connection closed for
 * good) makes its owner exit with the reason, and the tree decides — restart, or give up and
 * tell whoever runs the node. A restarted owner whose resource is gone exits again at once:
 * what uses the resource cannot be given a new one behind its back, so the tree's restart
 * budget ends it instead of a node that only looks alive.
 */
import type { Behaviour } from './behaviour.js';
import { formatReason, isShutdown, type ExitReason } from './reason.js';

export interface ResourceArgs {
  /** What the resource is, for logs and exit reasons ("the LMDB environment"). */
  resource: string;
  /** Whether it can still be used; checked when the owner starts. */
  alive(): boolean;
  /** Settles when the resource fails (or is closed by someone else); never, if it cannot. */
  failed?(): Promise<unknown>;
  /** Closes it when the tree stops its owner in order (not when the owner crashes or is killed). */
  close?(): Promise<void>;
}

interface State {
  args: ResourceArgs;
  /** Set while the owner itself closes it, so that closing is not taken for a failure. */
  closing: boolean;
}

type Info = { tag: 'failed'; reason: unknown };

/** The exit reason of an owner whose resource failed or was gone when it started. */
export type ResourceFailure = { resource_failed: { resource: string; reason: string } };

const failure = (resource: string, reason: unknown): ResourceFailure => ({
  resource_failed: { resource, reason: reason === undefined ? 'closed' : formatReason(reason instanceof Error ? reason.message : reason) },
});

export const resourceOwner: Behaviour<ResourceArgs, State> = {
  init(args, ctx) {
    if (!args.alive()) return { stop: failure(args.resource, 'gone before its owner started') };
    // The tree's shutdown reaches `terminate` (as a gen_server's does only when it traps exits).
    ctx.trapExit(true);
    const self = ctx.self;
    args.failed?.().then(
      (reason) => ctx.send(self, { tag: 'failed', reason } satisfies Info),
      (reason) => ctx.send(self, { tag: 'failed', reason } satisfies Info),
    );
    return { ok: { args, closing: false } };
  },

  handleInfo(msg: Info, state, ctx) {
    if (msg.tag !== 'failed' || state.closing) return { state };
    ctx.log.error({ resource: state.args.resource, reason: formatReason(msg.reason) }, `${state.args.resource} failed`);
    return { stop: failure(state.args.resource, msg.reason), state };
  },

  async terminate(reason: ExitReason, state) {
    // Only an orderly stop closes it: a crashed or killed owner leaves it to the ones still using it.
    if (!state.args.close || !(isShutdown(reason) || reason === 'normal')) return;
    state.closing = true;
    await state.args.close();
  },
};
