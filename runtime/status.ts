/**
 * `node/status`: answers what a node runs, over the bus, for operators' tools (`aotp status`)
 * and chaos tooling on other nodes — as `rpc:call(Node, erlang, registered, [])` would.
 */
import type { Behaviour, Call } from './behaviour.js';
import type { Node } from './node.js';
import { typedName } from './pid.js';
import type { CrashRecord } from './stats.js';
import { supervisorBehaviour } from './supervisor/supervisor.js';

export interface NodeStatus {
  node: string;
  members: string[];
  /** Live actors, named ones first (by name), then anonymous ones (by pid). */
  actors: { pid: string; name?: string }[];
}

/** One actor as the observer shows it. */
export interface ActorView {
  pid: string;
  name?: string;
  /** The actor that started it linked (its supervisor), when it has one. */
  parent?: string;
  /** Its id in its supervisor's child specs. */
  childId?: string;
  kind: 'supervisor' | 'worker';
  activity: 'init' | 'waiting' | 'running' | 'terminating';
  /** Messages in its mailbox. */
  queued: number;
  handled: number;
  uptimeMs: number;
  /** Restarts: for a supervisor, those it did; for a named worker, its crashes under that name. */
  restarts: number;
}

/** What `observe` answers: the node's tree, members, recent crashes, and what the node adds (its AO view). */
export interface NodeView {
  node: string;
  at: number;
  members: { name: string; state: 'up' | 'draining' | 'down'; since?: number }[];
  draining: boolean;
  actors: ActorView[];
  /** Actors left out past the limit (the tree keeps supervisors and named actors first). */
  truncated: number;
  crashes: CrashRecord[];
  chaos: boolean;
  extra?: unknown;
}

export type StatusRequest = StatusProtocol['req'];

/** A refusal: chaos requests are off, a bad pattern or pause, no membership to leave. */
type Refused = { error: string };

/** What `node/status` answers. */
export type StatusProtocol =
  | Call<{ op: 'status' }, NodeStatus | Refused>
  /** The node's supervision tree with each actor's numbers, its members, recent crashes. */
  | Call<{ op: 'observe'; limit?: number }, NodeView | Refused>
  /** Kill (untrappable) the local actors whose names match `pattern` (a RegExp source), or the one actor `pid`; answers their pids. */
  | Call<{ op: 'kill'; pattern?: string; pid?: string; reason?: string }, KillReply | Refused>
  /** Leave (or rejoin) the cluster's placement: see Node.setDraining. */
  | Call<{ op: 'drain'; on: boolean }, { draining: boolean } | Refused>
  /** Chaos (only with `chaos` on): cut the node off its bus for `ms`. */
  | Call<{ op: 'pause-bus'; ms: number }, { paused: number } | Refused>;

export const STATUS_NAME = typedName<StatusProtocol>('node/status');

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
  /** What the node adds to `observe` (the units' view: AO processes, push jobs…). */
  describe?: () => Promise<unknown> | unknown;
}

const OBSERVE_LIMIT = 2000;

function observe(s: NodeStatusArgs, limit: number): Omit<NodeView, 'extra'> {
  const now = s.node.clock.now();
  const all = s.node.actorProcesses();
  // Supervisors and named actors first: they are the tree; anonymous workers fill what is left.
  all.sort((a, b) => Number(b.behaviourOf === supervisorBehaviour) - Number(a.behaviourOf === supervisorBehaviour) || Number(b.name !== undefined) - Number(a.name !== undefined));
  const kept = all.slice(0, limit);
  const actors = kept.map((a): ActorView => {
    const supervisor = a.behaviourOf === supervisorBehaviour;
    return {
      pid: a.pid.key,
      ...(a.name !== undefined ? { name: a.name } : {}),
      ...(a.parent ? { parent: a.parent.key } : {}),
      ...(s.node.stats.childIds.has(a.pid.key) ? { childId: s.node.stats.childIds.get(a.pid.key)! } : {}),
      kind: supervisor ? 'supervisor' : 'worker',
      activity: a.activity,
      queued: a.queued,
      handled: a.handled,
      uptimeMs: now - a.startedAt,
      restarts: supervisor ? (s.node.stats.supervisorRestarts.get(a.name ?? a.pid.key) ?? 0) : a.name !== undefined ? (s.node.stats.crashesByName.get(a.name) ?? 0) : 0,
    };
  });
  return {
    node: s.node.name,
    at: Date.now(),
    members: s.node.peers(),
    draining: s.node.draining,
    actors,
    truncated: all.length - kept.length,
    crashes: s.node.stats.crashes.slice(-20),
    chaos: s.chaos === true,
  };
}

/** Signals are delivered in a microtask; a macrotask later every exit signal sent now has landed. */
const afterSignals = () => new Promise<void>((resolve) => setImmediate(resolve));

export const nodeStatus: Behaviour<NodeStatusArgs, NodeStatusArgs, StatusProtocol> = {
  init(args) {
    return { ok: args };
  },
  async handleCall(req, from, s, ctx) {
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
      let match: (a: { pid: { key: string }; name: string | undefined }) => boolean;
      if (req.pid !== undefined) match = (a) => a.pid.key === req.pid;
      else {
        let re: RegExp;
        try {
          re = new RegExp(req.pattern ?? '(?!)');
        } catch (e) {
          return { reply: { error: `bad pattern: ${(e as Error).message}` }, state: s };
        }
        match = (a) => a.name !== undefined && re.test(a.name);
      }
      // Never this actor itself: chaos tooling must be able to ask again.
      const targets = s.node.actors().filter((a) => a.name !== STATUS_NAME && match(a));
      for (const a of targets) s.node.kill(a.pid, req.reason ?? 'kill');
      await afterSignals();
      const reply: KillReply = {
        killed: targets.map((a) => ({ pid: a.pid.key, name: a.name ?? a.pid.key })),
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
    if (req?.op === 'observe') {
      const view: NodeView = observe(s, Math.max(1, Math.min(req.limit ?? OBSERVE_LIMIT, OBSERVE_LIMIT)));
      if (s.describe) {
        try {
          view.extra = await s.describe();
        } catch (e) {
          view.extra = { error: (e as Error).message };
        }
      }
      return { reply: view, state: s };
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
