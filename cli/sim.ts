/**
 * `aotp sim`: deterministic simulation runs (sim/). One seed: its summary, and when an
 * invariant broke, what broke, the last events before it and the command that replays it.
 * Many seeds: one line per failing seed and a summary with seeds per second; `--jobs` runs them
 * in that many child processes.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FAULTS, type Fault } from '../sim/faults.js';
import { findMutation } from '../sim/mutations.js';
import { simulate, type SimOptions, type SimReport } from '../sim/run.js';
import { OPS, type Op } from '../sim/workload.js';
import { MECHANISMS, type Mechanism } from '../units/safety.js';
import { ConfigError } from '../config/errors.js';

export interface SimArgs {
  seed?: number;
  seeds?: number;
  from?: number;
  jobs?: number;
  options: Omit<SimOptions, 'seed'>;
  mutate?: Mechanism;
  json: boolean;
  verbose: boolean;
}

export function parseFaults(v: string): Fault[] {
  if (v === 'none') return [];
  if (v === 'all') return [...FAULTS];
  const kinds = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) if (!(FAULTS as readonly string[]).includes(k)) throw new ConfigError(`--faults: unknown fault '${k}' (known: ${FAULTS.join(', ')}, all, none)`);
  return kinds as Fault[];
}

export function parseOps(v: string): Op[] {
  const ops = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const op of ops) if (!(OPS as readonly string[]).includes(op)) throw new ConfigError(`--ops: unknown operation '${op}' (known: ${OPS.join(', ')})`);
  if (ops.length === 0) throw new ConfigError('--ops: give at least one operation');
  return ops as Op[];
}

export function parseMechanism(v: string): Mechanism {
  if (!(MECHANISMS as readonly string[]).includes(v)) throw new ConfigError(`--mutate: unknown mechanism '${v}' (known: ${MECHANISMS.join(', ')})`);
  return v as Mechanism;
}

const ms = (n: number) => `${(n / 1000).toFixed(1)} s`;

function summary(r: SimReport): string {
  return `seed ${r.seed}: ${r.ok ? 'ok' : `FAILED (${r.violations.length} violation${r.violations.length === 1 ? '' : 's'})`}  ${r.stats.processes} processes, ${r.stats.slots} slots, ${r.stats.accepted}/${r.stats.requests} accepted, ${r.stats.evaluatedAhead} evaluated ahead of their commit (${r.stats.droppedAhead} dropped), ${r.faults.length} faults, ${r.events} events, ${ms(r.virtualMs)} simulated in ${ms(r.realMs)}, trace ${r.traceHash.slice(0, 16)}`;
}

function explain(r: SimReport): string {
  return [
    ...r.violations.slice(0, 10).map((v) => `  ${v.invariant}: ${v.detail}`),
    ...(r.violations.length > 10 ? [`  … and ${r.violations.length - 10} more`] : []),
    `  faults: ${r.faults.join('; ') || 'none'}`,
    '  last events:',
    ...r.lastEvents.map((l) => `    ${l}`),
    `  replay: ${r.replay}`,
  ].join('\n');
}

export async function runSim(a: SimArgs): Promise<number> {
  if (a.mutate) {
    const m = await findMutation(a.mutate, { from: a.from ?? a.seed ?? 1, maxSeeds: a.seeds ?? 50, options: a.options });
    if (a.json) console.log(JSON.stringify({ mechanism: m.mechanism, seed: m.seed, seedsRun: m.seedsRun, violation: m.report?.violations[0] }));
    else if (m.seed === undefined) console.log(`${m.mechanism} off: no violation in ${m.seedsRun} seeds`);
    else console.log(`${m.mechanism} off: seed ${m.seed} (after ${m.seedsRun}) breaks ${m.report!.violations[0]!.invariant}: ${m.report!.violations[0]!.detail}\n${explain(m.report!)}`);
    // Finding the hole is the expected outcome.
    return m.seed === undefined ? 1 : 0;
  }
  if (a.seeds === undefined) {
    const seed = a.seed ?? Math.floor(Math.random() * 2 ** 31);
    const r = await simulate({ ...a.options, seed, ...(a.verbose ? { verbose: (l: string) => console.log(l) } : {}) });
    if (a.json) console.log(JSON.stringify(r));
    else {
      console.log(summary(r));
      if (!r.ok) console.log(explain(r));
    }
    return r.ok ? 0 : 1;
  }
  const from = a.from ?? 1;
  const seeds = Array.from({ length: a.seeds }, (_, i) => from + i);
  const jobs = Math.max(1, Math.min(a.jobs ?? 1, seeds.length));
  const started = performance.now();
  let failed = 0;
  let done = 0;
  const onReport = (r: Pick<SimReport, 'seed' | 'ok' | 'violations' | 'replay' | 'traceHash'>) => {
    done++;
    if (!r.ok) {
      failed++;
      console.log(a.json ? JSON.stringify(r) : `seed ${r.seed}: FAILED ${r.violations[0]?.invariant}: ${r.violations[0]?.detail}\n  replay: ${r.replay}`);
    } else if (a.verbose) console.log(`seed ${r.seed}: ok ${r.traceHash.slice(0, 16)}`);
    if (!a.json && done % 100 === 0) console.log(`… ${done}/${seeds.length} seeds, ${failed} failed, ${(done / ((performance.now() - started) / 1000)).toFixed(2)} seeds/s`);
  };
  if (jobs === 1) {
    for (const seed of seeds) onReport(await simulate({ ...a.options, seed }));
  } else {
    await Promise.all(Array.from({ length: jobs }, (_, j) => child(seeds.filter((_, i) => i % jobs === j), a.options, onReport)));
  }
  const secs = (performance.now() - started) / 1000;
  const line = { seeds: seeds.length, failed, seconds: Math.round(secs * 10) / 10, seedsPerSecond: Math.round((seeds.length / secs) * 100) / 100, jobs };
  console.log(a.json ? JSON.stringify(line) : `${seeds.length} seeds (${from}..${from + seeds.length - 1}), ${failed} failed, ${line.seconds} s, ${line.seedsPerSecond} seeds/s on ${jobs} job${jobs === 1 ? '' : 's'}`);
  return failed === 0 ? 0 : 1;
}

/** Runs `seeds` in a child process (this module, as a worker) and hands each report over. */
function child(seeds: number[], options: Omit<SimOptions, 'seed'>, onReport: (r: SimReport) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ['--sim-worker'], { execArgv: ['--experimental-wasm-memory64', ...process.execArgv.filter((x) => !x.startsWith('--experimental-wasm'))], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.on('message', (m: { report?: SimReport }) => m.report && onReport(m.report));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a simulation worker exited with ${code}`))));
    p.send({ seeds, options });
  });
}

export const defaultJobs = () => Math.max(1, availableParallelism());

// As a worker of `child`: run the seeds given, report each, exit.
if (process.argv.includes('--sim-worker') && process.send) {
  process.once('message', async (m: { seeds: number[]; options: Omit<SimOptions, 'seed'> }) => {
    for (const seed of m.seeds) {
      const r = await simulate({ ...m.options, seed });
      process.send!({ report: { ...r, lastEvents: r.ok ? [] : r.lastEvents } });
    }
    process.disconnect();
  });
}
