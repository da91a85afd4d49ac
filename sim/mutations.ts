/**
 * The mutation test: with one safety mechanism switched off (units/safety.ts), seeds are run
 * until one breaks an invariant; the simulation must find each such hole within a bounded
 * number of seeds. It runs with more faults than an ordinary run (kills of busy actors at one
 * disk commit or evaluator step in ten), since the windows these mechanisms close are short.
 */
import { restoreAll, switchOff, type Mechanism } from '../units/safety.js';
import type { Violation } from './invariants.js';
import { simulate, type SimOptions, type SimReport } from './run.js';

/** What each mechanism needs to be exercised: the run options that reach its window. */
export const MUTATION_RUNS: Record<Mechanism, Omit<SimOptions, 'seed'>> = {
  'su-dedupe': { nodes: 1, killOnActivity: 0.1 },
  // One node shows a killed job's write to its restarted incarnation before it commits, so the
  // window is where writes are slow: the cluster's, to JetStream.
  'mu-signed-once': { nodes: 3, killOnActivity: 0.1, cron: false, ops: ['ping', 'count'], faults: ['kill'] },
  'killed-handler-guard': { nodes: 1, killOnActivity: 0.1, cron: false },
  // Owners frozen while the others take their processes over (fast failover), then waking with
  // a run to append: the split brain that the log's fence is for.
  fencing: { nodes: 3, faults: ['stall'], faultCount: 10, messages: 24, ops: ['ping', 'count'], killOnActivity: 0 },
};

/**
 * The invariant each mechanism protects: a seed counts only when it breaks that one (a run may
 * break others for reasons of its own).
 */
export const PROTECTS: Record<Mechanism, Violation['invariant'] | undefined> = {
  'su-dedupe': 'logs',
  'mu-signed-once': 'pushed',
  'killed-handler-guard': undefined,
  fencing: 'logs',
};

export interface MutationResult {
  mechanism: Mechanism;
  /** The first seed that broke an invariant (undefined: none within the bound). */
  seed: number | undefined;
  seedsRun: number;
  report: SimReport | undefined;
}

/** Runs seeds `from`, `from + 1`, … with `mechanism` off until one fails, at most `maxSeeds`. */
export async function findMutation(mechanism: Mechanism, o: { from?: number; maxSeeds: number; options?: Omit<SimOptions, 'seed'> }): Promise<MutationResult> {
  const from = o.from ?? 1;
  switchOff(mechanism);
  try {
    for (let i = 0; i < o.maxSeeds; i++) {
      const report = await simulate({ ...MUTATION_RUNS[mechanism], ...o.options, seed: from + i });
      const protects = PROTECTS[mechanism];
      if (protects && !report.violations.some((v) => v.invariant === protects)) continue;
      if (!report.ok) return { mechanism, seed: report.seed, seedsRun: i + 1, report: { ...report, replay: `${report.replay} --mutate ${mechanism}` } };
    }
    return { mechanism, seed: undefined, seedsRun: o.maxSeeds, report: undefined };
  } finally {
    restoreAll();
  }
}
