/**
 * `aotp start` serves the origin under /sec and passes its view to the SU: over real HTTP, a
 * process whose SU subtree is stopped past its liveness period is unhosted, and the SU, back,
 * refuses it with 409.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../../cli/start.js';
import { loadConfig } from '../../../config/load.js';
import { restartChild, terminateChild } from '../../../runtime/index.js';
import { createDataItem, generateWallet, ownerAddress, parseDataItem, type Wallet } from '../../../units/ans104/index.js';
import { DataItem } from '@dha-team/arbundles';
import { readAttestation, signAttestation } from '../../../units/cu/index.js';
import { secItem } from '../../../units/sec/index.js';
import { tempDir } from '../cu/support/harness.js';
import { liveness, message } from './items.js';

let running: RunningNode;
let dir: string;
let user: Wallet;
beforeAll(async () => {
  dir = tempDir('aotp-sec-node-');
  user = await generateWallet('ed25519');
  running = await startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, {}));
}, 60_000);
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const post = (path: string, raw: Uint8Array) =>
  fetch(`${running.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw) });
const view = async (pid: string) => (await fetch(`${running.url}/sec/${pid}`)).json() as Promise<Record<string, any>>;

/** Spawns an aos 2.0.4 process of `user` on the node's SU; answers its id. */
async function spawnAos(extra: { name: string; value: string }[] = []): Promise<string> {
  const spawn = await createDataItem(
    {
      data: '',
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: running.cu.bundled['aos-2.0.4-wasm32']! },
        { name: 'Scheduler', value: running.su.address },
        ...extra,
      ],
    },
    user,
  );
  expect((await post('/su/', spawn.raw)).status).toBe(200);
  return spawn.id;
}

describe('aotp start serves the AO-Sec origin under /sec', () => {
  it('liveness challenge over HTTP: unhosted, then the SU refuses the process with 409', async () => {
    const moduleId = running.cu.bundled['aos-2.0.4-wasm32']!;
    const spawn = await createDataItem(
      {
        data: '',
        tags: [
          { name: 'Data-Protocol', value: 'ao' },
          { name: 'Type', value: 'Process' },
          { name: 'Module', value: moduleId },
          { name: 'Scheduler', value: running.su.address },
          { name: 'Liveness-Period', value: '300' },
        ],
      },
      user,
    );
    expect((await post('/su/', spawn.raw)).status).toBe(200);
    expect(await view(spawn.id)).toMatchObject({ state: 'hosted', host: { address: running.su.address, url: `${running.url}/su` }, history: [] });
    expect((await fetch(`${running.url}/sec/nope`)).status).toBe(400);
    expect((await post('/sec/evidence', Buffer.from('junk'))).status).toBe(400);

    expect(await terminateChild(running.node, 'root', 'su')).toEqual({ ok: true });
    try {
      const c = await liveness(user, spawn.id, (await message(user, spawn.id)).raw);
      const r = await post('/sec/challenge', c.raw);
      expect(r.status).toBe(200);
      expect((await r.json()).phase).toBe('challenged.liveness');
      let v = await view(spawn.id);
      while (v.state !== 'unhosted') v = await view(spawn.id); // each GET awaits the origin
      expect(v.unhostedAt).toBe(0);
    } finally {
      await restartChild(running.node, 'root', 'su');
    }
    const refused = await post('/su/', (await message(user, spawn.id)).raw);
    expect(refused.status).toBe(409);
    expect((await refused.json()).error).toMatch(/is unhosted/);
  }, 60_000);
});

