/**
 * The origin's stake ledger over real HTTP (inject), real LMDB, real signed items: stake,
 * unstake, the stake-exclusivity period on the origin's own (simulated) clock, slashing on
 * verified evidence (double assignment, a CU attestation contradicted by recomputation), bogus
 * evidence refused with its reason, the ledger across a restart of the origin and of the node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { readAttestation, signAttestation, type AttestationFields } from '../../../units/cu/index.js';
import { secItem } from '../../../units/sec/index.js';
import { evalLua, resultOf, send, spawnAos } from '../cu/support/harness.js';
import { doubleAssignment, message, rogueAssignment, stakeRequest } from './items.js';
import { get, ORIGIN, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 0, 1);
let clock = T0;
let dir: string;
let h: SecHarness;
let suWallet: Wallet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aotp-stakes-'));
  suWallet = await generateWallet('ed25519');
  h = await startSec({ dir, wallet: suWallet, now: () => clock, config: { stakeExclusivityMs: 2 * DAY, slashRewardPercent: 40 } });
}, 60_000);
afterAll(async () => {
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const stake = async (signer: Wallet, action: string, quantity?: string) => post(h, '/sec/stake', (await stakeRequest(signer, action, quantity)).raw);
const account = async (address: string) => (await get(h, `/sec/stakes/${address}`)).body;

describe('stake, unstake, withdraw', () => {
  it('stakes under the signer; unstaked funds stay locked for the exclusivity period; a request counts once', async () => {
    const w = await generateWallet('ed25519');
    clock = T0;
    expect(await account(w.address)).toMatchObject({ address: w.address, staked: '0', locked: '0', unstaking: [] });
    const first = await stakeRequest(w, 'Stake', '1000');
    expect((await post(h, '/sec/stake', first.raw)).body).toMatchObject({ staked: '1000', locked: '1000' });
    const replay = await post(h, '/sec/stake', first.raw);
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatch(/applied already/);
    expect((await stake(w, 'Stake', '250')).body).toMatchObject({ staked: '1250' });

    clock = T0 + 1000;
    const u = await stake(w, 'Unstake', '400');
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ staked: '850', locked: '1250', unstaking: [{ amount: '400', releaseAt: T0 + 1000 + 2 * DAY }] });
    expect((await stake(w, 'Unstake', '851')).body.error).toMatch(/has 850 staked; cannot unstake 851/);

    // Before the period is over: refused, with the date; nothing changes.
    clock = T0 + 1000 + 2 * DAY - 1;
    const early = await stake(w, 'Withdraw');
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/stay locked for the stake-exclusivity period, until 2026-01-03T00:00:01.000Z/);
    expect(await account(w.address)).toMatchObject({ staked: '850', locked: '1250', withdrawn: '0' });

    clock = T0 + 1000 + 2 * DAY;
    expect((await stake(w, 'Withdraw')).body).toMatchObject({ staked: '850', locked: '850', unstaking: [], withdrawn: '400' });
    expect((await stake(w, 'Withdraw')).body.error).toMatch(/nothing unstaking/);
  });

  it('bad requests are 400 with the reason and change nothing', async () => {
    const w = await generateWallet('ed25519');
    await stake(w, 'Stake', '10');
    const tampered = Buffer.from((await stakeRequest(w, 'Stake', '99')).raw);
    tampered[tampered.length - 3] ^= 1; // in the tags: the signature no longer covers them
    const wrongType = await createDataItem({ data: '', tags: [{ name: 'Type', value: 'Message' }, { name: 'Action', value: 'Stake' }, { name: 'Quantity', value: '5' }] }, w);
    const cases: [Uint8Array, RegExp][] = [
      [(await stakeRequest(w, 'Stake', '-5')).raw, /Quantity must be a positive integer/],
      [(await stakeRequest(w, 'Stake', '1.5')).raw, /Quantity must be a positive integer/],
      [(await stakeRequest(w, 'Stake', '0')).raw, /Quantity must be a positive integer/],
      [(await stakeRequest(w, 'Unstake')).raw, /Quantity must be a positive integer/],
      [(await stakeRequest(w, 'Steal', '5')).raw, /Action must be Stake, Unstake or Withdraw/],
      [wrongType.raw, /Type=Sec-Stake/],
      [tampered, /invalid signature/],
      [Buffer.from('not an item'), /not a valid ANS-104 data item/],
      [new Uint8Array(0), /body is empty/],
    ];
    for (const [raw, reason] of cases) {
      const r = await post(h, '/sec/stake', raw);
      expect(r.status, String(reason)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    expect(await account(w.address)).toMatchObject({ staked: '10', locked: '10', withdrawn: '0', unstaking: [] });
    expect((await get(h, '/sec/stakes/nope')).status).toBe(400);
  });
});

/** A process with two messages, and a second assignment for slot 2 signed by its SU outside the sequencer. */
async function forked() {
  const pid = await spawnAos(h, MODULE);
  await send(h, pid, { action: 'Ping' });
  await send(h, pid, { action: 'Ping' });
  const s1 = h.su.log.slot(pid, 1)!;
  const s2 = h.su.log.slot(pid, 2)!;
  const other = await message(h.user, pid, [{ name: 'Action', value: 'Other' }]);
  const rogue = rogueAssignment(suWallet, { processId: pid, messageId: other.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
  return { pid, s1, s2, rogue };
}

describe('slashing a double-assigning SU', () => {
  let challenger: Wallet;
  beforeAll(async () => {
    challenger = await generateWallet('ed25519');
  });

  it('bogus evidence slashes nothing: forged, tampered, other signers, other nonces, the same message', async () => {
    clock = T0;
    await stake(suWallet, 'Stake', '1000');
    const before = await account(suWallet.address);
    const { pid, s1, s2, rogue } = await forked();
    const stranger = await generateWallet('ed25519');
    const forged = rogueAssignment(stranger, { processId: pid, messageId: rogue.id, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
    const tampered = Buffer.from(rogue.raw);
    tampered[tampered.length - 40] ^= 1;
    const sameMessage = rogueAssignment(suWallet, { processId: pid, messageId: s2.messageId, slot: 2, prev: { id: s1.assignmentId, hashChain: s1.hashChain } });
    const elsewhere = await forked();
    const cases: [Uint8Array, Uint8Array, RegExp][] = [
      [s2.assignment, forged.raw, /signed by different keys/],
      [s2.assignment, tampered, /assignment 2: (invalid signature|not a valid)/],
      [s1.assignment, s2.assignment, /different nonces \(1 and 2\)/],
      [s2.assignment, sameMessage.raw, /both assignments name message/],
      [s2.assignment, elsewhere.rogue.raw, /is for process .*, not /],
      [(await message(h.user, pid)).raw, s2.assignment, /assignment 1 is not an assignment/],
    ];
    for (const [a, b, reason] of cases) {
      const r = await post(h, '/sec/slash', (await doubleAssignment(challenger, pid, a, b)).raw);
      expect(r.status, String(reason)).toBe(400);
      expect(r.body.error).toMatch(reason);
    }
    const unsigned = Buffer.from((await doubleAssignment(challenger, pid, s2.assignment, rogue.raw)).raw);
    unsigned[100] ^= 1; // the evidence item's own signature
    expect((await post(h, '/sec/slash', unsigned)).body.error).toMatch(/evidence: invalid signature/);
    expect(await account(suWallet.address)).toEqual(before);
    expect((await account(challenger.address)).rewards).toBe('0');
  }, 60_000);

  it('two signed assignments for one nonce slash the SU (unstaking funds too); the challenger gets its share; once only', async () => {
    clock = T0 + 5000;
    await stake(suWallet, 'Unstake', '300');
    const { pid, s2, rogue } = await forked();
    const r = await post(h, '/sec/slash', (await doubleAssignment(challenger, pid, s2.assignment, rogue.raw)).raw);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.slash).toMatchObject({ kind: 'double-assignment', address: suWallet.address, processId: pid, challenger: challenger.address, amount: '1000', reward: '400', burned: '600', at: T0 + 5000 });
    expect(r.body.slash.items).toEqual([Buffer.from(s2.assignment).toString('base64url'), Buffer.from(rogue.raw).toString('base64url')]);
    expect(await account(suWallet.address)).toMatchObject({ staked: '0', unstaking: [], locked: '0', slashed: '1000', slashes: [r.body.slash.key] });
    expect((await account(challenger.address)).rewards).toBe('400');
    // The same offense again, in either order, by anyone: refused.
    const again = await post(h, '/sec/slash', (await doubleAssignment(h.user, pid, rogue.raw, s2.assignment)).raw);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/slashed already/);
    // The unhosting path takes the same proof; with nothing left to take it still unhosts.
    const unhost = await post(h, '/sec/evidence', (await doubleAssignment(challenger, pid, s2.assignment, rogue.raw)).raw);
    expect(unhost.status).toBe(200);
    expect(unhost.body).toMatchObject({ state: 'unhosted' });
    expect(unhost.body.slash).toBeUndefined();
    expect((await get(h, `/sec/${pid}`)).body).toMatchObject({ state: 'unhosted', stake: { staked: '0', locked: '0', slashed: '1000' } });
  }, 60_000);

  it('POST /sec/evidence of a double assignment also slashes a staked SU', async () => {
    clock = T0 + 6000;
    await stake(suWallet, 'Stake', '70');
    const { pid, s2, rogue } = await forked();
    const r = await post(h, '/sec/evidence', (await doubleAssignment(challenger, pid, s2.assignment, rogue.raw)).raw);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'unhosted', slash: { kind: 'double-assignment', amount: '70', reward: '28' } });
    expect((await account(suWallet.address)).slashed).toBe('1070');
  }, 60_000);
});

