/**
 * The simulation catches real bugs: with one safety mechanism switched off at a time, it finds
 * a seed that breaks an invariant (the one the mechanism protects, where one is named) within a
 * bounded number of seeds, and that seed replays to the same violation. With the mechanism on,
 * the same seed does not break it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findMutation, MUTATION_RUNS, PROTECTS } from '../../sim/mutations.js';
import { simulate } from '../../sim/run.js';
import { restoreAll, switchOff, type Mechanism } from '../../units/safety.js';

afterEach(() => restoreAll());

// (mu-signed-once is first caught at seed 71.)
const BOUND = 100;

const cases: Mechanism[] = ['su-dedupe', 'mu-signed-once', 'killed-handler-guard', 'fencing'];

describe('mutation test: each safety mechanism, switched off, is caught', () => {
  for (const mechanism of cases) {
    const invariant = PROTECTS[mechanism];
    it(`${mechanism} off: a seed within ${BOUND} breaks an invariant, and replays to the same violation`, async () => {
      const found = await findMutation(mechanism, { maxSeeds: BOUND });
      expect(found.seed, `${mechanism} off went unnoticed for ${BOUND} seeds`).toBeDefined();
      const report = found.report!;
      if (invariant) expect(report.violations[0]!.invariant).toBe(invariant);
      // What a failing seed prints: the replay command and the events before the violation.
      expect(report.replay).toContain(`aotp sim --seed ${found.seed} `);
      expect(report.replay).toContain(`--mutate ${mechanism}`);
      expect(report.lastEvents.length).toBeGreaterThan(10);
      // Replayed, the seed breaks the same invariant the same way.
      switchOff(mechanism);
      const again = await simulate({ ...MUTATION_RUNS[mechanism], seed: found.seed! });
      restoreAll();
      expect(again.traceHash).toBe(report.traceHash);
      expect(again.violations[0]).toEqual(report.violations[0]);
      // With the mechanism on, the same seed does not break what the mechanism protects (a
      // cluster run may still find something else: those are reported, not hidden).
      const fixed = await simulate({ ...MUTATION_RUNS[mechanism], seed: found.seed! });
      expect(fixed.violations.filter((v) => !invariant || v.invariant === invariant)).toEqual([]);
    }, 600_000);
  }
});
