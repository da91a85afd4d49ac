/**
 * `aotp chaos`: joins the bus as an observer and, for a duration, kills actors by name pattern
 * and cuts nodes off the bus at random, at the given rates, from a seed (the same seed makes
 * the same sequence of choices); then runs the invariant checker. Nodes must run with
 * `chaos: true`. Killing whole nodes needs a hand on their OS processes: the library takes a
 * `killNode` callback for that (the tests pass one that SIGKILLs and restarts a child process).
 *
 * Every fault is checked from outside after it is requested: a kill counts only when the
 * killed pids are gone from the node's own list of actors, a pause only when the node stops
 * answering for it. A fault that could not be applied is a failure of the run, not a line in
 * the log.
 */
import { prng, STATUS_NAME, type KillReply, type NodeStatus } from '../runtime/index.js';
import { observerNode } from './observer-node.js';
import { nothingChecked, verifyCluster, type ClusterVerdict } from './verify.js';

export interface ChaosOptions {
  servers: string[];
  cluster?: string;
  seed: number;
  durationMs: number;
  /** Actor kills per second (on average), of actors whose name matches `killPattern`. */
  killRate?: number;
  killPattern?: string;
  /** Bus pauses per second, each `pauseMs` long. */
  pauseRate?: number;
  pauseMs?: number;
  /** Whole-node kills per second, by `killNode`. */
  nodeKillRate?: number;
  /** Kills and restarts node `name`; resolves false when it chose not to (e.g. one node is down already). */
  killNode?: (name: string) => Promise<boolean | void>;
  /** Run `aotp verify` at the end (default true). */
  verify?: boolean;
  auth?: { user?: string; pass?: string; token?: string };
}

export type ChaosKind = 'kill-actors' | 'pause-bus' | 'kill-node';

export interface ChaosAction {
  /** ms since the start. */
  at: number;
  node: string;
  kind: ChaosKind;
  /**
   * applied: the fault happened, checked from outside; skipped: nothing to apply it to (no actor
   * matched, or `killNode` declined); failed: it was requested and did not happen.
   */
  outcome: 'applied' | 'skipped' | 'failed';
  detail: string;
  /** kill-actors: the actors that died. */
  killed?: { pid: string; name: string }[];
}

export interface ChaosReport {
  seed: number;
  actions: ChaosAction[];
  /** What happened, counted from the checked outcomes. */
  applied: { actorKills: number; actorsKilled: number; pauses: number; nodeKills: number };
  failed: ChaosAction[];
  verdict?: ClusterVerdict;
}

