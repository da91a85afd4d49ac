/**
 * Re-hosting (paper 5.6.2) on a real aos process whose own handler decides: a second SU (its own
 * node, wallet and LMDB) dry-runs offers; "more" and "reject" leave the process unhosted; an
 * accepted offer submitted to the origin makes that SU the host, which continues the log at the
 * next slot, hash chain included; the old SU refuses the process, the new one's CU computes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWallet, parseDataItem, tagValue } from '../../../units/ans104/index.js';
import { decisionOf } from '../../../units/sec/index.js';
import { run, send, spawnAos } from '../cu/support/harness.js';
import { doubleAssignment, liveness, message, nextHashChain, offer, OFFER_HANDLER, rogueAssignment } from './items.js';
import { get, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
const B_URL = 'http://su-b.test/su';
let a: SecHarness;
let b: SecHarness;

beforeAll(async () => {
  a = await startSec({ name: 'sec-a' });
  b = await startSec({ name: 'sec-b', originOf: a, url: B_URL });
  // B's CU knows A's module, as every CU would know a module published on Arweave.
  const id = a.cu.bundled[MODULE]!;
  await b.cu.modules.put(a.store.db<Uint8Array, string>('cu.modules').get(id)!);
}, 60_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
}, 60_000);

/** An aos process with the offer handler and Count = 41, unhosted by a failed liveness challenge. */
async function unhosted() {
  const pid = await spawnAos(a, MODULE, [{ name: 'Liveness-Period', value: '300' }]);
  await run(a, pid, OFFER_HANDLER);
  await run(a, pid, 'Count = 41');
  await a.stopSu();
  try {
    const c = await liveness(a.user, pid, (await message(a.user, pid)).raw);
    expect((await post(a, '/sec/challenge', c.raw)).status).toBe(200);
    return { pid, view: await a.until(pid, (v) => v.state === 'unhosted') };
  } finally {
    await a.startSu();
  }
}

