/**
 * The mutation test: with one safety mechanism switched off (units/safety.ts), seeds are run
 * until one breaks an invariant; the simulation must find each such hole within a bounded
 * number of seeds. It runs with more faults than an ordinary run (kills of busy actors at one
 * disk commit or evaluator step in ten), since the windows these mechanisms close are short.
 */
import { restoreAll, switchOff, type Mechanism } from '../units/safety.js';
import { simulate, type SimOptions, type SimReport } from './run.js';

/** What each mechanism needs to be exercised: the run options that reach its window. */
export const MUTATION_RUNS: Record<Mechanism, Omit<SimOptions, 'seed'>> = {
  'su-dedupe': { nodes: 1, killOnActivity: 0.1 },
  'mu-signed-once': { nodes: 1, killOnActivity: 0.1, cron: false },
  'killed-handler-guard': { nodes: 1, killOnActivity: 0.1, cron: false },
  fencing: { nodes: 3, killOnActivity: 0.02, faults: ['partition', 'stall', 'crash'] },
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
      if (!report.ok) return { mechanism, seed: report.seed, seedsRun: i + 1, report: { ...report, replay: `${report.replay} --mutate ${mechanism}` } };
    }
    return { mechanism, seed: undefined, seedsRun: o.maxSeeds, report: undefined };
  } finally {
    restoreAll();
  }
}
