/**
 * Non-publication challenges on a real aos process: message n published in time (by the SU, or
 * by anyone with evidence) → hosted; not published → unhosted at n-1. Challenges and evidence
 * that do not hold are rejected with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWallet } from '../../../units/ans104/index.js';
import { send, spawnAos } from '../cu/support/harness.js';
import { message, nonPublication, publication, rogueAssignment, stakeRequest } from './items.js';
import { get, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
let h: SecHarness;

beforeAll(async () => {
  h = await startSec({ config: { publicationWindowMs: 60_000 } });
}, 60_000);
afterAll(() => h?.stop(), 60_000);

/** A process with one message, and an assignment by its SU for slot 2 of a message it never stored. */
async function withUnpublished(window: string) {
  const pid = await spawnAos(h, MODULE, [{ name: 'Publication-Window', value: window }]);
  await send(h, pid, { action: 'Ping' });
  const s1 = h.su.log.slot(pid, 1)!;
  const hidden = await message(h.user, pid, [{ name: 'Action', value: 'Hidden' }]);
  const assignment = rogueAssignment(h.wallet, { processId: pid, messageId: hidden.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
  return { pid, s1, hidden, assignment };
}

const challenge = async (pid: string, assignment: Uint8Array) => post(h, '/sec/challenge', (await nonPublication(h.user, pid, assignment)).raw);

describe('non-publication', () => {
  it('the SU has published message n: the challenge is answered, hosted', async () => {
    const { pid, s1 } = await withUnpublished('60000');
    const r = await challenge(pid, s1.assignment);
    expect(r.status).toBe(200);
    expect(r.body.challenge).toMatchObject({ kind: 'publication', slot: 1, messageId: s1.messageId });
    const v = await h.until(pid, (x) => x.state === 'hosted' && x.history.length > 1);
    expect(v.history[1]).toMatchObject({ event: 'message published', detail: { slot: 1, publishedBy: h.su.address } });
  }, 60_000);

  it('not published within the window: unhosted at n-1, its SU slashed', async () => {
    const { pid, assignment } = await withUnpublished('300');
    expect((await post(h, '/sec/stake', (await stakeRequest(h.wallet, 'Stake', '40')).raw)).status).toBe(200);
    const r = await challenge(pid, assignment.raw);
    expect(r.status).toBe(200);
    const v = await h.until(pid, (x) => x.state === 'unhosted');
    expect(v.unhostedAt).toBe(1);
    expect(v.reason).toMatch(/slot 2 not published/);
    expect((await post(h, '/su', (await message(h.user, pid)).raw)).status).toBe(409);
    const su = (await get(h, `/sec/stakes/${h.wallet.address}`)).body;
    expect(su).toMatchObject({ staked: '0', slashed: '40' });
    expect(su.slashes).toEqual([expect.stringMatching(/^failed-publication:/)]);
    expect((await get(h, `/sec/stakes/${h.user.address}`)).body.rewards).toBe('20');
  }, 60_000);

  it('anyone may publish message n with evidence: hosted', async () => {
    const { pid, hidden, assignment } = await withUnpublished('60000');
    expect((await challenge(pid, assignment.raw)).status).toBe(200);
    const wrong = await message(h.user, pid);
    const bad = await post(h, '/sec/evidence', (await publication(h.user, pid, assignment.raw, wrong.raw)).raw);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/is not the one assigned at slot 2/);
    const ev = await publication(h.user, pid, assignment.raw, hidden.raw);
    const r = await post(h, '/sec/evidence', ev.raw);
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('hosted');
    expect(r.body.history.at(-1)).toMatchObject({ event: 'message published', detail: { publishedBy: ev.id } });
  }, 60_000);

  it('challenges and evidence that do not hold are rejected and change nothing', async () => {
    const { pid, s1, hidden, assignment } = await withUnpublished('60000');
    const stranger = await generateWallet('ed25519');
    const notHost = rogueAssignment(stranger, { processId: pid, messageId: hidden.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
    const r1 = await challenge(pid, notHost.raw);
    expect(r1.status).toBe(400);
    expect(r1.body.error).toMatch(/signed by .*, not by the process's SU/);
    const other = await spawnAos(h, MODULE);
    const r2 = await challenge(other, assignment.raw);
    expect(r2.status).toBe(400);
    expect(r2.body.error).toMatch(/is for process .*, not /);
    const r3 = await post(h, '/sec/evidence', (await publication(h.user, pid, assignment.raw, hidden.raw)).raw);
    expect(r3.status).toBe(400);
    expect(r3.body.error).toMatch(/no non-publication challenge is open/);
    expect((await get(h, `/sec/${pid}`)).body).toMatchObject({ state: 'hosted', history: [] });
  }, 60_000);
});
