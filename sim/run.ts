/**
 * One simulation run: a world of `nodes` nodes boots, the workload and the faults play out over
 * `durationMs` of virtual time, then everything heals and the run settles (every client answered,
 * every push job ended), and the invariants are checked. The same options give the same run,
 * event for event: `traceHash` says so.
 */
import { DEFAULT_FAULTS, Faults, type Fault } from './faults.js';
import { isTerminal } from '../units/mu/job.js';
import { CuStore } from '../units/cu/store.js';
import { SimStore } from '../runtime/sim/disk.js';
import { checkFinal, checkLogs, clusterJobs, type LogSource, type Violation } from './invariants.js';
import { streamSource } from './stream.js';
import { simConfig } from './node.js';
import { referenceResults, type Reference } from './verifier.js';
import { Workload, type Op } from './workload.js';
import { EPOCH, World } from './world.js';

export interface SimOptions {
  seed: number;
  nodes?: number;
  processes?: number;
  messages?: number;
  faults?: readonly Fault[];
  /** Faults in one run (default: one per four messages). */
  faultCount?: number;
  /** Virtual ms the workload and the faults are spread over (default 30 s). */
  durationMs?: number;
  /** The client operations to draw from (default all). */
  ops?: readonly Op[];
  /** Spawn a monitored cron process. Default: with probability 1/3, by the seed. */
  cron?: boolean;
  /** Probability that a disk commit or evaluator step kills a busy actor (default: by the seed, up to 5%). */
  killOnActivity?: number;
  /** Loss probability of single frames between nodes (default 0). */
  loss?: number;
  /** Print every trace line as it happens. */
  verbose?: (line: string) => void;
  /** Called with the world and the workload once the run is judged (tests look inside). */
  inspect?: (w: World, workload: Workload) => void;
}

export interface SimReport {
  seed: number;
  ok: boolean;
  violations: Violation[];
  /** sha256 of the whole event trace. */
  traceHash: string;
  traceLines: number;
  events: number;
  /** Virtual ms the run took, and real ms. */
  virtualMs: number;
  realMs: number;
  /** Real ms per phase: boot, run, settle, verify, check. */
  phases: Record<string, number>;
  faults: string[];
  /** The last trace lines (what led to the end, or to the first violation). */
  lastEvents: string[];
  stats: { requests: number; accepted: number; reads: number; processes: number; slots: number; framesSent: number; framesLost: number; evaluatedAhead: number; droppedAhead: number };
  /** How to run this seed again. */
  replay: string;
}

/** Real time (the world replaces performance.now while it runs). */
const realNow = performance.now.bind(performance);

/** How long the run may take to settle after the fault window, virtual ms. */
const SETTLE_MS = 180_000;

export function replayCommand(o: SimOptions): string {
  const parts = [`aotp sim --seed ${o.seed}`];
  if (o.nodes !== undefined) parts.push(`--nodes ${o.nodes}`);
  if (o.processes !== undefined) parts.push(`--processes ${o.processes}`);
  if (o.messages !== undefined) parts.push(`--messages ${o.messages}`);
  if (o.faults !== undefined) parts.push(`--faults ${o.faults.length ? o.faults.join(',') : 'none'}`);
  if (o.faultCount !== undefined) parts.push(`--fault-count ${o.faultCount}`);
  if (o.durationMs !== undefined) parts.push(`--duration ${o.durationMs}`);
  if (o.cron !== undefined) parts.push(o.cron ? '--cron' : '--no-cron');
  if (o.killOnActivity !== undefined) parts.push(`--kill-on-activity ${o.killOnActivity}`);
  if (o.loss) parts.push(`--loss ${o.loss}`);
  if (o.ops) parts.push(`--ops ${o.ops.join(',')}`);
  return parts.join(' ');
}

