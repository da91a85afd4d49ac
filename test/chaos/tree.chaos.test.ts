/**
 * Chaos on a supervision tree: root (one_for_one) → two child supervisors → 20 named workers
 * each (`w/0` … `w/39`). A load of concurrent calls (500 ms timeout) goes to random workers
 * by name while seeded random kills hit the tree: a name prefix (`w/1` takes w/1, w/10–19),
 * a set of workers by RegExp, one worker by pid, now and then a whole child supervisor. Kills
 * are paced by completed calls, never by time, for a bounded number of rounds.
 *
 * Checked: every call settles — resolves with the right worker's answer or rejects with a
 * CallError — within its timeout plus a margin; no call hangs; a call the worker never answers
 * (1 in 100) ends by its timeout, and no other call does; once the kills stop the tree
 * recovers (every worker listed and answering); the root never escalates.
 *
 * CHAOS_SEED=<n> replays a run (the seed is in every failure message).
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  CallError,
  formatReason,
  isDownMessage,
  isExitMessage,
  prng,
  settle,
  supervisorSpec,
  whichChildren,
  type Behaviour,
  type ChildSpec,
  type Node,
  type Pid,
} from '../../runtime/index.js';
import { localBusPair, natsPair, oneNode, within, type Nodes, type Topology } from '../property/topology.js';

const WORKER = 'chaos.worker';
const GROUPS = ['a', 'b'] as const;
const PER_GROUP = 20;
const WORKERS = GROUPS.length * PER_GROUP;

const CALL_TIMEOUT = 500;
/** How late past its timeout a call may settle before it counts as hung. */
const MARGIN = 500;
const CONCURRENCY = 48;
/** Share of calls the worker never answers (they time out, unless the worker dies first). */
const GHOSTS = 0.01;
const TOTAL_CALLS = 15_000;
/** A kill round after every KILL_EVERY completed calls, ROUNDS times. */
const KILL_EVERY = 120;
const ROUNDS = 100;

/**
 * A worker answers `ping` with its number, after yielding `spins` times (so calls overlap
 * kills); a `ghost` ping it never answers, so that call can only end by its timeout.
 */
const workerBehaviour: Behaviour<{ n: number }, { n: number }> = {
  init(args) {
    return { ok: args };
  },
  async handleCall(req: { op: 'ping'; spins: number; ghost?: boolean }, _from, state) {
    if (req.ghost) return { noreply: true, state };
    for (let i = 0; i < req.spins; i++) await settle();
    return { reply: { pong: state.n }, state };
  },
};

function groupSpec(group: string, first: number): ChildSpec {
  const workers: ChildSpec[] = Array.from({ length: PER_GROUP }, (_, i) => ({
    id: `w${first + i}`,
    start: { behaviour: WORKER, args: { n: first + i }, options: { name: `w/${first + i}` } },
    shutdown: 'brutal_kill',
  }));
  return {
    id: `sup/${group}`,
    type: 'supervisor',
    start: { ...supervisorSpec({ strategy: 'one_for_one', intensity: 10_000, period: 1, children: workers }), options: { name: `sup/${group}` } },
  };
}

