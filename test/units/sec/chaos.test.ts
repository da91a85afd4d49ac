/**
 * Chaos: an SU's actors are stopped (its sequencers' supervisor, so no sequencer can be started
 * for the process) for longer than the process's liveness period while a client keeps sending.
 * The whole path: challenge → unhosted → offer (more, then accept) → hosted by another SU →
 * the log continues there, gap-free: every slot present, every assignment verifying and chained
 * to the one before, signed by the old SU up to the unhosting slot and by the new one after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataItem, ownerAddress, tagValue, verifyDataItem } from '../../../units/ans104/index.js';
import { firstHashChain, nextHashChain } from '../../../units/su/assignment.js';
import { run, send, spawnAos } from '../cu/support/harness.js';
import { liveness, message, offer, OFFER_HANDLER } from './items.js';
import { post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
let a: SecHarness;
let b: SecHarness;

beforeAll(async () => {
  a = await startSec({ name: 'chaos-a' });
  b = await startSec({ name: 'chaos-b', originOf: a, url: 'http://su-b.test/su' });
  await b.cu.modules.put(a.store.db<Uint8Array, string>('cu.modules').get(a.cu.bundled[MODULE]!)!);
}, 60_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
}, 60_000);

/** Sends increments to `h` until `stop` resolves (or `count` were scheduled); counts them. */
async function increments(h: SecHarness, pid: string, stop: Promise<unknown> | number) {
  let done = false;
  if (typeof stop !== 'number') void stop.then(() => (done = true));
  let ok = 0;
  let failed = 0;
  while (!done && (typeof stop !== 'number' || ok < stop)) {
    try {
      await send(h, pid, { action: 'Eval', data: 'Count = Count + 1' });
      ok++;
    } catch {
      failed++;
      await new Promise((r) => setImmediate(r));
    }
  }
  return { ok, failed };
}

describe('chaos: an SU stopped past the liveness period', () => {
  it('challenge → unhosted → offer → accepted → hosted elsewhere, log gap-free', async () => {
    const pid = await spawnAos(a, MODULE, [{ name: 'Liveness-Period', value: '500' }]);
    await run(a, pid, OFFER_HANDLER);
    await run(a, pid, 'Count = 0');
    const first = await increments(a, pid, 5);
    expect(first).toEqual({ ok: 5, failed: 0 });

    await a.stopSu();
    const unhosted = a.until(pid, (v) => v.state === 'unhosted');
    const during = increments(a, pid, unhosted); // all fail until then: no sequencer can run
    const c = await liveness(a.user, pid, (await message(a.user, pid, [{ name: 'Action', value: 'Are-You-There' }])).raw);
    expect((await post(a, '/sec/challenge', c.raw)).status).toBe(200);
    const view = await unhosted;
    const stopped = await during;
    expect(stopped.ok).toBe(0);
    expect(stopped.failed).toBeGreaterThan(0);
    await a.startSu();
    const n = view.unhostedAt!;
    expect(n).toBe(a.su.log.process(pid)!.head.slot);
    // The old SU, back, still refuses.
    expect((await post(a, '/su', (await message(a.user, pid)).raw)).status).toBe(409);

    const asked = await post(a, '/sec/offer', (await offer(b.wallet, pid)).raw);
    expect(asked.body.decision).toBe('more');
    const accepted = await post(a, '/sec/offer', (await offer(b.wallet, pid, [{ name: 'Fee', value: '1' }])).raw);
    expect(accepted.body).toMatchObject({ decision: 'accept', state: 'hosted', host: { address: b.wallet.address } });

    const after = await increments(b, pid, 5);
    expect(after).toEqual({ ok: 5, failed: 0 });

    // Gap-free and chained, across both SUs.
    const head = b.su.log.process(pid)!.head.slot;
    const log = b.su.log.slotRange(pid, 0, head, head + 1);
    expect(log.map((s) => s.slot)).toEqual([...Array(head + 1).keys()]);
    let prev: { id: string; hashChain: string } | undefined;
    for (const s of log) {
      expect(await verifyDataItem(s.assignment)).toBe(true);
      const item = parseDataItem(s.assignment);
      expect(tagValue(item.tags, 'Nonce')).toBe(String(s.slot));
      expect(tagValue(item.tags, 'Process')).toBe(pid);
      expect(s.hashChain).toBe(prev ? nextHashChain(prev.id, prev.hashChain) : firstHashChain(pid));
      expect(ownerAddress(item)).toBe(s.slot <= n ? a.wallet.address : b.wallet.address);
      prev = { id: s.assignmentId, hashChain: s.hashChain };
    }
    // B's CU replays the whole log: every scheduled increment counted, once.
    expect(await run(b, pid, 'print(Count)')).toBe(String(first.ok + after.ok));
  }, 120_000);
});