export async function simulate(o: SimOptions): Promise<SimReport> {
  const real0 = realNow();
  const phases: Record<string, number> = {};
  let mark = real0;
  const enter = (p: string) => {
    const t = realNow();
    phases[p] = Math.round(t - mark);
    mark = t;
  };
  const nodes = o.nodes ?? 1;
  const messages = o.messages ?? 12;
  const durationMs = o.durationMs ?? 30_000;
  const w = new World({ seed: o.seed, nodes, ...(o.loss ? { loss: o.loss } : {}), ...(o.verbose ? { verbose: o.verbose } : {}) });
  const violations: Violation[] = [];
  w.install();
  let workload: Workload | undefined;
  let faults: Faults | undefined;
  try {
    const cron = o.cron ?? w.random('options')() < 1 / 3;
    workload = new Workload(w, { processes: o.processes ?? 3, messages, durationMs, cron, ...(o.ops ? { ops: o.ops } : {}) });
    faults = new Faults(w, {
      kinds: (o.faults ?? DEFAULT_FAULTS).filter((f) => nodes > 1 || (f !== 'partition' && f !== 'jetstream')),
      count: o.faultCount ?? Math.ceil(messages / 4),
      from: 1000,
      to: 1000 + durationMs,
      // In a cluster a node may come back without its disk: JetStream holds the logs, push jobs,
      // results and checkpoints. A single node's disk is all it has.
      diskLoss: nodes > 1 ? 0.3 : 0,
      killOnActivity: o.killOnActivity ?? w.random('options')() * 0.05,
      maxJumpMs: 2000,
    });
    const wl = workload;
    const f = faults;
    let phase: 'boot' | 'run' | 'settle' | 'verify' | 'done' = 'boot';
    let reference: Reference = new Map();
    let extra: LogSource[] = [];
    let settledAt = Infinity;
    let failure: Error | undefined;
    const script = (async () => {
      await Promise.all(w.names.map((n) => w.start(n)));
      enter('boot');
      phase = 'run';
      wl.start();
      f.start();
      await until(w, () => w.now >= 1000 + durationMs);
      enter('run');
      phase = 'settle';
      w.trace.record('heal: the fault window is over');
      await f.healAll();
      const deadline = w.now + SETTLE_MS;
      await until(w, () => (wl.done && jobsDone(w)) || w.now > deadline, 1000);
      if (!wl.done || !jobsDone(w)) violations.push({ invariant: 'settled', detail: `not settled ${SETTLE_MS / 1000} s after the fault window (clients done: ${wl.done})` });
      enter('settle');
      settledAt = EPOCH + w.now;
      phase = 'verify';
      const stream = await streamSource(w, violations);
      extra = stream ? [stream] : [];
      // A process whose instance was only ever made once was evaluated straight through, by the
      // same code the reference would run: only the others need it.
      // So do those whose results no disk holds any more (a node that lost its disk computed them).
      const logs = checkLogs(w, [], extra);
      const interrupted = [...logs.keys()].filter((p) => (w.instantiations.get(p) ?? 0) > 1 || missingResults(w, p, logs.get(p)!.length));
      reference = await referenceResults(w, interrupted, simConfig('verifier').cu, extra);
      enter('verify');
      phase = 'done';
    })().catch((e: Error) => (failure = e));
    // The run's own checks, every few virtual seconds.
    // A violation found while running stops the run there (its last events are what led to it).
    let early = false;
    const check = () => {
      if (phase === 'done' || phase === 'verify') return;
      const before = violations.length;
      checkLogs(w, violations);
      for (const late of w.calls.late.splice(0)) violations.push({ invariant: 'calls', detail: late });
      early = violations.length > before;
      if (!early) w.sched.after(2000, check, undefined, 'check');
    };
    w.sched.after(2000, check, undefined, 'check');
    await w.sched.run({ stop: () => phase === 'done' || failure !== undefined || early });
    for (const m of faults.missed) violations.push({ invariant: 'settled', detail: `a fault did not take effect: ${m}` });
    if (failure) violations.push({ invariant: 'settled', detail: `the run failed: ${(failure as Error).stack ?? failure}` });
    if (!early && !failure) {
      for (const late of w.calls.late.splice(0)) violations.push({ invariant: 'calls', detail: late });
      for (const overdue of w.calls.overdue(w.now)) violations.push({ invariant: 'calls', detail: overdue });
      checkFinal(w, wl, violations, reference, extra, settledAt);
      enter('check');
    }
    o.inspect?.(w, workload);
  } finally {
    w.uninstall();
  }
  const slots = [...checkLogs(w, []).values()].reduce((n, l) => n + l.length, 0);
  return {
    seed: o.seed,
    ok: violations.length === 0,
    violations,
    traceHash: w.trace.digest(),
    traceLines: w.trace.lines,
    events: w.sched.fired,
    virtualMs: w.now,
    realMs: realNow() - real0,
    phases,
    faults: faults?.happened ?? [],
    lastEvents: w.trace.last(40),
    stats: {
      requests: workload?.ledger.length ?? 0,
      accepted: workload?.ledger.filter((s) => s.status >= 200 && s.status < 300).length ?? 0,
      reads: workload?.reads.length ?? 0,
      processes: workload?.processes.length ?? 0,
      slots,
      framesSent: w.bus.stats.sent,
      framesLost: w.bus.stats.lost,
      evaluatedAhead: w.ahead.evaluated,
      droppedAhead: w.ahead.abandoned,
    },
    replay: replayCommand(o),
  };
}

/** Whether some slot of `processId`'s log has no result on any disk. */
function missingResults(w: World, processId: string, slots: number): boolean {
  const have = new Set<number>();
  for (const disk of w.disks.values()) {
    const cu = new CuStore(new SimStore(disk, { sched: w.sched, owner: 'inspect', latency: () => 0 }));
    for (const r of cu.resultsBetween(processId, { from: -1, to: slots - 1 })) have.add(r.slot);
  }
  return have.size < slots;
}

/** Every live node's push jobs have ended. */
function jobsDone(w: World): boolean {
  const jobs = clusterJobs(w);
  if (jobs) return jobs.every(isTerminal);
  return w.live().every((n) => n.mu.store.unfinished().length === 0);
}

/** Resolves once `cond` holds, looking every `everyMs` of virtual time. */
function until(w: World, cond: () => boolean, everyMs = 100): Promise<void> {
  return new Promise((resolve) => {
    const look = () => (cond() ? resolve() : w.sched.after(everyMs, look, undefined, 'until'));
    look();
  });
}
