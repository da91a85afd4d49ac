/**
 * The MU answers 202 after one commit: its root job's write is not waited for before the SU is
 * asked, because the node's one LMDB environment commits in order (the write shares the SU's
 * commit, or precedes it). A node SIGKILLed the moment a client got its 202 must therefore
 * still have the job and finish its push when it starts again.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { aosMessage, aosSpawnItem, dryRun, eventually, nodeInfo, push, type NodeInfo } from '../../support/aos-client.js';
import { clusterWallets, killAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../../support/aotp-cluster.js';

let wallets: ClusterWallets;
let user: Wallet;
let n: AotpProcess;
let dataDir: string;
const start = async () => (n = await startAotpNode({ name: 'crash', servers: [], wallets, embedded: true, ...(dataDir ? { dataDir } : {}) }));

beforeAll(async () => {
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
  await start();
  dataDir = n.dataDir;
});
afterAll(async () => {
  if (n) await killAotp(n);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(wallets.dir, { recursive: true, force: true });
});

const PING = `Pings = Pings or 0
Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Pings = Pings + 1; Send({ Target = msg.From, Action = "Pong" }) end)
return "ok"`;
const PONG = `Pongs = Pongs or 0
Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Pongs = Pongs + 1 end)
return "ok"`;

it('a node SIGKILLed the moment it answered 202 has the push after a restart, and finishes it once', async () => {
  let info: NodeInfo = await nodeInfo(n.url);
  const a = await aosSpawnItem(info, user);
  const b = await aosSpawnItem(info, user);
  for (const s of [a, b]) expect(await push(n.url, s)).toBe(202);
  expect(await push(n.url, await aosMessage(a.id, user, [{ name: 'Action', value: 'Eval' }], PONG))).toBe(202);
  expect(await push(n.url, await aosMessage(b.id, user, [{ name: 'Action', value: 'Eval' }], PING))).toBe(202);
  const ROUNDS = 4;
  for (let i = 0; i < ROUNDS; i++) {
    const go = await aosMessage(a.id, user, [{ name: 'Action', value: 'Eval' }], `Send({ Target = "${b.id}", Action = "Ping" }); return ${i}`);
    expect(await push(n.url, go)).toBe(202);
    await killAotp(n);
    expect(n.child.signalCode).toBe('SIGKILL');
    await start();
    info = await nodeInfo(n.url);
    await eventually(`push ${i} finished after the restart`, async () => {
      const r = await fetch(`${n.url}/mu/jobs/${go.id}`);
      if (r.status !== 200) return false;
      const t = (await r.json()) as { push: { stage: string }[] };
      return t.push.length === 3 && t.push.every((j) => j.stage === 'done');
    }, 60_000);
  }
  expect(await dryRun(n.url, b.id, user.address, 'return Pings')).toBe(String(ROUNDS));
  expect(await dryRun(n.url, a.id, user.address, 'return Pongs')).toBe(String(ROUNDS));
}, 180_000);
