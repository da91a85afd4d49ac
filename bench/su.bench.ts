/**
 * Scheduler Unit benchmark: `npm run bench:su` (options: --quick for a short run,
 * --only=ed25519|rsa|latency for one part).
 *
 * Every figure is measured in this run, on this machine:
 *  1. durable assignments/s through the sequencer actors (request → slot → signed assignment →
 *     LMDB commit → reply), Ed25519 wallet, 1 process and 1,000 processes, signing inline and on
 *     worker threads; against raw batched LMDB puts of the same records (same keys, same sizes,
 *     one transaction callback per assignment, batched by lmdb-js per event turn) in the same
 *     environment settings;
 *  2. the same with an RSA-4096 wallet and 1,000 processes, against this machine's RSA-4096
 *     signing limit: node:crypto RSA-PSS signatures/s on all cores (worker threads), plus
 *     `openssl speed` when the binary is there;
 *  3. Ed25519 signing limit (one core) and the cost of building an assignment, which bound one
 *     process: its assignments are signed strictly one after another (the hash chain);
 *  4. p50/p99 latency at a fixed offered load.
 * Messages are 1 KiB bodies with unique ids given to the sequencers directly: this measures the
 * SU core, not HTTP parsing and signature checks of incoming items. Each SU figure alternates
 * with its baseline in rounds and the ratio is the median of the paired ratios, so that other
 * work on a shared machine moves both sides of a ratio alike.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Node, supervisorSpec } from '../runtime/index.js';
import { Store } from '../runtime/store.js';
import { SEQUENCERS, suTree } from '../supervisors/su.js';
import { generateWallet, type Wallet } from '../units/ans104/index.js';
import { createRunSigner } from '../units/su/assignment-core.js';
import { createSu, SuClient, type Su } from '../units/su/index.js';

const QUICK = process.argv.includes('--quick');
/** `--only=ed25519|rsa|latency` runs one part. */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const part = (name: string) => ONLY === undefined || ONLY === name;
const ROUNDS = QUICK ? 1 : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const CORES = availableParallelism();
const MESSAGE_BYTES = 1024;

interface Env {
  dir: string;
  store: Store;
  su: Su;
  node: Node;
  client: SuClient;
  stop(): Promise<void>;
}

