/**
 * Cluster benchmark: `npm run bench:cluster` (--quick: 3 kills, fewer messages; --cpu-only:
 * part 1 alone).
 *
 * Every node runs with default settings. Measured in one run:
 *
 *  1. CPU per accepted message: signed 1 KiB messages to 50 processes, POSTed to the SU by 24
 *     clients through random nodes; the user+sys time of every aotp and nats-server process
 *     (from /proc/<pid>/stat), divided by the messages answered 200. For one node on the
 *     embedded bus (the baseline; no nats-server runs yet), one node on NATS and three nodes
 *     (three routed nats-servers, JetStream R3). Assignments/s are printed too; on one 2-core
 *     machine, three nodes and three nats-servers share the cores, so CPU per message is the
 *     scaling figure, not throughput.
 *  2. Failover: an aotp node is SIGKILLed under load; for every process it owned, the time from
 *     the kill to the first assignment answered 200 by the cluster. p50 and max over 10 kills
 *     (the node restarts and rejoins between kills), against the membership's downAfterMs.
 *  3. A new owner's first answer after a move (a dry-run through a survivor, once it knows the
 *     owner is down): for an aos process with 1200 messages, hydrated from the newest shared
 *     checkpoint, against the same for a process whose shared checkpoints were deleted (a
 *     replay from slot 0).
 *
 * The last line is one JSON object with the figures.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'nats';
import { createDataItem, generateWallet, type SignedDataItem, type Wallet } from '../units/ans104/index.js';
import { owner } from '../units/cluster/placement.js';
import { aosMessage, aosSpawnItem, nodeInfo } from '../test/support/aos-client.js';
import { allMembers, clusterWallets, killAotp, launchAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../test/support/aotp-cluster.js';
import { startNatsCluster, type NatsClusterHandle } from '../test/support/nats-server.js';
import buildIfStale from '../test/support/build.js';

const QUICK = process.argv.includes('--quick');
/** Only part 1 (CPU per message): for profiling. */
const CPU_ONLY = process.argv.includes('--cpu-only');
const KILLS = QUICK ? 3 : 10;
const MESSAGES = QUICK ? 2000 : 5000;
const PROCESSES = 50;
const CLIENTS = 24;
/** The default nats.downAfterMs (config/schema.ts). */
const DOWN_MS = 1000;
/** Messages in the aos processes of the hydrate-vs-replay part (a shared checkpoint every 1000 by default). */
const HISTORY = 1200;
/** Linux's USER_HZ: /proc's utime and stime are in these ticks. */
const TICKS_PER_S = 100;

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** user+sys CPU ms of the given processes so far (all their threads). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  }
  return (ticks * 1000) / TICKS_PER_S;
}

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

async function postUntil200(urls: () => string[], raw: Uint8Array): Promise<void> {
  for (;;) {
    if ((await post(pick(urls()), raw)) === 200) return;
    await sleep(100);
  }
}

async function spawnProcesses(urls: () => string[], su: string, user: Wallet, n = PROCESSES): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const item = await spawnItem(su, user);
    await postUntil200(urls, item.raw);
    ids.push(item.id);
  }
  return ids;
}

/** Signed messages made ahead, so that signing is not what the clients measure. */
async function presign(processes: string[], user: Wallet, n: number): Promise<SignedDataItem[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await messageItem(processes[i % processes.length]!, user));
  return out;
}

interface Load {
  perSecond: number;
  cpuMsPerMessage: number;
  /** Of which the nats-servers'. */
  natsMsPerMessage: number;
}

/**
 * Sends `items` by CLIENTS clients through random nodes; the CPU of the aotp processes and the
 * nats-servers over it, per message answered 200.
 */
async function measure(urls: () => string[], items: SignedDataItem[], aotp: () => number[], natsPids: () => number[] = () => []): Promise<Load> {
  let next = 0;
  let ok = 0;
  const pids = () => [...aotp(), ...natsPids()];
  const cpu0 = cpuMs(pids());
  const nats0 = cpuMs(natsPids());
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < items.length) {
        if ((await post(pick(urls()), items[next++]!.raw)) === 200) ok++;
      }
    }),
  );
  const ms = Date.now() - t0;
  return { perSecond: (ok * 1000) / ms, cpuMsPerMessage: (cpuMs(pids()) - cpu0) / ok, natsMsPerMessage: (cpuMs(natsPids()) - nats0) / ok };
}

