import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, owner, ranking } from '../../units/cluster/placement.js';

const members = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { minLength: 2, maxLength: 12 });
const keys = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 43 }), { minLength: 1, maxLength: 200 });

describe('rendezvous placement', () => {
  it('is deterministic and ignores the order of members', () => {
    fc.assert(
      fc.property(members, keys, (ms, ks) => {
        const reversed = [...ms].reverse();
        for (const k of ks) {
          const o = owner(k, ms);
          expect(ms).toContain(o);
          expect(owner(k, reversed)).toBe(o);
          expect(ranking(k, ms)[0]).toBe(o);
        }
      }),
    );
  });

  it('removing a member moves only its keys, each to its second choice', () => {
    fc.assert(
      fc.property(members, keys, fc.nat(), (ms, ks, i) => {
        const gone = ms[i % ms.length]!;
        const rest = ms.filter((m) => m !== gone);
        const before = assign(ks, ms);
        const after = assign(ks, rest);
        for (const k of ks) {
          if (before.get(k) !== gone) expect(after.get(k)).toBe(before.get(k));
          else expect(after.get(k)).toBe(ranking(k, ms)[1]);
        }
      }),
    );
  });

  it('adding a member moves only keys to it, about 1/n of them', () => {
    const ks = Array.from({ length: 4000 }, (_, i) => `process-${i}`);
    fc.assert(
      fc.property(members, fc.stringMatching(/^[A-Z][a-z0-9]{0,7}$/), (ms, added) => {
        const before = assign(ks, ms);
        const after = assign(ks, [...ms, added]);
        let moved = 0;
        for (const k of ks) {
          if (after.get(k) !== before.get(k)) {
            moved++;
            expect(after.get(k)).toBe(added);
          }
        }
        const share = moved / ks.length;
        const n = ms.length + 1;
        expect(share).toBeGreaterThan(1 / n - 0.05);
        expect(share).toBeLessThan(1 / n + 0.05);
      }),
      { numRuns: 30 },
    );
  });

  it('spreads keys evenly', () => {
    const ms = ['a', 'b', 'c', 'd', 'e'];
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const o = owner(`k${i}`, ms)!;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const m of ms) expect(counts.get(m)! / 10_000).toBeGreaterThan(0.17);
    expect(owner('x', [])).toBeUndefined();
  });
});