async function startEnv(wallet: Wallet, signers: number, maxRun = 512): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'aotp-su-bench-'));
  const store = Store.open(join(dir, 'lmdb'));
  const su = createSu({ wallet, store, signers, idleMs: 0, maxRun });
  const node = await Node.start({ name: 'bench', callTimeout: 120_000 });
  await node.spawn(supervisorSpec({ strategy: 'one_for_one', children: [suTree(su.sequencers, { intensity: 100, period: 5, shutdownMs: 5000 })] }));
  const client = new SuClient(node, node, { supervisor: SEQUENCERS, timeout: 120_000 });
  return {
    dir,
    store,
    su,
    node,
    client,
    async stop() {
      await node.stop();
      await su.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const id = () => randomBytes(32).toString('base64url');
const body = randomBytes(MESSAGE_BYTES);

async function spawnAll(env: Env, n: number): Promise<string[]> {
  const pids = Array.from({ length: n }, id);
  await runWindow(pids.length, 500, async (i) => {
    const r = await env.client.schedule(pids[i]!, { op: 'spawn', id: pids[i]!, raw: body });
    if (!('ok' in r)) throw new Error(r.error);
  });
  return pids;
}

/** Runs `n` tasks with at most `window` in flight; resolves when all are done. */
async function runWindow(n: number, window: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
}

/** Durable assignments/s: `n` messages over `pids`, `window` requests in flight. */
async function assignmentsPerSecond(env: Env, pids: string[], n: number, window: number): Promise<number> {
  const ids = Array.from({ length: n }, id);
  const t0 = performance.now();
  await runWindow(n, window, async (i) => {
    const r = await env.client.schedule(pids[i % pids.length]!, { op: 'message', id: ids[i]!, raw: body });
    if (!('ok' in r)) throw new Error(r.error);
  });
  return n / ((performance.now() - t0) / 1000);
}

/** What the SU writes per assignment, as raw puts: the same sub-databases, keys and sizes. */
async function rawPutsPerSecond(n: number, window: number, processes: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'aotp-raw-bench-'));
  const store = Store.open(join(dir, 'lmdb'));
  const processesDb = store.db('su.processes');
  const slots = store.db('su.slots');
  const refs = store.db('su.refs');
  const pids = Array.from({ length: processes }, id);
  const next = new Map<string, number>();
  const assignment = randomBytes(560); // an Ed25519 assignment is ~560 bytes
  const t0 = performance.now();
  await runWindow(n, window, async (i) => {
    const pid = pids[i % pids.length]!;
    const slot = next.get(pid) ?? 0;
    next.set(pid, slot + 1);
    const messageId = id();
    const assignmentId = id();
    const record = { slot, kind: 'message', assignmentId, messageId, timestamp: Date.now(), blockHeight: 0, hashChain: messageId, assignment, item: body };
    await store.transact(() => {
      slots.put([pid, slot], record);
      refs.put([messageId, pid], slot);
      refs.put([assignmentId, pid], slot);
      processesDb.put(pid, { processId: pid, nextSlot: slot + 1, head: { slot, id: assignmentId, hashChain: messageId, timestamp: record.timestamp } });
    });
  });
  const rate = n / ((performance.now() - t0) / 1000);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const key = crypto.createPrivateKey({ key: workerData.key, format: 'jwk' });
const msg = crypto.randomBytes(48);
const end = Date.now() + workerData.ms;
let n = 0;
while (Date.now() < end) {
  crypto.sign('sha256', msg, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING });
  n++;
}
parentPort.postMessage(n);
`;

/** RSA-4096 PSS signatures/s with node:crypto on `threads` worker threads at once. */
async function rsaSigningLimit(key: object, threads: number, ms: number): Promise<number> {
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(WORKER, { eval: true, workerData: { key, ms } });
          w.once('message', (n: number) => {
            resolve(n);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0) / (ms / 1000);
}

function opensslRsa4096(seconds: number): string {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), '-multi', String(CORES), 'rsa4096'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = out.split('\n').find((l) => /^rsa\s+4096/.test(l.trim()));
    return line ? `openssl speed -multi ${CORES}: ${line.trim().split(/\s+/).slice(-2)[0]} sign/s` : 'openssl: no rsa4096 line';
  } catch {
    return 'openssl: not available';
  }
}

function ed25519SignsPerSecond(ms: number): number {
  const { privateKey } = generateKeyPairSync('ed25519');
  const msg = randomBytes(48);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) sign(null, msg, privateKey);
    n += 100;
  }
  return n / (ms / 1000);
}

function chainBuildPerSecond(wallet: Wallet, n: number): number {
  const signer = createRunSigner(wallet.key);
  const pid = id();
  const t0 = performance.now();
  let prev = null as null | { slot: number; id: string; hashChain: string };
  for (let slot = 0; slot < n; slot += 500) {
    const items = Array.from({ length: 500 }, (_, k) => ({ messageId: pid, slot: slot + k, timestamp: Date.now(), blockHeight: 0 }));
    const out = signer.signRun({ processId: pid, prev, items });
    const last = out[out.length - 1]!;
    prev = { slot: slot + 499, id: last.id, hashChain: last.hashChain };
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Latency at a fixed offered load (open loop: requests are sent on schedule, not after replies). */
async function latencyAt(env: Env, pids: string[], perSecond: number, seconds: number) {
  const lat: number[] = [];
  const total = perSecond * seconds;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * perSecond));
    for (; sent < due; sent++) {
      const start = performance.now();
      const i = sent;
      pending.push(
        env.client.schedule(pids[i % pids.length]!, { op: 'message', id: id(), raw: body }).then((r) => {
          if (!('ok' in r)) throw new Error(r.error);
          lat.push(performance.now() - start);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1]!, achieved: total / elapsed };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;

/** The figures the closing JSON line holds. */
const figures: { latency_p50_ms?: number; latency_p99_ms?: number; ed25519_ratio_raw?: number; rsa_ratio_signing_limit?: number } = {};

async function main() {
  const N = QUICK ? 10_000 : 20_000;
  const WINDOW = 2_000;
  console.log(`SU benchmark: ${CORES} cores, node ${process.version}, ${N} assignments per case, ${WINDOW} requests in flight, 1 KiB messages`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine lowers every figure)\n`);

  const ed = await generateWallet('ed25519');
  const rows: [string, number, number, number][] = [];
  if (part('ed25519')) await ed25519Part(ed, N, WINDOW, rows);
  if (part('rsa')) await rsaPart();
  if (part('latency')) await latencyPart(ed);
  console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(JSON.stringify({ latency_p50_ms: null, latency_p99_ms: null, ed25519_ratio_raw: null, rsa_ratio_signing_limit: null, ...figures }));
}

