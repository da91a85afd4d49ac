/**
 * Double-assignment evidence on a real aos process: two assignments signed by the process's SU
 * for one slot with different messages unhost it, the first submitted kept; forged or
 * mismatched evidence is rejected with its reason and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWallet } from '../../../units/ans104/index.js';
import { send, spawnAos } from '../cu/support/harness.js';
import { doubleAssignment, message, rogueAssignment } from './items.js';
import { get, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
let h: SecHarness;

beforeAll(async () => {
  h = await startSec();
}, 60_000);
afterAll(() => h?.stop(), 60_000);

/** A process with two messages (slots 1 and 2), and a second assignment for slot 2 signed by its SU. */
async function forked() {
  const pid = await spawnAos(h, MODULE);
  await send(h, pid, { action: 'Ping' });
  await send(h, pid, { action: 'Ping' });
  const s1 = h.su.log.slot(pid, 1)!;
  const s2 = h.su.log.slot(pid, 2)!;
  const other = await message(h.user, pid, [{ name: 'Action', value: 'Other' }]);
  const rogue = rogueAssignment(h.wallet, { processId: pid, messageId: other.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
  return { pid, s1, s2, rogue, other };
}

const evidence = async (pid: string, a: Uint8Array, b: Uint8Array) => post(h, '/sec/evidence', (await doubleAssignment(h.user, pid, a, b)).raw);

describe('double assignment', () => {
  it('proof unhosts the process; the first submitted assignment is kept; the SU then refuses its messages', async () => {
    const { pid, s2, rogue, other } = await forked();
    const r = await evidence(pid, s2.assignment, rogue.raw);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'unhosted', unhostedAt: 2, kept: { slot: 2, assignmentId: s2.assignmentId, messageId: s2.messageId } });
    expect(r.body.history[0].detail).toMatchObject({ cause: 'double assignment', other: { assignmentId: rogue.id, messageId: other.id } });
    expect(h.sec.store.record(pid)?.state).toBe('unhosted');
    const refused = await post(h, '/su', (await message(h.user, pid)).raw);
    expect(refused.status).toBe(409);
    // more evidence about an unhosted process is refused
    const again = await evidence(pid, s2.assignment, rogue.raw);
    expect(again.status).toBe(400);
    expect(again.body.error).toMatch(/is unhosted/);
  }, 60_000);

  it('the order of submission decides which assignment is kept', async () => {
    const { pid, rogue, other } = await forked();
    const r = await evidence(pid, rogue.raw, h.su.log.slot(pid, 2)!.assignment);
    expect(r.status).toBe(200);
    expect(r.body.kept).toEqual({ slot: 2, assignmentId: rogue.id, messageId: other.id });
  }, 60_000);

  it('forged or mismatched evidence is rejected with a reason and changes nothing', async () => {
    const { pid, s1, s2, rogue } = await forked();
    const stranger = await generateWallet('ed25519');
    const notHost = rogueAssignment(stranger, { processId: pid, messageId: rogue.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
    const tampered = Buffer.from(rogue.raw);
    tampered[tampered.length - 40] ^= 1; // inside the tags: the signature no longer covers them
    const sameMessage = rogueAssignment(h.wallet, { processId: pid, messageId: s2.messageId, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
    const other = await forked();
    const cases: [Uint8Array, Uint8Array, RegExp][] = [
      [s2.assignment, notHost.raw, /assignment 2 is signed by .*, not by the process's SU/],
      [s2.assignment, tampered, /assignment 2: (invalid signature|not a valid)/],
      [s1.assignment, s2.assignment, /different slots \(1 and 2\)/],
      [s2.assignment, sameMessage.raw, /both assignments name message/],
      [s2.assignment, other.rogue.raw, /assignment 2 is for process .*, not /],
      [(await message(h.user, pid)).raw, s2.assignment, /assignment 1 is not an assignment/],
    ];
    for (const [a, b, reason] of cases) {
      const r = await evidence(pid, a, b);
      expect(r.status, String(reason)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    const one = await post(h, '/sec/evidence', (await doubleAssignment(h.user, pid, s2.assignment, rogue.raw)).raw.slice(0, 50));
    expect(one.status).toBe(400);
    expect((await get(h, `/sec/${pid}`)).body).toMatchObject({ state: 'hosted', history: [] });
    expect(h.sec.store.record(pid)).toBeUndefined();
    expect((await send(h, pid, { action: 'Ping' })).slot).toBe(3);
  }, 60_000);
});