/** A counter whose value can be awaited (`reach(n)` resolves once it is at least n). */
class Counter {
  value = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  inc(): void {
    this.value++;
    this.waiters = this.waiters.filter((w) => (this.value >= w.n ? (w.resolve(), false) : true));
  }
  reach(n: number): Promise<void> {
    if (this.value >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

type Outcome = 'ok' | 'timeout' | 'noproc' | 'exit' | 'noconnection' | 'wrong-answer' | 'not-a-call-error' | 'hung';

interface Stats {
  outcomes: Record<Outcome, number>;
  /** Outcomes of the calls that were never going to be answered. */
  ghosts: Partial<Record<Outcome, number>>;
  maxLateMs: number;
  killed: number;
  rounds: string[];
  problems: string[];
}

async function chaosRun(nodes: Nodes, seed: number): Promise<Stats> {
  const random = prng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const treeNode = nodes.childNode;
  const callerNode = nodes.supNode;
  treeNode.registerBehaviour(WORKER, workerBehaviour);

  // The tree, started linked to an inbox that traps exits: the root's EXIT would land here.
  const ib = treeNode.inbox();
  ib.trapExit(true);
  const root = await ib.spawnLink(
    supervisorSpec({ strategy: 'one_for_one', intensity: 1000, period: 1, children: GROUPS.map((g, i) => groupSpec(g, i * PER_GROUP)) }),
    { name: 'root' },
  );
  if (!('ok' in root)) throw new Error(`tree did not start: ${formatReason(root)}`);
  if (treeNode !== callerNode) await callerNode.connect(treeNode.name);

  const stats: Stats = {
    outcomes: { ok: 0, timeout: 0, noproc: 0, exit: 0, noconnection: 0, 'wrong-answer': 0, 'not-a-call-error': 0, hung: 0 },
    ghosts: {},
    maxLateMs: 0,
    killed: 0,
    rounds: [],
    problems: [],
  };
  const completed = new Counter();

  // --- load: CONCURRENCY callers, each calling random workers until TOTAL_CALLS were made ---
  let issued = 0;
  const oneCall = async (): Promise<void> => {
    const n = pick(WORKERS);
    const spins = pick(3);
    const ghost = random() < GHOSTS;
    const started = performance.now();
    let hang: NodeJS.Timeout | undefined;
    const watchdog = new Promise<'hung'>((resolve) => (hang = setTimeout(() => resolve('hung'), CALL_TIMEOUT + MARGIN)));
    const call = callerNode
      .call<{ pong: number }>({ name: `w/${n}`, node: treeNode.name }, { op: 'ping', spins, ghost }, { timeout: CALL_TIMEOUT })
      .then(
        (r): Outcome => (r?.pong === n && !ghost ? 'ok' : 'wrong-answer'),
        (e: unknown): Outcome => (e instanceof CallError ? e.kind : 'not-a-call-error'),
      );
    const outcome = await Promise.race([call, watchdog]);
    clearTimeout(hang);
    const took = performance.now() - started;
    stats.maxLateMs = Math.max(stats.maxLateMs, took - CALL_TIMEOUT);
    stats.outcomes[outcome]++;
    if (ghost) stats.ghosts[outcome] = (stats.ghosts[outcome] ?? 0) + 1;
    if (outcome === 'hung' || outcome === 'wrong-answer' || outcome === 'not-a-call-error') {
      stats.problems.push(`call ${issued} to w/${n}: ${outcome} after ${took.toFixed(0)} ms`);
    }
    completed.inc();
  };
  const caller = async (): Promise<void> => {
    while (issued < TOTAL_CALLS) {
      issued++;
      await oneCall();
    }
  };

  // --- chaos: a kill round after every KILL_EVERY completed calls ---
  const killRound = async (round: number): Promise<void> => {
    const r = random();
    let what: string;
    let pids: Pid[];
    if (r < 0.4) {
      const prefix = `w/${pick(4)}`;
      what = `prefix ${prefix}`;
      pids = treeNode.kill(prefix);
    } else if (r < 0.8) {
      const ns = Array.from({ length: 1 + pick(5) }, () => pick(WORKERS));
      const re = new RegExp(`^w/(${ns.join('|')})$`);
      what = `regexp ${re.source}`;
      pids = treeNode.kill(re);
    } else if (r < 0.92) {
      const n = pick(WORKERS);
      const pid = treeNode.whereis(`w/${n}`);
      what = `pid of w/${n}${pid ? '' : ' (not registered)'}`;
      pids = pid ? treeNode.kill(pid) : [];
    } else {
      const g = GROUPS[pick(GROUPS.length)]!;
      what = `supervisor sup/${g}`;
      pids = treeNode.kill(new RegExp(`^sup/${g}$`));
    }
    stats.killed += pids.length;
    stats.rounds.push(`round ${round}: ${what} → ${pids.length} killed`);
    // Wait until each victim is gone (DOWN comes after its EXIT reached its supervisor).
    const refs = new Set(pids.map((p) => ib.monitor(p)));
    while (refs.size > 0) {
      const m = await within(ib.receive((x) => isDownMessage(x) && refs.has(x.ref), Infinity), 5000, `DOWN of round ${round}'s victims`);
      if (isDownMessage(m)) refs.delete(m.ref);
    }
  };
  const chaos = async (): Promise<void> => {
    for (let round = 1; round <= ROUNDS; round++) {
      await completed.reach(round * KILL_EVERY);
      await killRound(round);
    }
  };

  try {
    const load = Promise.all(Array.from({ length: CONCURRENCY }, caller));
    await within(Promise.all([load, chaos()]), 60_000, 'the load and the kills');

    // --- recovery: the kills have stopped and every victim is gone; every worker must be back ---
    const groups = await within(whichChildren(ib, root.ok), 5000, 'whichChildren(root)').catch((e: unknown) => {
      stats.problems.push(`whichChildren(root) failed: ${formatReason(e)}`);
      return [];
    });
    for (const g of groups) {
      if (!(g.child && typeof g.child === 'object')) {
        stats.problems.push(`root lists ${g.id} as ${formatReason(g.child)}`);
        continue;
      }
      const workers = await within(whichChildren(ib, g.child), 5000, `whichChildren(${g.id})`).catch((e: unknown) => {
        stats.problems.push(`whichChildren(${g.id}) failed: ${formatReason(e)}`);
        return [];
      });
      const down = workers.filter((w) => !(w.child && typeof w.child === 'object'));
      if (workers.length !== PER_GROUP || down.length > 0) {
        stats.problems.push(`${g.id} lists ${workers.length} workers, not running: ${down.map((w) => `${w.id}=${formatReason(w.child)}`).join(' ')}`);
      }
    }
    for (let n = 0; n < WORKERS; n++) {
      const answer = await callerNode
        .call<{ pong: number }>({ name: `w/${n}`, node: treeNode.name }, { op: 'ping', spins: 0 }, { timeout: CALL_TIMEOUT })
        .catch((e: unknown) => e);
      if ((answer as { pong?: number })?.pong !== n) stats.problems.push(`after the kills w/${n} answered ${formatReason(answer)}`);
    }

    // --- the root never escalated: alive, and no EXIT from it in the inbox ---
    if (!treeNode.isAlive(root.ok)) stats.problems.push('the root supervisor is gone');
    const exits = ib.flush().filter((m) => isExitMessage(m));
    if (exits.length > 0) stats.problems.push(`exit signals reached the root's parent: ${exits.map(formatReason).join(', ')}`);
    return stats;
  } finally {
    ib.unlink(root.ok);
    await treeNode.stopProcess(root.ok, 'shutdown', 5000).catch(() => treeNode.exit(root.ok, 'kill'));
    ib.close();
  }
}

const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : 0x5eed;

function chaosSuite(topology: Topology): void {
  describe(`tree chaos (${topology.name})`, () => {
    it(`calls settle, the tree recovers, the root holds (seed ${SEED})`, async () => {
      const nodes = await topology.start();
      try {
        const t0 = performance.now();
        const stats = await chaosRun(nodes, SEED);
        const summary = {
          seed: SEED,
          ms: Math.round(performance.now() - t0),
          outcomes: stats.outcomes,
          ghosts: stats.ghosts,
          killed: stats.killed,
          maxLateMs: Math.round(stats.maxLateMs),
        };
        console.log(`tree chaos (${topology.name}): ${JSON.stringify(summary)}`);
        expect(stats.problems, `seed ${SEED}\n${stats.rounds.join('\n')}`).toEqual([]);
        expect(stats.outcomes.hung + stats.outcomes['not-a-call-error'] + stats.outcomes['wrong-answer']).toBe(0);
        expect(stats.maxLateMs, `seed ${SEED}: the latest call settled ${stats.maxLateMs} ms past its timeout`).toBeLessThanOrEqual(MARGIN);
        expect(stats.rounds).toHaveLength(ROUNDS);
        expect(stats.killed, 'the kills hit something').toBeGreaterThan(0);
        expect(stats.outcomes.ok, 'most calls still succeed').toBeGreaterThan(TOTAL_CALLS / 2);
        expect(stats.ghosts.timeout ?? 0, 'unanswered calls end by their timeout').toBeGreaterThan(0);
        expect(stats.outcomes.timeout, 'only unanswered calls time out').toBe(stats.ghosts.timeout ?? 0);
      } finally {
        await nodes.stop();
      }
    });
  });
}

const nats = natsPair();
afterAll(() => nats.dispose());

chaosSuite(oneNode);
chaosSuite(localBusPair);
chaosSuite(nats);
