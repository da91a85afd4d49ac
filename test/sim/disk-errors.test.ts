/**
 * Failing disk commits (the simulation's `disk-error` fault: a node's next 1-3 commits write
 * nothing and reject every write of their batch). The SU's sequencer crashes and restarts from
 * its durable log; messages a CU evaluated while their slot's commit was being written are
 * dropped with the memory that evaluated them, and evaluated again on what is durable. Every
 * invariant holds (results as the verifier recomputes them from the logs, no slot twice).
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/run.js';

describe('simulation: disk commits that fail', () => {
  it('seeds 1-8 with six failing commits each break no invariant, and runs evaluated ahead of a failed commit are dropped', async () => {
    let dropped = 0;
    let ahead = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const r = await simulate({ seed, faults: ['disk-error'], faultCount: 6 });
      expect(r.violations, `seed ${seed}: ${r.replay}`).toEqual([]);
      // The faults happened: each is a commit of the node that failed.
      expect(r.faults.filter((f) => f.includes('disk error')).length).toBe(6);
      dropped += r.stats.droppedAhead;
      ahead += r.stats.evaluatedAhead;
    }
    expect(ahead).toBeGreaterThan(dropped);
    expect(dropped).toBeGreaterThan(0);
  }, 300_000);
});
