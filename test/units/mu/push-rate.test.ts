import { describe, expect, it } from 'vitest';
import { PushRate } from '../../../units/mu/index.js';

describe('PushRate', () => {
  it('lets a burst through, then the refill rate, per process', () => {
    const rate = new PushRate({ perSecond: 10, burst: 20 });
    expect(rate.admit('p', 20, 0)).toBeUndefined();
    expect(rate.admit('p', 1, 0)).toMatch(/^rate limit: p may push 10 messages\/s \(bursts of 20\); 1 outbox item\(s\) not pushed/);
    // Another process has its own bucket.
    expect(rate.admit('q', 5, 0)).toBeUndefined();
    // 500 ms refill five tokens.
    expect(rate.admit('p', 6, 500)).toBeDefined();
    expect(rate.admit('p', 5, 500)).toBeUndefined();
    // A long quiet spell refills to the burst, not past it.
    expect(rate.admit('p', 21, 60_000)).toBeDefined();
    expect(rate.admit('p', 20, 60_000)).toBeUndefined();
  });

  it('a refused take costs nothing, and perSecond 0 is no limit', () => {
    const rate = new PushRate({ perSecond: 1, burst: 3 });
    expect(rate.admit('p', 4, 0)).toBeDefined();
    expect(rate.admit('p', 3, 0)).toBeUndefined();
    const off = new PushRate({ perSecond: 0, burst: 1 });
    expect(off.admit('p', 1_000_000, 0)).toBeUndefined();
  });

  it('forgets refilled buckets once it holds many', () => {
    const rate = new PushRate({ perSecond: 1000, burst: 1 });
    for (let i = 0; i < 25_000; i++) rate.admit(`p${i}`, 1, i);
    expect((rate as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThan(25_000);
  });
});
