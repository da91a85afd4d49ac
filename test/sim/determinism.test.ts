/**
 * A seed is a run: the same seed twice gives the byte-identical event trace (compared by its
 * hash), another seed another run; the faults a run reports are ones that happened (their
 * effects are in the trace), and a run's clients were answered by the node's real routes.
 */
import { describe, expect, it } from 'vitest';
import { simulate } from '../../sim/run.js';

describe('deterministic simulation', () => {
  it('one seed run twice gives the same trace, event for event; another seed does not', async () => {
    const a = await simulate({ seed: 7 });
    const b = await simulate({ seed: 7 });
    const c = await simulate({ seed: 8 });
    expect(a.ok).toBe(true);
    expect(a.traceLines).toBeGreaterThan(100);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.traceLines).toBe(a.traceLines);
    expect(b.events).toBe(a.events);
    expect(b.lastEvents).toEqual(a.lastEvents);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('a three-node cluster (bus, JetStream model, failovers) replays the same way', async () => {
    const a = await simulate({ seed: 3, nodes: 3, faults: ['stall', 'partition', 'crash', 'jetstream'] });
    const b = await simulate({ seed: 3, nodes: 3, faults: ['stall', 'partition', 'crash', 'jetstream'] });
    expect(a.ok).toBe(true);
    expect(a.stats.framesSent).toBeGreaterThan(100);
    expect(a.faults.length).toBeGreaterThan(0);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
  });

  it('the faults it reports happened, and the clients saw the routes answer', async () => {
    const trace: string[] = [];
    const r = await simulate({ seed: 11, faults: ['crash', 'kill'], faultCount: 4, killOnActivity: 0.05, verbose: (l) => trace.push(l) });
    expect(r.ok).toBe(true);
    const crashes = r.faults.filter((f) => f.includes('crash'));
    const kills = r.faults.filter((f) => f.includes('kill'));
    expect(crashes.length).toBeGreaterThan(0);
    expect(kills.length).toBeGreaterThan(0);
    // A crash is followed by a new incarnation of the node; a kill, by its supervisor's report.
    expect(trace.filter((l) => / started n1:\d+$/.test(l)).length).toBe(1 + crashes.length);
    expect(trace.some((l) => / log n1:\d+ error (child terminated|shutdown error)/.test(l))).toBe(true);
    // What the clients were answered: the MU's 202s for their items.
    expect(r.stats.accepted).toBeGreaterThan(5);
    expect(trace.some((l) => / client ping <- n1 202 /.test(l))).toBe(true);
  });
});