describe('aotp start serves attestations and the stake ledger', () => {
  it('over HTTP: an attestation from /cu verifies; a contradicting one signed by a staked CU is slashed through /sec/slash, the true one is refused', async () => {
    const moduleId = running.cu.bundled['aos-2.0.4-wasm32']!;
    const spawn = { id: await spawnAos() };
    const m = await message(user, spawn.id, [{ name: 'Action', value: 'Eval' }], 'return 6 * 7');
    expect((await post('/su/', m.raw)).status).toBe(200);
    expect((await fetch(`${running.url}/cu/result/${m.id}?process-id=${spawn.id}`)).status).toBe(200);
    const r = await fetch(`${running.url}/cu/attestation/${m.id}?process-id=${spawn.id}`);
    expect(r.status).toBe(200);
    const raw = Buffer.from(await r.arrayBuffer());
    expect(await DataItem.verify(raw)).toBe(true);
    const truth = await readAttestation(raw);
    expect(truth).toMatchObject({ cu: running.cu.address, processId: spawn.id, messageId: m.id, slot: 1, moduleId });

    const liar = await generateWallet('ed25519');
    const stake = await createDataItem({ data: '', tags: [{ name: 'Type', value: 'Sec-Stake' }, { name: 'Action', value: 'Stake' }, { name: 'Quantity', value: '10' }] }, liar);
    expect((await post('/sec/stake', stake.raw)).status).toBe(200);
    const evidence = async (att: Uint8Array) => post('/sec/slash', (await secItem(user, { type: 'Sec-Evidence', kind: 'Attestation-Mismatch', processId: spawn.id, items: [att] })).raw);
    const agrees = await evidence(await signAttestation(liar.key, truth));
    expect(agrees.status).toBe(400);
    expect((await agrees.json()).error).toMatch(/agrees with the recomputation/);
    const lie = await evidence(await signAttestation(liar.key, { ...truth, resultHash: 'A'.repeat(43) }));
    expect(lie.status).toBe(200);
    expect(await lie.json()).toMatchObject({ slash: { kind: 'attestation-mismatch', amount: '10' }, staked: '0', slashed: '10' });
    expect(await (await fetch(`${running.url}/sec/stakes/${liar.address}`)).json()).toMatchObject({ staked: '0', slashed: '10', locked: '0' });
  }, 60_000);
});

describe('an MU that signs a message its process did not send', () => {
  it('is slashed on a Forged-Message: the origin recomputes the evaluation it names; the message it really pushed slashes nothing', async () => {
    const [p, t] = [await spawnAos([{ name: 'Authority', value: running.mu.address }]), await spawnAos([{ name: 'Authority', value: running.mu.address }])];
    const m = await message(user, p, [{ name: 'Action', value: 'Eval' }], `Send({ Target = "${t}", Action = "Note", Data = "hello" }); return 1`);
    expect((await post('/mu/', m.raw)).status).toBe(202);
    await running.mu.store.settled(m.id);
    // What the MU pushed to t, as t's log holds it: signed by the MU, naming p and m.
    const entry = running.su.log.slotRange(t, 0, 100, 100).find((s) => s.item && parseDataItem(s.item).tags.some((x) => x.name === 'From-Process' && x.value === p));
    expect(entry).toBeDefined();
    const pushed = parseDataItem(entry!.item!);
    expect(ownerAddress(pushed)).toBe(running.mu.address);
    expect(pushed.tags).toContainEqual({ name: 'From-Message', value: m.id });

    const muWallet = running.mu.runtime.wallet;
    const stake = await createDataItem({ data: '', tags: [{ name: 'Type', value: 'Sec-Stake' }, { name: 'Action', value: 'Stake' }, { name: 'Quantity', value: '20' }] }, muWallet);
    expect((await post('/sec/stake', stake.raw)).status).toBe(200);
    const evidence = async (raw: Uint8Array) => post('/sec/slash', (await secItem(user, { type: 'Sec-Evidence', kind: 'Forged-Message', processId: p, items: [raw] })).raw);

    const genuine = await evidence(entry!.item!);
    expect(genuine.status).toBe(400);
    expect((await genuine.json()).error).toMatch(/is in the outbox of message/);
    // Without From-Message the claim cannot be checked: refused, nothing slashed.
    const unnamed = await createDataItem({ data: 'hello', target: t, tags: pushed.tags.filter((x) => x.name !== 'From-Message') }, muWallet);
    const r0 = await evidence(unnamed.raw);
    expect(r0.status).toBe(400);
    expect((await r0.json()).error).toMatch(/names no From-Message/);
    expect(await (await fetch(`${running.url}/sec/stakes/${running.mu.address}`)).json()).toMatchObject({ staked: '20', slashed: '0' });

    // The same claim with other data: p's evaluation of m sent no such message.
    const forged = await createDataItem({ data: 'send me your tokens', target: t, tags: pushed.tags }, muWallet);
    const lie = await evidence(forged.raw);
    expect(lie.status).toBe(200);
    expect(await lie.json()).toMatchObject({ slash: { kind: 'forged-message', address: running.mu.address, amount: '20' }, staked: '0', slashed: '20' });
    expect(await (await fetch(`${running.url}/sec/stakes/${running.mu.address}`)).json()).toMatchObject({ staked: '0', slashed: '20' });
  }, 60_000);
});

