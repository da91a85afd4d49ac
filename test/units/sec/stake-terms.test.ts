/**
 * Stake as a term of hosting: a spawn's Min-SU-Stake makes an SU without that much stake refuse
 * to host the process; a host that fails a liveness challenge is slashed; an unhosted aos
 * process reads the offering SU's stake (the SU-Stake tag the origin adds from its ledger when
 * it dry-runs the offer) before it accepts the offer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { run, spawnAos } from '../cu/support/harness.js';
import { spawnItem } from '../su/helpers.js';
import { liveness, message, offer } from './items.js';
import { get, post, startSec, type SecHarness } from './support.js';

const MODULE = 'aos-2.0.4-wasm32';
const B_URL = 'http://su-b.test/su';
let a: SecHarness;
let b: SecHarness;

beforeAll(async () => {
  a = await startSec({ name: 'terms-a' });
  b = await startSec({ name: 'terms-b', originOf: a, url: B_URL });
  const id = a.cu.bundled[MODULE]!;
  await b.cu.modules.put(a.store.db<Uint8Array, string>('cu.modules').get(id)!);
}, 60_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
}, 60_000);

async function stake(signer: Wallet, action: string, quantity?: string) {
  const tags: Tag[] = [
    { name: 'Type', value: 'Sec-Stake' },
    { name: 'Action', value: action },
    ...(quantity ? [{ name: 'Quantity', value: quantity }] : []),
  ];
  const r = await post(a, '/sec/stake', (await createDataItem({ data: '', anchor: randomBytes(32), tags }, signer)).raw);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

describe('Min-SU-Stake', () => {
  it('an SU without the stake a spawn requires refuses to host it, with the reason; with it, hosts it', async () => {
    const spawn = await spawnItem(a.wallet.address, [{ name: 'Min-SU-Stake', value: '100' }]);
    const refused = await post(a, '/su', spawn.raw);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatch(new RegExp(`this SU \\(${a.wallet.address}\\) has 0 staked; the process requires Min-SU-Stake 100`));
    expect(a.su.log.process(spawn.id)).toBeUndefined();

    await stake(a.wallet, 'Stake', '100');
    const hosted = await post(a, '/su', spawn.raw);
    expect(hosted.status, JSON.stringify(hosted.body)).toBe(200);
    expect(a.su.log.process(spawn.id)?.nextSlot).toBe(1);
    // Its messages are taken as usual; a spawn without the tag never asks.
    expect((await post(a, '/su', (await message(a.user, spawn.id)).raw)).status).toBe(200);
    expect((await post(a, '/su', (await spawnItem(a.wallet.address)).raw)).status).toBe(200);

    // Unstaking funds do not count: the next such spawn is refused again.
    await stake(a.wallet, 'Unstake', '1');
    const more = await post(a, '/su', (await spawnItem(a.wallet.address, [{ name: 'Min-SU-Stake', value: '100' }])).raw);
    expect(more.status).toBe(409);
    expect(more.body.error).toMatch(/has 99 staked/);
    const bad = await post(a, '/su', (await spawnItem(a.wallet.address, [{ name: 'Min-SU-Stake', value: 'lots' }])).raw);
    expect(bad.status).toBe(409);
    expect(bad.body.error).toMatch(/Min-SU-Stake must be a non-negative integer/);
  });
});

/** Accepts an offer only from an SU with at least 100 staked, by the origin's word. */
const STAKE_HANDLER = `
Handlers.add("host-offer", Handlers.utils.hasMatchingTag("Action", "Host-Offer"), function (msg)
  local stake = tonumber(msg["SU-Stake"] or "")
  local decision, why = "accept", "staked " .. tostring(stake)
  if stake == nil or stake < 100 then decision, why = "reject", "stake " .. tostring(stake) .. " is below 100" end
  ao.send({ Target = msg.From, Action = "Host-Offer-Response", Decision = decision, Data = why })
end)
`;

describe("the process reads the offering SU's stake", () => {
  it('rejects an offer from an SU with too little stake (its own SU-Stake tag ignored), accepts once it has staked', async () => {
    const pid = await spawnAos(a, MODULE, [{ name: 'Liveness-Period', value: '300' }]);
    await run(a, pid, STAKE_HANDLER);
    await a.stopSu();
    try {
      const c = await liveness(a.user, pid, (await message(a.user, pid)).raw);
      expect((await post(a, '/sec/challenge', c.raw)).status).toBe(200);
      await a.until(pid, (v) => v.state === 'unhosted');
    } finally {
      await a.startSu();
    }
    // The failed challenge slashed the host: all it had locked (99 staked, 1 unstaking), half to the challenger.
    const slashed = (await get(a, `/sec/stakes/${a.wallet.address}`)).body;
    expect(slashed).toMatchObject({ staked: '0', locked: '0', slashed: '100' });
    expect(slashed.slashes).toEqual([expect.stringMatching(new RegExp(`^failed-liveness:${a.wallet.address}:${pid}:`))]);
    expect((await get(a, `/sec/stakes/${a.user.address}`)).body.rewards).toBe('50');
    expect((await get(a, `/sec/${pid}`)).body).toMatchObject({ state: 'unhosted', stake: { staked: '0', locked: '0', slashed: '100' } });

    const boastful = await post(a, '/sec/offer', (await offer(b.wallet, pid, [{ name: 'SU-Stake', value: '1000000' }], B_URL)).raw);
    expect(boastful.status).toBe(200);
    expect(boastful.body).toMatchObject({ decision: 'reject', answer: 'stake 0 is below 100', state: 'unhosted' });

    await stake(b.wallet, 'Stake', '150');
    const accepted = await post(a, '/sec/offer', (await offer(b.wallet, pid, [], B_URL)).raw);
    expect(accepted.body).toMatchObject({ decision: 'accept', answer: 'staked 150', state: 'hosted', host: { address: b.wallet.address } });
    expect((await get(a, `/sec/stakes/${b.wallet.address}`)).body).toMatchObject({ staked: '150' });
  }, 60_000);
});
