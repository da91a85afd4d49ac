/**
 * Waiting for a push to settle (LmdbMuStore.settled) has a deadline on the store's clock: a
 * simulated one here, so the wait is given up when the clock says so, not after real time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from '../../../runtime/clock.js';
import { Store } from '../../../runtime/store.js';
import { LmdbMuStore } from '../../../units/mu/store.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

it('a push that does not settle is given up exactly at its deadline on the clock, naming what is open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aotp-mu-'));
  const store = Store.open(join(dir, 'lmdb'));
  cleanup = async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const clock = new SimulatedClock();
  const mu = new LmdbMuStore(store, clock);
  let outcome: unknown;
  const waiting = mu.settled('r'.repeat(43), 1_000).catch((e: Error) => (outcome = e));
  await clock.advance(999);
  expect(outcome).toBeUndefined();
  await clock.advance(1);
  await waiting;
  expect(String(outcome)).toMatch(/did not settle in 1000 ms; still open: none known/);
  expect(clock.pending).toBe(0);
});