describe('slashing a CU whose attestation recomputation contradicts', () => {
  let pid: string;
  let truth: AttestationFields;
  let liar: Wallet;
  const mismatch = async (signer: Wallet, raw: Uint8Array, processId = pid) =>
    post(h, '/sec/slash', (await secItem(signer, { type: 'Sec-Evidence', kind: 'Attestation-Mismatch', processId, items: [raw] })).raw);

  beforeAll(async () => {
    pid = await spawnAos(h, MODULE);
    const m = await evalLua(h, pid, 'Send({ Target = "T", Data = "pay 5" }); return 5');
    await resultOf(h, pid, m.id);
    const r = await h.api.attestation(pid, m.id, 30_000);
    if (!('attestation' in r)) throw new Error(JSON.stringify(r));
    truth = await readAttestation(r.attestation);
    liar = await generateWallet('ed25519');
    clock = T0 + 10_000;
    await stake(liar, 'Stake', '500');
  }, 60_000);

  it('consistent, tampered, foreign or uncheckable attestations slash nothing', async () => {
    const challenger = await generateWallet('ed25519');
    const honest = await signAttestation(liar.key, truth);
    const tampered = Buffer.from(await signAttestation(liar.key, { ...truth, resultHash: 'A'.repeat(43) }));
    tampered[tampered.length - 5] ^= 1;
    const unknown = await signAttestation(liar.key, { ...truth, messageId: 'B'.repeat(43), memoryHash: '0'.repeat(64) });
    const cases: [Uint8Array, number, RegExp, string?][] = [
      [honest, 400, /agrees with the recomputation/],
      [(await h.api.attestation(pid, truth.messageId, 30_000) as { attestation: Uint8Array }).attestation, 400, /agrees with the recomputation/],
      [tampered, 400, /the attestation: invalid signature/],
      [(await message(h.user, pid)).raw, 400, /is not an attestation/],
      [unknown, 404, /cannot recompute message B+/],
      [await signAttestation(liar.key, { ...truth, processId: 'C'.repeat(43) }), 404, /cannot recompute message .* of C{43}/, 'C'.repeat(43)],
      [honest, 400, /is for process .*, not /, (await spawnAos(h, MODULE))],
    ];
    for (const [raw, status, reason, other] of cases) {
      const r = await mismatch(challenger, raw, other);
      expect(r.status, String(reason)).toBe(status);
      expect(r.body.error).toMatch(reason);
    }
    expect(await account(liar.address)).toMatchObject({ staked: '500', slashed: '0' });
  }, 60_000);

  it('an attestation with another result hash slashes the CU that signed it; the origin recomputed it', async () => {
    const challenger = await generateWallet('ed25519');
    const lie = await signAttestation(liar.key, { ...truth, resultHash: 'A'.repeat(43) });
    const r = await mismatch(challenger, lie);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.slash).toMatchObject({ kind: 'attestation-mismatch', address: liar.address, amount: '500', reward: '200', burned: '300', challenger: challenger.address });
    expect(r.body.slash.detail).toContain(`resultHash ${'A'.repeat(43)}`);
    expect(r.body.slash.detail).toContain(`recomputed: resultHash ${truth.resultHash}`);
    expect(r.body).toMatchObject({ address: liar.address, staked: '0', slashed: '500' });
    // A second lie about the same message is the same offense.
    const memoryLie = await signAttestation(liar.key, { ...truth, memoryHash: 'f'.repeat(64) });
    expect((await mismatch(challenger, memoryLie)).status).toBe(409);
  }, 60_000);

  it('a wrong memory hash alone is a contradiction too', async () => {
    const w = await generateWallet('ed25519');
    await stake(w, 'Stake', '9');
    const r = await mismatch(h.user, await signAttestation(w.key, { ...truth, memoryHash: 'f'.repeat(64) }));
    expect(r.status).toBe(200);
    expect(r.body.slash.detail).toMatch(/memoryHash f{64}; recomputed: memoryHash [0-9a-f]{64}/);
  });
});

describe('durability', () => {
  it('the ledger survives a kill of the origin and a restart of the node', async () => {
    const w = await generateWallet('ed25519');
    clock = T0 + 20_000;
    await stake(w, 'Stake', '77');
    await stake(w, 'Unstake', '7');
    const before = await account(w.address);
    const su = await account(suWallet.address);

    const first = h.node.whereis(ORIGIN)!;
    expect(h.node.kill(ORIGIN)).toHaveLength(1);
    for (;;) {
      const now = h.node.whereis(ORIGIN);
      if (now && now !== first) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await account(w.address)).toEqual(before);

    await h.stop();
    h = await startSec({ dir, wallet: suWallet, now: () => clock, config: { stakeExclusivityMs: 2 * DAY } });
    expect(await account(w.address)).toEqual(before);
    expect(await account(suWallet.address)).toEqual(su);
    // The period still runs on the restarted origin, and old requests still count once.
    expect((await stake(w, 'Withdraw')).status).toBe(409);
    clock = T0 + 20_000 + 2 * DAY;
    expect((await stake(w, 'Withdraw')).body).toMatchObject({ staked: '70', withdrawn: '7' });
  }, 120_000);
});
