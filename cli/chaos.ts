/**
 * `aotp chaos`: joins the bus as an observer and, for a duration, kills actors by name pattern
 * and cuts nodes off the bus at random, at the given rates, from a seed (the same seed makes
 * the same sequence of choices); then runs the invariant checker. Nodes must run with
 * `chaos: true`. Killing whole nodes needs a hand on their OS processes: the library takes a
 * `killNode` callback for that (the tests pass one that SIGKILLs and restarts a child process).
 */
import { NatsTransport, Node, prng, STATUS_NAME } from '../runtime/index.js';
import { verifyCluster, type ClusterVerdict } from './verify.js';

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
  killNode?: (name: string) => Promise<void>;
  /** Run `aotp verify` at the end (default true). */
  verify?: boolean;
  auth?: { user?: string; pass?: string; token?: string };
}

export interface ChaosAction {
  /** ms since the start. */
  at: number;
  node: string;
  kind: 'kill-actors' | 'pause-bus' | 'kill-node';
  detail: string;
}

export interface ChaosReport {
  seed: number;
  actions: ChaosAction[];
  verdict?: ClusterVerdict;
}

const TICK_MS = 100;

export async function runChaos(o: ChaosOptions, onAction: (a: ChaosAction) => void = () => undefined): Promise<ChaosReport> {
  const random = prng(o.seed);
  const transport = new NatsTransport({ servers: o.servers, cluster: o.cluster ?? 'aotp', observer: true, auth: o.auth ?? {} });
  const self = await Node.start({ name: `chaos-${process.pid}-${Date.now().toString(36)}`, transport });
  const actions: ChaosAction[] = [];
  const started = Date.now();
  const act = (a: Omit<ChaosAction, 'at'>) => {
    const full = { ...a, at: Date.now() - started };
    actions.push(full);
    onAction(full);
  };
  try {
    await new Promise((r) => setTimeout(r, 600)); // hear the members' beats
    const p = (rate: number | undefined) => (rate ?? 0) * (TICK_MS / 1000);
    while (Date.now() - started < o.durationMs) {
      const members = self.members().sort();
      if (members.length > 0) {
        const target = members[Math.floor(random() * members.length)]!;
        const roll = random();
        const at = { name: STATUS_NAME, node: target };
        try {
          if (roll < p(o.killRate)) {
            const r = await self.call<{ killed?: string[]; error?: string }>(at, { op: 'kill', pattern: o.killPattern ?? '^(su|cu|mu/job)/' }, { timeout: 2000 });
            act({ node: target, kind: 'kill-actors', detail: r.error ?? `${r.killed?.length ?? 0} killed` });
          } else if (roll < p(o.killRate) + p(o.pauseRate)) {
            const ms = o.pauseMs ?? 2000;
            const r = await self.call<{ error?: string }>(at, { op: 'pause-bus', ms }, { timeout: 2000 });
            act({ node: target, kind: 'pause-bus', detail: r.error ?? `${ms} ms` });
          } else if (o.killNode && roll < p(o.killRate) + p(o.pauseRate) + p(o.nodeKillRate)) {
            await o.killNode(target);
            act({ node: target, kind: 'kill-node', detail: 'killed' });
          }
        } catch (e) {
          act({ node: target, kind: 'kill-actors', detail: `unreachable: ${(e as Error).message}` });
        }
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    await self.stop();
  }
  const report: ChaosReport = { seed: o.seed, actions };
  if (o.verify !== false) report.verdict = await verifyCluster({ servers: o.servers, ...(o.cluster ? { cluster: o.cluster } : {}), ...(o.auth ? { auth: o.auth } : {}) });
  return report;
}
