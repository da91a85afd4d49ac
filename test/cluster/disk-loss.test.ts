/**
 * A cluster that loses a whole machine, disk included, loses nothing. Three aotp processes
 * (default settings) on three routed nats-servers (JetStream, R3), all started and killed here.
 * Pairs of aos processes play ping-pong across owners under a steady load of "Go" messages sent
 * through random nodes: a Go to A makes A send Ping to B, and B answers Pong to A.
 *
 * The node owning the most processes is SIGKILLed and its data dir deleted, then started again
 * empty; the second time a nats-server is SIGKILLed with it. Afterwards: every Go answered 202
 * is in its log exactly once, made exactly one Ping and one Pong, every message has a result
 * that every node answers identically, GraphQL answers identically from every node, and
 * `aotp verify` finds nothing.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCluster } from '../../cli/verify.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { aosMessage, aosSpawnItem, eventually, logOf, nodeInfo, push, pushSomewhere, type LogEntry, type NodeInfo } from '../support/aos-client.js';
import { allMembers, clusterWallets, killAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';

const NAMES = ['n1', 'n2', 'n3'];
const PAIRS = 3;

let nats: NatsClusterHandle;
let wallets: ClusterWallets;
let user: Wallet;
let info: NodeInfo;
const nodes = new Map<string, AotpProcess>();
const dirs = new Map<string, string>();
const everyProcess: AotpProcess[] = [];

const serversFor = (i: number) => [...nats.urls.slice(i), ...nats.urls.slice(0, i)];

async function startAotp(name: string): Promise<AotpProcess> {
  const dir = dirs.get(name);
  if (dir) mkdirSync(dir, { recursive: true });
  const n = await startAotpNode({ name, servers: serversFor(NAMES.indexOf(name)), wallets, ...(dir ? { dataDir: dir } : {}) });
  dirs.set(name, n.dataDir);
  everyProcess.push(n);
  nodes.set(name, n);
  return n;
}

const urls = () => [...nodes.values()].map((n) => n.url);
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

beforeAll(async () => {
  nats = await startNatsCluster(3, { jetstream: true });
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
  for (const name of NAMES) await startAotp(name);
  await allMembers([...nodes.values()], 3);
  info = await nodeInfo(nodes.get('n1')!.url);
}, 120_000);

afterAll(async () => {
  for (const n of everyProcess) await killAotp(n);
  await nats?.stop();
  for (const d of [wallets?.dir, ...dirs.values()]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('losing a machine, disk included, under a ping-pong load', () => {
  /** [A, B] pairs, owned by different nodes. */
  const pairs: [string, string][] = [];
  /** Go messages answered 202: id → the A it went to and its data. */
  const accepted = new Map<string, { a: string; data: string }>();
  let sent = 0;

  async function spawnOwnedBy(want: (owner: string) => boolean): Promise<string> {
    for (;;) {
      const item = await aosSpawnItem(info, user);
      if (!want(owner(item.id, NAMES)!)) continue;
      await pushSomewhere(urls, item);
      return item.id;
    }
  }

  /** Go messages to random pairs through random live nodes until `done()`; each sent again until accepted. */
  async function load(done: () => boolean, workers = 3): Promise<void> {
    const worker = async () => {
      while (!done()) {
        const [a] = pick(pairs);
        const data = `go-${sent++}`;
        const item = await aosMessage(a, user, [{ name: 'Action', value: 'Go' }], data);
        for (;;) {
          const live = urls();
          if (live.length && (await push(pick(live), item)) === 202) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        accepted.set(item.id, { a, data });
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /** The busiest node (most of the pairs' processes) is SIGKILLed, its data dir deleted, and started again empty. */
  async function loseMachine(alsoNatsServer: boolean): Promise<void> {
    const counts = new Map(NAMES.map((n) => [n, 0]));
    for (const p of pairs.flat()) counts.set(owner(p, NAMES)!, counts.get(owner(p, NAMES)!)! + 1);
    const victim = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
    let done = false;
    const t0 = Date.now();
    const say = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${what} (${accepted.size} accepted)`);
    const running = load(() => done);
    try {
      const before = accepted.size;
      await eventually('load under way', async () => accepted.size >= before + 6, 60_000, 100);
      const v = nodes.get(victim)!;
      nodes.delete(victim);
      await killAotp(v);
      expect(v.child.signalCode).toBe('SIGKILL');
      if (alsoNatsServer) await nats.servers[NAMES.indexOf(victim)]!.kill();
      rmSync(v.dataDir, { recursive: true, force: true });
      say(`killed ${victim}${alsoNatsServer ? ' and its nats-server' : ''}`);
      // The survivors carry on: messages are accepted while the machine is gone.
      const during = accepted.size;
      await eventually('accepted while a machine is gone', async () => accepted.size >= during + 6, 60_000, 100);
      say('accepted while it is gone');
      // The machine comes back: the node first, empty (it joins through the other servers, with
      // the replicas the cluster recorded), then its nats-server.
      await startAotp(victim);
      say(`${victim} started again, empty`);
      if (alsoNatsServer) await nats.servers[NAMES.indexOf(victim)]!.restart();
      await allMembers([...nodes.values()], 3, 60_000);
      say('three members again');
      const after = accepted.size;
      await eventually('accepted after the machine is back', async () => accepted.size >= after + 6, 60_000, 100);
    } finally {
      done = true;
    }
    await running;
  }

  /** Everything the issue asks of the cluster afterwards. */
  async function check(): Promise<void> {
    const all = urls();
    // Every push settles: one Pong per accepted Go.
    const logs = new Map<string, LogEntry[]>();
    const readLogs = async () => {
      for (const p of pairs.flat()) logs.set(p, await logOf(pick(all), p));
    };
    await eventually(
      'every Go answered by a Pong',
      async () => {
        await readLogs();
        const pongs = pairs.reduce((n, [a]) => n + logs.get(a)!.filter((e) => e.tags.Action === 'Pong').length, 0);
        if (pongs < accepted.size) console.log(`${pongs} pongs for ${accepted.size} accepted`);
        return pongs >= accepted.size;
      },
      120_000,
      1000,
    );
    for (const [a, b] of pairs) {
      const goes = logs.get(a)!.filter((e) => e.tags.Action === 'Go');
      const mine = [...accepted].filter(([, g]) => g.a === a);
      // Each accepted Go once in A's log; nothing else was sent.
      expect(goes.map((e) => e.id).sort()).toEqual(mine.map(([id]) => id).sort());
      const pings = logs.get(b)!.filter((e) => e.tags.Action === 'Ping');
      const pongs = logs.get(a)!.filter((e) => e.tags.Action === 'Pong');
      expect(pings.map((e) => e.data).sort()).toEqual(mine.map(([, g]) => g.data).sort());
      expect(pongs.map((e) => e.data).sort()).toEqual(mine.map(([, g]) => `pong ${g.data}`).sort());
      for (const e of [...pings, ...pongs]) expect(e.tags['From-Process']).toBe(e.tags.Action === 'Ping' ? a : b);
    }
    // Every node serves the same logs, results and GraphQL answers.
    for (const url of all) for (const p of pairs.flat()) expect(await logOf(url, p)).toEqual(logs.get(p));
    const messages = pairs.flatMap(([a, b]) => [...logs.get(a)!.map((e) => [a, e.id] as const), ...logs.get(b)!.map((e) => [b, e.id] as const)]);
    const answer = async (url: string, path: string, init?: RequestInit) => {
      for (let i = 0; ; i++) {
        const r = await fetch(`${url}${path}`, init);
        const body = await r.text();
        if (r.status !== 503 || i >= 100) return { status: r.status, body };
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    for (const [p, id] of messages) {
      const each = await Promise.all(all.map((url) => answer(url, `/cu/result/${id}?process-id=${p}`)));
      expect(each[0]!.status, each[0]!.body).toBe(200);
      for (const r of each) expect(r).toEqual(each[0]);
    }
    const ids = messages.map(([, id]) => id);
    for (let i = 0; i < ids.length; i += 100) {
      const query = JSON.stringify({ query: 'query($ids: [ID!]) { transactions(ids: $ids, first: 100) { edges { node { id recipient owner { address } tags { name value } } } } }', variables: { ids: ids.slice(i, i + 100) } });
      const each = await Promise.all(all.map((url) => answer(url, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: query })));
      expect(JSON.parse(each[0]!.body).data.transactions.edges.length).toBe(Math.min(100, ids.length - i));
      for (const r of each) expect(r).toEqual(each[0]);
    }
    const verdict = await verifyCluster({ servers: nats.urls });
    expect(verdict.violations).toBe(0);
  }

  it('sets up pairs of aos processes, A and B of each owned by different nodes', async () => {
    for (let i = 0; i < PAIRS; i++) {
      const a = await spawnOwnedBy(() => true);
      const b = await spawnOwnedBy((o) => o !== owner(a, NAMES));
      pairs.push([a, b]);
    }
    const evalOn = async (p: string, code: string) => pushSomewhere(urls, await aosMessage(p, user, [{ name: 'Action', value: 'Eval' }], code));
    for (const [a, b] of pairs) {
      await evalOn(b, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "pong " .. msg.Data }) end); return 1`);
      await evalOn(a, `Handlers.add("go", Handlers.utils.hasMatchingTag("Action", "Go"), function (msg) Send({ Target = "${b}", Action = "Ping", Data = msg.Data }) end); return 1`);
    }
  }, 120_000);

  it('SIGKILL of the busiest node and the loss of its disk: it rejoins empty, nothing is lost or done twice', async () => {
    await loseMachine(false);
    await check();
  }, 400_000);

  it('the same with a nats-server SIGKILLed at the same time', async () => {
    await loseMachine(true);
    await check();
  }, 400_000);
});