async function ed25519Part(ed: Wallet, N: number, WINDOW: number, rows: [string, number, number, number][]) {
  const edSign = ed25519SignsPerSecond(1000);
  const chain = chainBuildPerSecond(ed, QUICK ? 10_000 : 30_000);
  console.log(`bounds for one process (its signatures are sequential):`);
  console.log(`  Ed25519 signatures/s on one core (node:crypto)      ${fmt(edSign)}`);
  console.log(`  assignments built + signed/s, one chain, one core   ${fmt(chain)}\n`);

  // Other work on a shared machine comes and goes, so each case alternates short SU runs with
  // baseline runs (ROUNDS pairs) and reports the medians and the median of the paired ratios.
  for (const processes of [1, 1000]) {
    for (const signers of [0, CORES]) {
      const env = await startEnv(ed, signers);
      const pids = await spawnAll(env, processes);
      await assignmentsPerSecond(env, pids, Math.min(2000, N / 10), WINDOW); // warm-up
      const su: number[] = [];
      const raw: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        raw.push(await rawPutsPerSecond(N, WINDOW, processes));
        su.push(await assignmentsPerSecond(env, pids, N, WINDOW));
      }
      await env.stop();
      const name = `ed25519, ${processes} process${processes > 1 ? 'es' : ''}, ${signers ? `${signers} signing threads` : 'inline signing'}`;
      rows.push([name, median(su), median(raw), median(su.map((x, i) => x / raw[i]!))]);
      if (processes === 1000 && signers === 0) figures.ed25519_ratio_raw = Number(median(su.map((x, i) => x / raw[i]!)).toFixed(3));
    }
  }
  console.log('durable assignments/s (Ed25519)                          SU      raw puts   SU/raw   goal');
  for (const [name, rate, raw, ratio] of rows) {
    console.log(`  ${name.padEnd(50)} ${fmt(rate).padStart(8)} ${fmt(raw).padStart(10)} ${pct(ratio, 1).padStart(8)}   >= 20,000/s and >= 35%`);
  }
  console.log(`  (medians of ${ROUNDS} alternating runs of ${fmt(N)}; SU/raw is the median of the paired ratios)`);

}

async function rsaPart() {
  // RSA-4096: against the machine's signing limit.
  console.log('\nRSA-4096 (1,000 processes, one signing thread per core)');
  const rsa = await generateWallet('rsa');
  const limitMs = QUICK ? 2000 : 3000;
  // Alternating rounds: the signing limit for a while, then the SU for a while; the ratio is
  // the median of the paired ratios.
  console.log(`  ${opensslRsa4096(QUICK ? 1 : 2)}`);
  const rsaEnv = await startEnv(rsa, CORES, 64);
  const rsaPids = await spawnAll(rsaEnv, 1000);
  const limits: number[] = [];
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    limits.push(await rsaSigningLimit(rsa.key, CORES, limitMs));
    rates.push(await assignmentsPerSecond(rsaEnv, rsaPids, QUICK ? 600 : 1000, 1000));
  }
  const rsaOne = await assignmentsPerSecond(rsaEnv, rsaPids.slice(0, 1), QUICK ? 200 : 500, 500);
  await rsaEnv.stop();
  const limit = median(limits);
  const rsaRate = median(rates);
  const rsaRatio = median(rates.map((x, i) => x / limits[i]!));
  console.log(`  node:crypto RSA-PSS signatures/s on ${CORES} threads: ${fmt(limit)} (${fmt(limit / CORES)} per core; rounds: ${limits.map(fmt).join(', ')})`);
  console.log(`  durable assignments/s, 1,000 processes: ${fmt(rsaRate)} (rounds: ${rates.map(fmt).join(', ')})`);
  console.log(`  = ${pct(rsaRatio, 1)} of the signing limit, median of the paired rounds (goal >= 85%)`);
  figures.rsa_ratio_signing_limit = Number(rsaRatio.toFixed(3));
  console.log(`  durable assignments/s, 1 process:       ${fmt(rsaOne)} (its chain allows one signature at a time)`);

}

async function latencyPart(ed: Wallet) {
  // Latency at a fixed offered load.
  console.log('\nlatency at a fixed offered load (Ed25519, inline signing, 100 processes)');
  const latEnv = await startEnv(ed, 0);
  const latPids = await spawnAll(latEnv, 100);
  for (const load of QUICK ? [2000] : [1000, 2000, 5000]) {
    const r = await latencyAt(latEnv, latPids, load, QUICK ? 3 : 5);
    console.log(`  offered ${fmt(load)}/s: achieved ${fmt(r.achieved)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms${load === 2000 ? '   (goal p50 ≤ 3 ms, p99 ≤ 20 ms)' : ''}`);
    if (load === 2000) {
      figures.latency_p50_ms = Number(r.p50.toFixed(2));
      figures.latency_p99_ms = Number(r.p99.toFixed(2));
    }
  }
  await latEnv.stop();
}

await main();
