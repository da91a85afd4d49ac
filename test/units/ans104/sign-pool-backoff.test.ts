/**
 * The signing pool's replacement of a dead worker (sign-pool.ts) on a simulated clock: a worker
 * that dies young is replaced after a backoff that doubles while replacements die young, and
 * is the shortest again once one has lived long. Real worker threads, no sleeping.
 */
import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from '../../../runtime/clock.js';
import { generateWallet, SignPool } from '../../../units/ans104/index.js';

let pool: SignPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

const worker = (p: SignPool) => (p as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]?.worker;

it('a dead signing worker is replaced after 100, 200, 400 ms of the pool\'s clock while replacements die young, after 50 once one lived past 10 s', async () => {
  const clock = new SimulatedClock(1_000);
  const wallet = await generateWallet('ed25519');
  pool = new SignPool(wallet.key, { size: 1, clock });
  const message = new Uint8Array(32).fill(7);
  expect(await pool.sign(message)).toHaveLength(64);

  /** Kills the worker, then checks that it is replaced exactly `ms` later on the clock, and signs again. */
  const killAndWait = async (ms: number) => {
    const before = pool!.replaced;
    await worker(pool!)!.terminate();
    expect(worker(pool!)).toBeUndefined();
    // A job asked for meanwhile waits for the successor.
    const signed = pool!.sign(message);
    await clock.advance(ms - 1);
    expect(pool!.replaced).toBe(before);
    await clock.advance(1);
    expect(pool!.replaced).toBe(before + 1);
    expect(await signed).toHaveLength(64);
  };
  await killAndWait(100);
  await killAndWait(200);
  await killAndWait(400);
  await clock.advance(10_001);
  await killAndWait(50);
}, 60_000);
