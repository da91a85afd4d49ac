/**
 * `node/status`: answers what a node runs, over the bus, for operators' tools (`aotp status`)
 * and chaos tooling on other nodes — as `rpc:call(Node, erlang, registered, [])` would.
 */
import type { Behaviour, Call } from './behaviour.js';
import type { Node } from './node.js';
import { typedName } from './pid.js';

export interface NodeStatus {
  node: string;
  members: string[];
  /** Live actors, named ones first (by name), then anonymous ones (by pid). */
  actors: { pid: string; name?: string }[];
}

export type StatusRequest = StatusProtocol['req'];

/** A refusal: chaos requests are off, a bad pattern, no membership to leave. */
type Refused = { error: string };

/** What `node/status` answers. */
export type StatusProtocol =
  | Call<{ op: 'status' }, NodeStatus | Refused>
  /** Kill (untrappable) the local actors whose names match `pattern` (a RegExp source); answers their pids. */
  | Call<{ op: 'kill'; pattern: string; reason?: string }, { killed: string[] } | Refused>
  /** Leave (or rejoin) the cluster's placement: see Node.setDraining. */
  | Call<{ op: 'drain'; on: boolean }, { draining: boolean } | Refused>
  /** Chaos (only with `chaos` on): cut the node off its bus for `ms`. */
  | Call<{ op: 'pause-bus'; ms: number }, { paused: number } | Refused>;

export const STATUS_NAME = typedName<StatusProtocol>('node/status');

export interface NodeStatusArgs {
  node: Node;
  /** Accept the chaos requests (`kill`, `pause-bus`) from other nodes. Off unless a test or an operator turns it on. */
  chaos?: boolean;
}

export const nodeStatus: Behaviour<NodeStatusArgs, NodeStatusArgs, StatusProtocol> = {
  init(args) {
    return { ok: args };
  },
  handleCall(req, _from, s) {
    if ((req?.op === 'kill' || req?.op === 'pause-bus') && !s.chaos) {
      return { reply: { error: `chaos requests are off on ${s.node.name} (config: chaos)` }, state: s };
    }
    if (req?.op === 'pause-bus') {
      try {
        s.node.pauseBus(req.ms);
      } catch (e) {
        return { reply: { error: (e as Error).message }, state: s };
      }
      return { reply: { paused: req.ms }, state: s };
    }
    if (req?.op === 'kill') {
      let re: RegExp;
      try {
        re = new RegExp(req.pattern);
      } catch (e) {
        return { reply: { error: `bad pattern: ${(e as Error).message}` }, state: s };
      }
      // Never this actor itself: chaos tooling must be able to ask again.
      const killed = s.node
        .actors()
        .filter((a) => a.name !== STATUS_NAME && a.name !== undefined && re.test(a.name))
        .flatMap((a) => s.node.kill(a.pid, req.reason ?? 'kill'))
        .map((p) => p.key);
      return { reply: { killed }, state: s };
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
