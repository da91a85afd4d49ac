/**
 * `node/status`: answers what a node runs, over the bus, for operators' tools (`aotp status`)
 * and chaos tooling on other nodes — as `rpc:call(Node, erlang, registered, [])` would.
 */
import type { Behaviour } from './behaviour.js';
import type { Node } from './node.js';

export const STATUS_NAME = 'node/status';

export interface NodeStatus {
  node: string;
  members: string[];
  /** Live actors, named ones first (by name), then anonymous ones (by pid). */
  actors: { pid: string; name?: string }[];
}

export type StatusRequest =
  | { op: 'status' }
  /** Kill (untrappable) the local actors whose names match `pattern` (a RegExp source); answers their pids. */
  | { op: 'kill'; pattern: string; reason?: string }
  /** Leave (or rejoin) the cluster's placement: see Node.setDraining. */
  | { op: 'drain'; on: boolean }
  /** Chaos (only with `chaos` on): cut the node off its bus for `ms`. */
  | { op: 'pause-bus'; ms: number };

/** The answer to `kill`: what was killed, and which of those were still alive once the exit signals were delivered. */
export interface KillReply {
  killed: { pid: string; name: string }[];
  /** Pids that outlived their kill (should be none: `kill` is untrappable). */
  survivors: string[];
}

export interface NodeStatusArgs {
  node: Node;
  /** Accept the chaos requests (`kill`, `pause-bus`) from other nodes. Off unless a test or an operator turns it on. */
  chaos?: boolean;
}

/** Signals are delivered in a microtask; a macrotask later every exit signal sent now has landed. */
const afterSignals = () => new Promise<void>((resolve) => setImmediate(resolve));

export const nodeStatus: Behaviour<NodeStatusArgs, NodeStatusArgs> = {
  init(args) {
    return { ok: args };
  },
  async handleCall(req: StatusRequest, from, s, ctx) {
    if ((req?.op === 'kill' || req?.op === 'pause-bus') && !s.chaos) {
      return { reply: { error: `chaos requests are off on ${s.node.name} (config: chaos)` }, state: s };
    }
    if (req?.op === 'pause-bus') {
      if (!(Number.isFinite(req.ms) && req.ms > 0)) return { reply: { error: `bad pause: ${String(req.ms)} ms` }, state: s };
      if (!s.node.canPauseBus()) return { reply: { error: `the bus of ${s.node.name} cannot be paused` }, state: s };
      // Answer first: once paused, this node sends nothing, the reply included.
      ctx.reply(from, { paused: req.ms });
      ctx.log.warn({ ms: req.ms }, `chaos: bus paused for ${req.ms} ms`);
      s.node.pauseBus(req.ms);
      return { noreply: true, state: s };
    }
    if (req?.op === 'kill') {
      let re: RegExp;
      try {
        re = new RegExp(req.pattern);
      } catch (e) {
        return { reply: { error: `bad pattern: ${(e as Error).message}` }, state: s };
      }
      // Never this actor itself: chaos tooling must be able to ask again.
      const targets = s.node.actors().filter((a) => a.name !== STATUS_NAME && a.name !== undefined && re.test(a.name));
      for (const a of targets) s.node.kill(a.pid, req.reason ?? 'kill');
      await afterSignals();
      const reply: KillReply = {
        killed: targets.map((a) => ({ pid: a.pid.key, name: a.name! })),
        survivors: targets.filter((a) => s.node.isAlive(a.pid)).map((a) => a.pid.key),
      };
      if (targets.length > 0) ctx.log.warn({ killed: reply.killed.map((k) => k.name), survivors: reply.survivors }, `chaos: killed ${targets.length} actor(s)`);
      return { reply, state: s };
    }
    if (req?.op === 'drain') {
      try {
        s.node.setDraining(req.on);
      } catch (e) {
        return { reply: { error: (e as Error).message }, state: s };
      }
      return { reply: { draining: req.on }, state: s };
    }
    if (req?.op !== 'status') return { reply: { error: 'unknown request' }, state: s };
    const actors = s.node
      .actors()
      .map(({ pid, name }) => (name ? { pid: pid.key, name } : { pid: pid.key }))
      .sort((a, b) => (a.name && b.name ? a.name.localeCompare(b.name) : a.name ? -1 : b.name ? 1 : a.pid.localeCompare(b.pid)));
    const reply: NodeStatus = { node: s.node.name, members: s.node.members(), actors };
    return { reply, state: s };
  },
};