async function main() {
  // The nodes run the compiled CLI (bin/aotp.js → dist/).
  buildIfStale();
  const dirs: string[] = [];
  const user = await generateWallet('ed25519');
  let nats: NatsClusterHandle | undefined;
  const nodes = new Map<string, AotpProcess>();
  const started: AotpProcess[] = [];
  const wallets: ClusterWallets = await clusterWallets();
  dirs.push(wallets.dir);
  const start = async (name: string, cluster: string | undefined, servers: string[] = []) => {
    const n = await startAotpNode({ name, servers, wallets, ...(cluster ? { config: { nats: { cluster } } } : { embedded: true }) });
    dirs.push(n.dataDir);
    started.push(n);
    return n;
  };
  const su = wallets.su.address;
  try {
    // --- 1. CPU per message: one embedded node (no nats-server yet), one node on NATS, three nodes ---
    const embedded = await start('embedded', undefined);
    const embeddedUrls = () => [embedded.url];
    const embeddedItems = await presign(await spawnProcesses(embeddedUrls, su, user), user, MESSAGES + 1000);
    await measure(embeddedUrls, embeddedItems.slice(0, 1000), () => [embedded.child.pid!]); // warm-up
    const e1 = await measure(embeddedUrls, embeddedItems.slice(1000), () => [embedded.child.pid!]);
    await killAotp(embedded);
    console.log(`1 node, embedded bus: ${e1.perSecond.toFixed(0)} assignments/s, ${e1.cpuMsPerMessage.toFixed(2)} CPU ms per message`);

    nats = await startNatsCluster(3, { jetstream: true });
    const natsPids = () => nats!.servers.map((s) => s.pid);
    const urls = nats.urls;
    const solo = await start('solo', 'solo', urls);
    const soloUrls = () => [solo.url];
    const soloItems = await presign(await spawnProcesses(soloUrls, su, user), user, MESSAGES + 1000);
    await measure(soloUrls, soloItems.slice(0, 1000), () => [solo.child.pid!], natsPids);
    const n1 = await measure(soloUrls, soloItems.slice(1000), () => [solo.child.pid!], natsPids);
    await killAotp(solo);
    console.log(`1 node on NATS (R3): ${n1.perSecond.toFixed(0)} assignments/s, ${n1.cpuMsPerMessage.toFixed(2)} CPU ms per message (nats-servers ${n1.natsMsPerMessage.toFixed(2)})`);

    const names = ['n1', 'n2', 'n3'];
    for (const [i, name] of names.entries()) nodes.set(name, await start(name, 'aotp', [...urls.slice(i), ...urls.slice(0, i)]));
    await allMembers([...nodes.values()], 3);
    const clusterUrls = () => [...nodes.values()].map((n) => n.url);
    const clusterPids = () => [...nodes.values()].map((n) => n.child.pid!);
    const processes = await spawnProcesses(clusterUrls, su, user);
    const items = await presign(processes, user, MESSAGES + 1000);
    await measure(clusterUrls, items.slice(0, 1000), clusterPids, natsPids);
    const n3 = await measure(clusterUrls, items.slice(1000), clusterPids, natsPids);
    console.log(`3 nodes (R3): ${n3.perSecond.toFixed(0)} assignments/s, ${n3.cpuMsPerMessage.toFixed(2)} CPU ms per message (nats-servers ${n3.natsMsPerMessage.toFixed(2)})`);

    if (CPU_ONLY) {
      // A normal exit writes the nodes' CPU profiles, if asked for (AOTP_PROFILE_DIR).
      for (const n of nodes.values()) n.child.kill('SIGTERM');
      await Promise.all([...nodes.values()].map((n) => n.exited));
      return;
    }

    // --- 2. failover: SIGKILL a node under load, KILLS times ---
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
            for (let tries = 0; !stop && tries < 400; tries++) {
              if ((await post(pick(clusterUrls()), item.raw)) === 200) {
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
      while ([...moved].some((p) => !first.has(p)) && Date.now() < deadline) await sleep(50);
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

    // --- 3. a new owner's first answer: hydrate from a shared checkpoint, or replay from slot 0 ---
    const info = await nodeInfo(nodes.get('n1')!.url);
    const victimName = 'n1';
    const aos = async () => {
      for (;;) {
        const item = await aosSpawnItem(info, user);
        if (owner(item.id, names) !== victimName) continue;
        await postUntil200(clusterUrls, item.raw);
        return item.id;
      }
    };
    const hydrated = await aos();
    const replayed = await aos();
    for (const p of [hydrated, replayed]) {
      const history: SignedDataItem[] = [];
      for (let i = 0; i < HISTORY; i++) history.push(await aosMessage(p, user, [{ name: 'Action', value: 'Eval' }], 'Counter = (Counter or 0) + 1; return Counter'));
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < history.length) await postUntil200(clusterUrls, history[next++]!.raw);
      }));
    }
    const dryRun = async (url: string, p: string) => {
      const t0 = Date.now();
      for (;;) {
        const r = await fetch(`${url}/cu/dry-run?process-id=${p}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ Target: p, Owner: user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'return Counter' }),
        });
        const out = (await r.json()) as { Output?: { data?: unknown } };
        if (r.status === 200) {
          if (String(out.Output?.data).trim() !== String(HISTORY)) throw new Error(`${p}: Counter is ${JSON.stringify(out.Output?.data)}, not ${HISTORY}`);
          return Date.now() - t0;
        }
        await sleep(50);
      }
    };
    // The owner evaluates both (and shares a checkpoint at message 1000 of each).
    for (const p of [hydrated, replayed]) await dryRun(nodes.get(victimName)!.url, p);
    const nc = await connect({ servers: urls });
    const os = await nc.jetstream().views.os('aotp_cu_checkpoints');
    const sharedAt = async (p: string) => (await Promise.all([0, 1, 2].map((i) => os.info(`${p}.${i}`)))).filter((x) => x && !x.deleted).length;
    for (let i = 0; i < 600 && (await sharedAt(hydrated)) === 0; i++) await sleep(100);
    if ((await sharedAt(hydrated)) === 0) throw new Error('no shared checkpoint of the hydrated process');
    for (let i = 0; i < 3; i++) await os.delete(`${replayed}.${i}`).catch(() => undefined);
    await nc.close();
    const victim = nodes.get(victimName)!;
    nodes.delete(victimName);
    await killAotp(victim);
    await allMembers([...nodes.values()], 2, 30_000);
    const survivor = [...nodes.values()][0]!.url;
    const hydrateMs = await dryRun(survivor, hydrated);
    const replayMs = await dryRun(survivor, replayed);
    console.log(`new owner's first answer, ${HISTORY} messages: hydrated from a shared checkpoint ${hydrateMs} ms, replayed from slot 0 ${replayMs} ms`);

    const p50 = pct(failovers, 0.5);
    const max = Math.max(...failovers);
    console.log('\n| figure | value | baseline (same run) | ratio |');
    console.log('|---|---|---|---|');
    console.log(`| failover after SIGKILL, p50 (ms) | ${p50} | downAfterMs = ${DOWN_MS} | ${(p50 / DOWN_MS).toFixed(2)} |`);
    console.log(`| failover after SIGKILL, max (ms), ${failovers.length} moves over ${KILLS} kills | ${max} | ${DOWN_MS} | ${(max / DOWN_MS).toFixed(2)} |`);
    console.log(`| CPU ms per accepted message, 1 node on NATS | ${n1.cpuMsPerMessage.toFixed(2)} | 1 embedded node: ${e1.cpuMsPerMessage.toFixed(2)} | ${(n1.cpuMsPerMessage / e1.cpuMsPerMessage).toFixed(2)}× |`);
    console.log(`| CPU ms per accepted message, 3 nodes | ${n3.cpuMsPerMessage.toFixed(2)} | 1 embedded node: ${e1.cpuMsPerMessage.toFixed(2)} | ${(n3.cpuMsPerMessage / e1.cpuMsPerMessage).toFixed(2)}× |`);
    console.log(`| assignments/s, 3 nodes | ${n3.perSecond.toFixed(0)} | 1 embedded node: ${e1.perSecond.toFixed(0)} | ${(n3.perSecond / e1.perSecond).toFixed(2)}× |`);
    console.log(`| new owner's first answer, hydrated (ms) | ${hydrateMs} | replay from slot 0: ${replayMs} | ${(hydrateMs / replayMs).toFixed(2)} |`);
    console.log(
      JSON.stringify({
        failover_p50_ms: p50,
        failover_max_ms: max,
        failover_moves: failovers.length,
        kills: KILLS,
        cpu_ms_per_msg_embedded: +e1.cpuMsPerMessage.toFixed(3),
        cpu_ms_per_msg_nats_1_node: +n1.cpuMsPerMessage.toFixed(3),
        cpu_ms_per_msg_3_nodes: +n3.cpuMsPerMessage.toFixed(3),
        cpu_ratio_3_nodes_to_embedded: +(n3.cpuMsPerMessage / e1.cpuMsPerMessage).toFixed(2),
        assignments_per_s_embedded: Math.round(e1.perSecond),
        assignments_per_s_nats_1_node: Math.round(n1.perSecond),
        assignments_per_s_3_nodes: Math.round(n3.perSecond),
        first_answer_hydrated_ms: hydrateMs,
        first_answer_replayed_ms: replayMs,
      }),
    );
  } finally {
    for (const n of started) await killAotp(n).catch(() => undefined);
    await nats?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
