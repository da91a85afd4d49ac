/**
 * Liveness challenges on a real aos process: answered in time → hosted; not answered (the SU's
 * subtree is stopped) → unhosted, after which the SU refuses the process's messages (409) and
 * the CU still serves its state and dry-runs; rejected challenges change nothing; the origin
 * killed mid-challenge resumes it from LMDB.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem } from '../../../units/ans104/index.js';
import { restartChild, terminateChild } from '../../../runtime/index.js';
import { ORIGIN, type SecView } from '../../../units/sec/index.js';
import { printed, resultOf, send, spawnAos } from '../cu/support/harness.js';
import { spawnItem } from '../su/helpers.js';
import { liveness, message } from './items.js';
import { get, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
let h: SecHarness;

beforeAll(async () => {
  h = await startSec({ config: { livenessPeriodMs: 60_000 } });
}, 60_000);
afterAll(() => h?.stop(), 60_000);

const challenge = async (processId: string) => {
  const m = await message(h.user, processId, [{ name: 'Action', value: 'Challenge-Ping' }]);
  const c = await liveness(h.user, processId, m.raw);
  return { m, c, r: await post(h, '/sec/challenge', c.raw) };
};

describe('liveness', () => {
  it('answered in time: the SU schedules the message, the process is hosted again', async () => {
    const pid = await spawnAos(h, MODULE, [{ name: 'Liveness-Period', value: '5000' }]);
    const { m, c, r } = await challenge(pid);
    expect(r.status).toBe(200);
    expect(r.body.challenge).toMatchObject({ kind: 'liveness', challengeId: c.id, messageId: m.id });
    expect(r.body.challenge.deadline - r.body.history[0].at).toBe(5000); // the spawn's period
    const v = await h.until(pid, (x) => x.state === 'hosted' && x.history.length > 1);
    expect(v.history.map((e) => e.event)).toEqual(['liveness challenge', 'liveness answered']);
    const slot = v.history[1]!.detail.slot as number;
    expect(h.su.log.slot(pid, slot)?.messageId).toBe(m.id);
    const g = await get(h, `/sec/${pid}`);
    expect(g.body).toMatchObject({ state: 'hosted', phase: 'hosted', host: { address: h.su.address } });
  }, 60_000);

  it('not answered within the period: unhosted; the SU refuses new messages; the CU still serves state and dry-runs', async () => {
    const pid = await spawnAos(h, MODULE, [{ name: 'Liveness-Period', value: '400' }]);
    const before = await send(h, pid, { action: 'Eval', data: 'Count = 41' });
    await resultOf(h, pid, before.id);
    await h.stopSu();
    try {
      const { r } = await challenge(pid);
      expect(r.status).toBe(200);
      const v = await h.until(pid, (x) => x.state === 'unhosted');
      expect(v.unhostedAt).toBe(before.slot);
      expect(v.reason).toMatch(/liveness challenge .* not answered/);
    } finally {
      await h.startSu();
    }
    const late = await message(h.user, pid, [{ name: 'Action', value: 'Eval' }], 'Count = 0');
    const refused = await post(h, '/su', late.raw);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(/is unhosted/);
    expect(h.su.log.process(pid)?.head.slot).toBe(before.slot);
    const dry = await h.api.dryRun(pid, { Owner: h.user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'return Count + 1' });
    expect(printed(dry)).toContain('42');
    expect((await resultOf(h, pid, before.id)).Error).toBeFalsy();
    // a challenge to an unhosted process is refused with a reason
    const again = await challenge(pid);
    expect(again.r.status).toBe(400);
    expect(again.r.body.error).toMatch(/unhosted/);
  }, 60_000);

  it('rejected challenges change nothing', async () => {
    const pid = await spawnAos(h, MODULE);
    const other = await spawnAos(h, MODULE);
    const wrong = await message(h.user, other, []);
    const r1 = await post(h, '/sec/challenge', (await liveness(h.user, pid, wrong.raw)).raw);
    expect(r1.status).toBe(400);
    expect(r1.body.error).toMatch(/targets .* not /);
    const good = await liveness(h.user, pid, (await message(h.user, pid)).raw);
    const forged = Buffer.from(good.raw);
    forged[forged.length - 1] ^= 1; // data changed after signing
    const r2 = await post(h, '/sec/challenge', forged);
    expect(r2.status).toBe(400);
    expect(r2.body.error).toMatch(/invalid signature/);
    const r3 = await post(h, '/sec/challenge', Buffer.from('not an item'));
    expect(r3.status).toBe(400);
    expect((await get(h, `/sec/${pid}`)).body).toMatchObject({ state: 'hosted', history: [] });
    expect((await get(h, `/sec/${'A'.repeat(43)}`)).status).toBe(404);
  }, 60_000);

  it('the challenge message gets the checks POST /su applies: what the SU would refuse opens no challenge and is never scheduled', async () => {
    const pid = await spawnAos(h, MODULE);
    const head = h.su.log.process(pid)!.head.slot;
    const bare = (tags: { name: string; value: string }[]) =>
      createDataItem({ data: 'x', target: pid, anchor: randomBytes(32), tags }, h.user).then((i) => i.raw);
    const refusedBySu: [Uint8Array, RegExp][] = [
      // No Data-Protocol=ao: POST /su answers 'Data-Protocol tag not present'.
      [await bare([{ name: 'Type', value: 'Message' }]), /Data-Protocol tag not present/],
      [await bare([{ name: 'Data-Protocol', value: 'not-ao' }, { name: 'Type', value: 'Message' }]), /Data-Protocol tag must be 'ao'/],
    ];
    for (const [msg, reason] of refusedBySu) {
      const direct = await post(h, '/su', msg);
      expect(direct.status).toBe(400);
      expect(direct.body.error).toMatch(reason);
    }
    const cases: [Uint8Array, RegExp][] = [...refusedBySu, [(await spawnItem(h.su.address)).raw, /must be Type=Message/]];
    for (const [msg, reason] of cases) {
      const r = await post(h, '/sec/challenge', (await liveness(h.user, pid, msg)).raw);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    expect((await get(h, `/sec/${pid}`)).body).toMatchObject({ state: 'hosted', history: [] });
    expect(h.su.log.process(pid)!.head.slot).toBe(head);
  }, 60_000);

  it('one challenge at a time: a second one while the first is open is refused', async () => {
    const pid = await spawnAos(h, MODULE, [{ name: 'Liveness-Period', value: '10000' }]);
    await h.stopSu();
    try {
      expect((await challenge(pid)).r.status).toBe(200);
      const second = await challenge(pid);
      expect(second.r.status).toBe(400);
      expect(second.r.body.error).toMatch(/already open/);
    } finally {
      await h.startSu();
    }
    await h.until(pid, (x) => x.state === 'hosted');
  }, 60_000);

  it('the origin killed mid-challenge resumes the machine from LMDB and finishes the challenge', async () => {
    const pid = await spawnAos(h, MODULE, [{ name: 'Liveness-Period', value: '20000' }]);
    await h.stopSu();
    let m: string;
    try {
      const c = await challenge(pid);
      m = c.m.id;
      expect(c.r.body.phase).toBe('challenged.liveness');
      const first = h.node.whereis(ORIGIN)!;
      expect(h.node.kill(ORIGIN)).toHaveLength(1);
      await waitForRestart(first);
      const restored = await get(h, `/sec/${pid}`);
      expect(restored.body).toMatchObject({ state: 'challenged', phase: 'challenged.liveness', challenge: { messageId: m } });
      expect(h.sec.store.record(pid)?.state).toBe('challenged');
    } finally {
      await h.startSu();
    }
    // The restored machine's retries reach the SU again: answered, hosted.
    const v: SecView = await h.until(pid, (x) => x.state === 'hosted' && x.history.some((e) => e.event === 'liveness answered'));
    expect(h.su.log.slot(pid, v.history.at(-1)!.detail.slot as number)?.messageId).toBe(m!);
  }, 60_000);

  it('a deadline that passes while the origin is down is enforced by the restarted origin', async () => {
    const pid = await spawnAos(h, MODULE, [{ name: 'Liveness-Period', value: '300' }]);
    await h.stopSu();
    try {
      const c = await challenge(pid);
      expect(c.r.status).toBe(200);
      // The origin's subtree is stopped until the deadline has passed: only LMDB carries the challenge.
      expect(await terminateChild(h.node, 'root', 'sec')).toEqual({ ok: true });
      expect(h.node.whereis(ORIGIN)).toBeUndefined();
      await new Promise((r) => setTimeout(r, c.r.body.challenge.deadline - Date.now() + 1)); // the time itself is what is tested
      expect(h.sec.store.record(pid)?.state).toBe('challenged');
      expect('ok' in (await restartChild(h.node, 'root', 'sec'))).toBe(true);
      const v = await h.until(pid, (x) => x.state === 'unhosted');
      expect(v.history.map((e) => e.event)).toEqual(['liveness challenge', 'unhosted']);
    } finally {
      await h.startSu();
    }
  }, 60_000);
});

/** Awaits the supervisor's restart of the origin (a new pid under its name). */
async function waitForRestart(old: unknown) {
  for (;;) {
    const now = h.node.whereis(ORIGIN);
    if (now && now !== old && !now.equals(old as never)) return now;
    await new Promise((r) => setImmediate(r));
  }
}