const TICK_MS = 100;
const CALL_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions, onAction: (a: ChaosAction) => void = () => undefined): Promise<ChaosReport> {
  const random = prng(o.seed);
  const self = await observerNode('chaos', o);
  const actions: ChaosAction[] = [];
  const started = Date.now();
  const act = (a: Omit<ChaosAction, 'at'>) => {
    const full = { ...a, at: Date.now() - started };
    actions.push(full);
    onAction(full);
  };
  /** Nodes cut off by this run, until when: they cannot answer, so nothing else is tried on them. */
  const pausedUntil = new Map<string, number>();
  const killPattern = o.killPattern ?? '^(su|cu|mu/job)/';

  const killActors = async (target: string) => {
    const at = { name: STATUS_NAME, node: target };
    const r = await self.call<KillReply & { error?: string }>(at, { op: 'kill', pattern: killPattern }, { timeout: CALL_MS });
    if (r.error) return act({ node: target, kind: 'kill-actors', outcome: 'failed', detail: r.error });
    if (r.killed.length === 0) return act({ node: target, kind: 'kill-actors', outcome: 'skipped', detail: `no actor matches ${killPattern}` });
    // Pids are never reused: a killed pid still listed by the node is an actor that did not die.
    const now = await self.call<NodeStatus>(at, { op: 'status' }, { timeout: CALL_MS });
    const alive = new Set(now.actors.map((a) => a.pid));
    const survivors = r.killed.filter((k) => alive.has(k.pid) || r.survivors.includes(k.pid));
    if (survivors.length > 0) {
      return act({ node: target, kind: 'kill-actors', outcome: 'failed', detail: `still alive after kill: ${survivors.map((k) => `${k.name} ${k.pid}`).join(', ')}` });
    }
    act({ node: target, kind: 'kill-actors', outcome: 'applied', detail: `${r.killed.length} killed: ${r.killed.map((k) => k.name).join(', ')}`, killed: r.killed });
  };

  const pauseBus = async (target: string) => {
    const ms = o.pauseMs ?? 2000;
    const at = { name: STATUS_NAME, node: target };
    const r = await self.call<{ paused?: number; error?: string }>(at, { op: 'pause-bus', ms }, { timeout: CALL_MS });
    if (r.error) return act({ node: target, kind: 'pause-bus', outcome: 'failed', detail: r.error });
    // Past its pause, the node needs a beat each way before it can answer this observer again.
    pausedUntil.set(target, Date.now() + ms + 1000);
    // A paused node hears nothing: a call to it now must go unanswered.
    const answered = await self.call(at, { op: 'status' }, { timeout: Math.max(50, Math.min(ms / 2, 1000)) }).then(
      () => true,
      () => false,
    );
    act(
      answered
        ? { node: target, kind: 'pause-bus', outcome: 'failed', detail: `asked to pause for ${ms} ms, but it still answers` }
        : { node: target, kind: 'pause-bus', outcome: 'applied', detail: `${ms} ms, unreachable while paused` },
    );
  };

  try {
    await sleep(600); // hear the members' beats
    const p = (rate: number | undefined) => (rate ?? 0) * (TICK_MS / 1000);
    while (Date.now() - started < o.durationMs) {
      const now = Date.now();
      for (const [n, until] of pausedUntil) if (until <= now) pausedUntil.delete(n);
      const members = self.members().filter((m) => !pausedUntil.has(m)).sort();
      if (members.length > 0) {
        const target = members[Math.floor(random() * members.length)]!;
        const roll = random();
        let kind: ChaosKind | undefined;
        if (roll < p(o.killRate)) kind = 'kill-actors';
        else if (roll < p(o.killRate) + p(o.pauseRate)) kind = 'pause-bus';
        else if (o.killNode && roll < p(o.killRate) + p(o.pauseRate) + p(o.nodeKillRate)) kind = 'kill-node';
        try {
          if (kind === 'kill-actors') await killActors(target);
          else if (kind === 'pause-bus') await pauseBus(target);
          else if (kind === 'kill-node') {
            const done = await o.killNode!(target);
            act({ node: target, kind, outcome: done === false ? 'skipped' : 'applied', detail: done === false ? 'declined' : 'killed and restarted' });
          }
        } catch (e) {
          act({ node: target, kind: kind!, outcome: 'failed', detail: `unreachable: ${(e as Error).message}` });
        }
      }
      await sleep(TICK_MS);
    }
  } finally {
    await self.stop();
  }
  const applied = actions.filter((a) => a.outcome === 'applied');
  const report: ChaosReport = {
    seed: o.seed,
    actions,
    applied: {
      actorKills: applied.filter((a) => a.kind === 'kill-actors').length,
      actorsKilled: applied.reduce((n, a) => n + (a.killed?.length ?? 0), 0),
      pauses: applied.filter((a) => a.kind === 'pause-bus').length,
      nodeKills: applied.filter((a) => a.kind === 'kill-node').length,
    },
    failed: actions.filter((a) => a.outcome === 'failed'),
  };
  if (o.verify !== false) report.verdict = await verifyCluster({ servers: o.servers, ...(o.cluster ? { cluster: o.cluster } : {}), ...(o.auth ? { auth: o.auth } : {}) });
  return report;
}

/** The run's summary and whether it failed: a fault not applied, nothing applied at all, or a violation. */
export function chaosVerdict(r: ChaosReport): { ok: boolean; lines: string[] } {
  const a = r.applied;
  const lines = [
    `applied: ${a.actorKills} actor kill(s) (${a.actorsKilled} actor(s) died), ${a.pauses} bus pause(s), ${a.nodeKills} node kill(s); ${r.actions.filter((x) => x.outcome === 'skipped').length} skipped, ${r.failed.length} failed`,
  ];
  let ok = true;
  if (r.failed.length > 0) {
    ok = false;
    const reasons = [...new Set(r.failed.map((f) => `${f.kind} on ${f.node}: ${f.detail}`))];
    lines.push(`${r.failed.length} requested fault(s) could not be applied:`, ...reasons.slice(0, 10).map((x) => `  ${x}`));
  }
  if (r.actions.length > 0 && a.actorKills + a.pauses + a.nodeKills === 0) {
    ok = false;
    lines.push('no fault was applied: nothing was tested');
  }
  if (r.verdict) {
    lines.push(`verdict: ${r.verdict.processes} process log(s), ${r.verdict.violations} violation(s)`);
    if (r.verdict.violations > 0) ok = false;
    const empty = nothingChecked(r.verdict);
    if (empty) {
      ok = false;
      lines.push(empty);
    }
  }
  return { ok, lines };
}