describe('re-hosting', () => {
  it('more → reject → accept: the accepting SU hosts the process and continues its log at the next slot', async () => {
    const { pid, view } = await unhosted();
    const n = view.unhostedAt!;
    expect(n).toBe(a.su.log.process(pid)!.head.slot);

    // The SU negotiates by dry-run first (the process cannot change state while unhosted).
    const probe = await offer(b.wallet, pid, [], B_URL);
    expect(decisionOf(await a.api.dryRun(pid, { Owner: b.wallet.address, Tags: parseDataItem(probe.raw).tags }))).toEqual({ decision: 'more', answer: 'quote a Fee' });

    const more = await post(a, '/sec/offer', probe.raw);
    expect(more.status).toBe(200);
    expect(more.body).toMatchObject({ decision: 'more', answer: 'quote a Fee', state: 'unhosted' });
    const dear = await post(a, '/sec/offer', (await offer(b.wallet, pid, [{ name: 'Fee', value: '50' }], B_URL)).raw);
    expect(dear.body).toMatchObject({ decision: 'reject', answer: 'too expensive', state: 'unhosted' });
    expect(b.su.log.process(pid)).toBeUndefined();

    const ok = await offer(b.wallet, pid, [{ name: 'Fee', value: '5' }], B_URL);
    const accepted = await post(a, '/sec/offer', ok.raw);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ decision: 'accept', state: 'hosted', host: { address: b.wallet.address, url: B_URL, offerId: ok.id } });
    expect(accepted.body.history.map((e: { event: string }) => e.event)).toEqual(['liveness challenge', 'unhosted', 'offer: more', 'offer: reject', 'offer: accept']);
    expect((await get(a, `/sec/${pid}`)).body.host.address).toBe(b.wallet.address);

    // The old SU refuses, naming the new host; the new one takes the next slot, chained to slot n.
    const refused = await post(a, '/su', (await message(a.user, pid)).raw);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toContain(b.wallet.address);
    const m = await message(b.user, pid, [{ name: 'Action', value: 'Eval' }], 'Count = Count + 1');
    const r = await post(b, '/su', m.raw);
    expect(r.status).toBe(200);
    const next = b.su.log.slot(pid, n + 1)!;
    expect(next.messageId).toBe(m.id);
    expect(next.hashChain).toBe(nextHashChain(a.su.log.slot(pid, n)!.assignmentId, a.su.log.slot(pid, n)!.hashChain));
    const signed = parseDataItem(next.assignment);
    expect(tagValue(signed.tags, 'Nonce')).toBe(String(n + 1));
    // The new SU's CU computes the process from the adopted log: the state carried over.
    expect(await run(b, pid, 'print(Count)')).toBe('42');
    // Challenges now go to the new host, which answers them.
    const ping = await message(a.user, pid, [{ name: 'Action', value: 'Ping' }]);
    expect((await post(a, '/sec/challenge', (await liveness(a.user, pid, ping.raw)).raw)).status).toBe(200);
    await a.until(pid, (v) => v.state === 'hosted' && v.history.at(-1)!.event === 'liveness answered');
    expect(b.su.log.slotOf(ping.id, pid)).toBeGreaterThan(n + 1);
    expect(a.su.log.slotOf(ping.id, pid)).toBeUndefined();
  }, 120_000);

  it('after a double assignment, the new SU continues after the kept assignment (or before the slot, when the old log lacks it)', async () => {
    for (const keepLogs of [true, false]) {
      const pid = await spawnAos(a, MODULE);
      await run(a, pid, OFFER_HANDLER);
      await send(a, pid, { action: 'Ping' });
      const n = a.su.log.process(pid)!.head.slot;
      const prev = a.su.log.slot(pid, n - 1)!;
      const logged = a.su.log.slot(pid, n)!;
      const other = await message(a.user, pid, [{ name: 'Action', value: 'Other' }]);
      const rogue = rogueAssignment(a.wallet, { processId: pid, messageId: other.id, slot: n, prev: { id: prev.assignmentId, hashChain: prev.hashChain } });
      const pair = keepLogs ? [logged.assignment, rogue.raw] : [rogue.raw, logged.assignment];
      const ev = await post(a, '/sec/evidence', (await doubleAssignment(a.user, pid, pair[0]!, pair[1]!)).raw);
      expect(ev.body).toMatchObject({ state: 'unhosted', unhostedAt: n, kept: { slot: n, assignmentId: keepLogs ? logged.assignmentId : rogue.id } });
      const accepted = await post(a, '/sec/offer', (await offer(b.wallet, pid, [{ name: 'Fee', value: '5' }])).raw);
      expect(accepted.body).toMatchObject({ decision: 'accept', state: 'hosted' });
      const last = keepLogs ? n : n - 1;
      expect(b.su.log.process(pid)!.head).toMatchObject({ slot: last, id: keepLogs ? logged.assignmentId : prev.assignmentId });
      expect(accepted.body.history.at(-1).detail.nextSlot).toBe(last + 1);
      const m = await send(b, pid, { action: 'Ping' });
      expect(m.slot).toBe(last + 1);
    }
  }, 120_000);

  it('offers that cannot be taken are rejected with a reason', async () => {
    const hosted = await spawnAos(a, MODULE);
    await send(a, hosted, { action: 'Ping' });
    const r1 = await post(a, '/sec/offer', (await offer(b.wallet, hosted, [{ name: 'Fee', value: '5' }])).raw);
    expect(r1.status).toBe(400);
    expect(r1.body.error).toMatch(/is not unhosted/);
    const { pid } = await unhosted();
    const stranger = await generateWallet('ed25519');
    const r2 = await post(a, '/sec/offer', (await offer(stranger, pid, [{ name: 'Fee', value: '5' }])).raw);
    expect(r2.status).toBe(400);
    expect(r2.body.error).toMatch(/not one this origin can hand the log to/);
    const r3 = await post(a, '/sec/offer', (await message(b.wallet, pid, [{ name: 'Fee', value: '5' }])).raw);
    expect(r3.status).toBe(400);
    expect(r3.body.error).toMatch(/Action=Host-Offer/);
    expect((await get(a, `/sec/${pid}`)).body.state).toBe('unhosted');
  }, 120_000);
});
