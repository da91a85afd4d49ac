/**
 * Cluster benchmark: `npm run bench:cluster` (--quick: 3 kills, shorter throughput windows).
 *
 * On three routed nats-servers with JetStream (R3), started here on free loopback ports and
 * killed by pid:
 *  1. failover time: an aotp node is SIGKILLed under load; for every process it owned, the time
 *     from the kill to the first assignment answered 200 by the cluster. p50 and max over 10
 *     kills (the killed node restarts and rejoins between kills);
 *  2. assignment throughput through HTTP (POST /su/, signed 1 KiB items made ahead, 50 processes,
 *     24 clients sending through random nodes): three nodes against one node on the same NATS
 *     cluster, measured in the same run. On one 2-core machine the three nodes and three
 *     nats-servers share the cores, so the ratio says what routing and replication cost here,
 *     not what three machines would give.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDataItem, generateWallet, type SignedDataItem, type Wallet } from '../units/ans104/index.js';
import { owner } from '../units/cluster/placement.js';
import { allMembers, clusterWallets, killAotp, launchAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../test/support/aotp-cluster.js';
import { startNatsCluster, type NatsClusterHandle } from '../test/support/nats-server.js';

const QUICK = process.argv.includes('--quick');
const KILLS = QUICK ? 3 : 10;
const WINDOW_MS = QUICK ? 4000 : 10_000;
const PROCESSES = 50;
const CLIENTS = 24;
const LEASE_MS = 4000;
const DOWN_MS = 1500;
const NATS_TIMING = { heartbeatMs: 250, downAfterMs: DOWN_MS, leaseTtlMs: LEASE_MS };

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function post(url: string, raw: Uint8Array): Promise<number> {
  try {
    const r = await fetch(`${url}/su/`, { method: 'POST', body: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

function spawnItem(su: string, user: Wallet): Promise<SignedDataItem> {
  return createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: randomBytes(32).toString('base64url') },
        { name: 'Scheduler', value: su },
      ],
    },
    user,
  );
}
const messageItem = (target: string, user: Wallet) =>
  createDataItem({ data: randomBytes(512).toString('hex'), target, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }, user);

async function spawnProcesses(nodes: AotpProcess[], su: string, user: Wallet): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const item = await spawnItem(su, user);
    for (;;) {
      if ((await post(pick(nodes).url, item.raw)) === 200) break;
      await sleep(100);
    }
    ids.push(item.id);
  }
  return ids;
}

/** Signed messages made ahead, so that signing is not what the clients measure. */
async function presign(processes: string[], user: Wallet, n: number): Promise<{ p: string; item: SignedDataItem }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = processes[i % processes.length]!;
    out.push({ p, item: await messageItem(p, user) });
  }
  return out;
}

/** Assignments/s answered 200 over `WINDOW_MS`, by CLIENTS clients through the given nodes. */
async function throughput(nodes: () => AotpProcess[], items: { p: string; item: SignedDataItem }[]): Promise<number> {
  let next = 0;
  let ok = 0;
  const end = Date.now() + WINDOW_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < end && next < items.length) {
        const { item } = items[next++]!;
        if ((await post(pick(nodes()).url, item.raw)) === 200) ok++;
      }
    }),
  );
  return ok / (WINDOW_MS / 1000);
}

async function main() {
  const dirs: string[] = [];
  const user = await generateWallet('ed25519');
  let nats: NatsClusterHandle | undefined;
  const nodes = new Map<string, AotpProcess>();
  const started: AotpProcess[] = [];
  try {
    nats = await startNatsCluster(3, { jetstream: true });
    const wallets: ClusterWallets = await clusterWallets();
    dirs.push(wallets.dir);
    const names = ['n1', 'n2', 'n3'];
    const start = async (name: string, cluster: string, servers: string[]) => {
      const n = await startAotpNode({ name, servers, wallets, config: { nats: { ...NATS_TIMING, cluster } } });
      dirs.push(n.dataDir);
      started.push(n);
      return n;
    };

    // --- throughput: 1 node, then 3 nodes (separate cluster prefixes on the same NATS) ---
    const urls = nats.urls;
    const one = await start('solo', 'solo', urls);
    const soloProcesses = await spawnProcesses([one], wallets.su.address, user);
    const soloItems = await presign(soloProcesses, user, 40_000);
    await throughput(() => [one], soloItems.slice(0, 2000)); // warm up
    const t1 = await throughput(() => [one], soloItems.slice(2000));
    await killAotp(one);

    for (const [i, name] of names.entries()) nodes.set(name, await start(name, 'aotp', [...urls.slice(i), ...urls.slice(0, i)]));
    await allMembers([...nodes.values()], 3);
    const processes = await spawnProcesses([...nodes.values()], wallets.su.address, user);
    const items = await presign(processes, user, 60_000);
    await throughput(() => [...nodes.values()], items.slice(0, 2000));
    const t3 = await throughput(() => [...nodes.values()], items.slice(2000));

    // --- failover: SIGKILL a node under load, KILLS times ---
    const failovers: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victimName = names[k % names.length]!;
      const victim = nodes.get(victimName)!;
      const moved = new Set(processes.filter((p) => owner(p, names) === victimName));
      const first = new Map<string, number>();
      let killedAt = 0;
      let stop = false;
      const load = Promise.all(
        Array.from({ length: 8 }, async () => {
          while (!stop) {
            const p = pick(processes);
            const item = await messageItem(p, user);
            for (let tries = 0; !stop && tries < 200; tries++) {
              const live = [...nodes.values()];
              if ((await post(pick(live).url, item.raw)) === 200) {
                if (killedAt && moved.has(p) && !first.has(p)) first.set(p, Date.now() - killedAt);
                break;
              }
              await sleep(50);
            }
          }
        }),
      );
      await sleep(1000);
      nodes.delete(victimName);
      killedAt = Date.now();
      await killAotp(victim);
      const deadline = killedAt + 60_000;
      while ([...moved].some((p) => !first.has(p)) && Date.now() < deadline) await sleep(100);
      stop = true;
      await load;
      const times = [...moved].map((p) => first.get(p) ?? Infinity);
      failovers.push(...times);
      console.log(`kill ${k + 1}/${KILLS} (${victimName}, ${moved.size} processes): p50 ${pct(times, 0.5)} ms, max ${Math.max(...times)} ms`);
      const again = await launchAotp(victimName, victim.config, victim.dataDir);
      started.push(again);
      nodes.set(victimName, again);
      await allMembers([...nodes.values()], 3);
    }

    console.log('\n| figure | value | baseline (same run) | ratio |');
    console.log('|---|---|---|---|');
    console.log(`| failover after SIGKILL, p50 (ms) | ${pct(failovers, 0.5)} | downAfterMs + leaseTtlMs = ${DOWN_MS + LEASE_MS} | ${(pct(failovers, 0.5) / (DOWN_MS + LEASE_MS)).toFixed(2)} |`);
    console.log(`| failover after SIGKILL, max (ms), ${failovers.length} moves over ${KILLS} kills | ${Math.max(...failovers)} | ${DOWN_MS + LEASE_MS} | ${(Math.max(...failovers) / (DOWN_MS + LEASE_MS)).toFixed(2)} |`);
    console.log(`| assignments/s, 3 nodes (HTTP, R3 stream) | ${t3.toFixed(0)} | 1 node: ${t1.toFixed(0)} | ${(t3 / t1).toFixed(2)}× |`);
  } finally {
    for (const n of started) await killAotp(n).catch(() => undefined);
    await nats?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
