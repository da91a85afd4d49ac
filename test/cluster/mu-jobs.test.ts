/**
 * Push jobs survive their node. Two aotp processes on three routed nats-servers (JetStream,
 * R3); aos process A sends Ping to B, whose handler answers Pong to A. The node that carries
 * the push (n1) kills itself (SIGKILL, at a crash point) at the worst moments:
 *
 *  - after it stored the signed Ping (its outbox) and before pushing it;
 *  - after the SU assigned the Ping and before its job recorded that.
 *
 * n2 takes the dead node's jobs over and finishes them: the Ping is in B's log once (the item
 * n1 signed, not a second one), the Pong in A's once.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCluster } from '../../cli/verify.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { aosMessage, aosSpawnItem, dryRun, eventually, logOf, nodeInfo, pushSomewhere, push, type NodeInfo } from '../support/aos-client.js';
import { allMembers, clusterWallets, killAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';

let nats: NatsClusterHandle;
let wallets: ClusterWallets;
let user: Wallet;
let n2: AotpProcess;
let info: NodeInfo;
const procs: AotpProcess[] = [];
let n1Dir: string | undefined;

async function startN1(crashAt?: string): Promise<AotpProcess> {
  const n = await startAotpNode({
    name: 'n1',
    servers: nats.urls,
    wallets,
    config: { chaos: true },
    ...(n1Dir ? { dataDir: n1Dir } : {}),
    ...(crashAt ? { env: { AOTP_CRASH_AT: crashAt } } : {}),
  });
  n1Dir = n.dataDir;
  procs.push(n);
  return n;
}

beforeAll(async () => {
  nats = await startNatsCluster(3, { jetstream: true });
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
  n2 = await startAotpNode({ name: 'n2', servers: [...nats.urls.slice(1), nats.urls[0]!], wallets, config: { chaos: true } });
  procs.push(n2);
  info = await nodeInfo(n2.url);
}, 60_000);

afterAll(async () => {
  for (const p of procs) await killAotp(p);
  await nats?.stop();
  for (const d of [wallets?.dir, ...procs.map((p) => p.dataDir)]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('a push job whose node dies', () => {
  let a = '';
  let b = '';

  /** Sends the Ping through `via`; answers the pushed message's id. */
  async function ping(via: AotpProcess, data: string): Promise<string> {
    const item = await aosMessage(a, user, [{ name: 'Action', value: 'Eval' }], `Send({ Target = "${b}", Action = "Ping", Data = "${data}" }); return "sent"`);
    expect(await push(via.url, item)).toBe(202);
    return item.id;
  }

  /** After the push settled: exactly one Ping `data` in B's log, one Pong in A's; the Ping's id. */
  async function exactlyOnce(data: string): Promise<string> {
    await eventually(`A got pong ${data}`, async () => (await dryRun(n2.url, a, user.address, 'return Got')) === `pong ${data}`, 60_000);
    const pings = (await logOf(n2.url, b)).filter((e) => e.tags.Action === 'Ping' && e.data === data);
    const pongs = (await logOf(n2.url, a)).filter((e) => e.tags.Action === 'Pong' && e.data === `pong ${data}`);
    expect(pings.map((p) => p.tags['From-Process'])).toEqual([a]);
    expect(pongs.map((p) => p.tags['From-Process'])).toEqual([b]);
    return pings[0]!.id;
  }

  async function selfKilled(n: AotpProcess, point: string): Promise<void> {
    const [code, signal] = (await n.exited) as [number | null, string | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(n.stderr()).toContain(`crash point ${point} reached`);
  }

  it('sets up two aos processes that play ping-pong', async () => {
    for (let i = 0; i < 2; i++) {
      const item = await aosSpawnItem(info, user);
      await pushSomewhere(() => [n2.url], item);
      if (i === 0) a = item.id;
      else b = item.id;
    }
    const evalOn = async (pid: string, code: string) => pushSomewhere(() => [n2.url], await aosMessage(pid, user, [{ name: 'Action', value: 'Eval' }], code));
    await evalOn(b, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "pong " .. msg.Data }) end); return 1`);
    await evalOn(a, `Got = nil; Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Got = msg.Data end); return 1`);
    await eventually('handlers evaluated', async () => (await dryRun(n2.url, a, user.address, 'return type(Got)')) === 'nil', 60_000);
  });

  it('killed after storing its signed outbox, before pushing it: the survivor pushes the stored Ping, once', async () => {
    const n1 = await startN1('mu:outbox-stored');
    await allMembers([n1, n2], 2);
    const root = await ping(n1, 'one');
    await selfKilled(n1, 'mu:outbox-stored');
    const pingId = await exactlyOnce('one');
    // The Ping pushed is the item n1 signed and stored before it died.
    const trace = (await (await fetch(`${n2.url}/mu/jobs/${root}`)).json()) as { job: { stage: string; children: string[] } };
    expect(trace.job.stage).toBe('done');
    expect(trace.job.children).toEqual([pingId]);
  }, 120_000);

  it('killed after the SU assigned the Ping, before its job recorded it: the survivor finishes it without a second slot', async () => {
    const n1 = await startN1('mu:pushed-unrecorded');
    await allMembers([n1, n2], 2);
    await ping(n1, 'two');
    await selfKilled(n1, 'mu:pushed-unrecorded');
    await exactlyOnce('two');
  }, 120_000);

  it('the dead node comes back; the logs hold no gap, no slot twice, no message twice', async () => {
    const n1 = await startN1();
    await allMembers([n1, n2], 2);
    const verdict = await verifyCluster({ servers: nats.urls });
    expect(verdict.processes).toBe(2);
    expect(verdict.violations).toBe(0);
  }, 60_000);
});
