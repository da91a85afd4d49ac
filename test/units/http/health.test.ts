/**
 * A readiness probe that hangs is a failure once its time is up (health.ts), on the clock the
 * checks are given: a simulated one here, so the test does not wait for it.
 */
import { expect, it } from 'vitest';
import { SimulatedClock } from '../../../runtime/clock.js';
import { Health, type Readiness } from '../../../units/http/health.js';

it('a check that never answers fails exactly at timeoutMs of the clock; the others are answered meanwhile', async () => {
  const clock = new SimulatedClock();
  const health = new Health(
    [
      { name: 'hangs', check: () => new Promise<undefined>(() => undefined) },
      { name: 'fine', check: () => undefined },
    ],
    { timeoutMs: 2_000, clock },
  );
  let answer: Readiness | undefined;
  const asked = health.readiness().then((r) => (answer = r));
  await clock.advance(1_999);
  expect(answer).toBeUndefined();
  await clock.advance(1);
  await asked;
  expect(answer).toEqual({
    ready: false,
    checks: { hangs: { ok: false, detail: 'no answer within 2000 ms' }, fine: { ok: true } },
    reasons: ['hangs: no answer within 2000 ms'],
  });
  expect(clock.pending).toBe(0);
});
