/**
 * A signing worker thread that dies under load is replaced, and what it was signing is signed
 * again: the sequencer restarts on a pool failure (it is not the request's fault, so it is not
 * refused) and the callers' retries get their slots. Every log stays gap-free, each message once.
 */
import { afterEach, expect, it } from 'vitest';
import type { SignPool } from '../../../units/ans104/index.js';
import type { ScheduleReply } from '../../../units/su/index.js';
import { checkLog, messageItem, spawnProcess, startSu, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const slotOf = (r: ScheduleReply) => {
  if (!('ok' in r)) throw new Error(`expected a slot, got ${r.error}`);
  return r.ok.slot;
};

it('RSA signing workers killed while 200 messages to 10 processes are scheduled: all get one slot, the pool is whole again', async () => {
  h = await startSu({ kind: 'rsa', signers: 2, attempts: 8 });
  const pool = (h.runtime.signer as unknown as { pool: SignPool }).pool;
  const pids = await Promise.all(Array.from({ length: 10 }, () => spawnProcess(h!)));
  const items = await Promise.all(Array.from({ length: 200 }, (_, i) => messageItem(pids[i % 10]!)));
  const workers = () => (pool as unknown as { slots: { worker: { terminate(): Promise<number>; threadId: number } }[] }).slots;
  const replies = Promise.all(items.map((m, i) => h!.client.schedule(pids[i % 10]!, { op: 'message', id: m.id, raw: m.raw })));
  // Fault injection: terminate each worker thread once, while jobs are on it.
  const killed: number[] = [];
  for (const w of [...workers()]) {
    while (pool.pending === 0) await new Promise((r) => setImmediate(r));
    killed.push(w.worker.threadId);
    await w.worker.terminate();
  }
  const slots = (await replies).map(slotOf);
  expect(killed).toHaveLength(2);
  expect(pool.replaced).toBeGreaterThanOrEqual(2);
  expect(workers().map((w) => w.worker.threadId).some((id) => killed.includes(id))).toBe(false);
  for (const [i, pid] of pids.entries()) {
    const log = await checkLog(h.su, pid, { verifyAll: true });
    expect(log.nextSlot).toBe(21);
    const mine = items.filter((_, j) => j % 10 === i);
    expect(new Set(mine.map((m) => log.messages.indexOf(m.id))).size).toBe(20);
  }
  expect(new Set(slots).size).toBeGreaterThan(1);
}, 120_000);
