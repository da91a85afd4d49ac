/**
 * Many processes on one node: `npm run bench:scale` (options: --quick, --processes=N,
 * --resident=R, --messages=M, --module=aos-2.0.4-wasm32|aos-2.0.6-wasm64).
 *
 * Every figure is measured in this run, on real aos processes (real SU and CU, LMDB in a temp
 * dir, evaluator threads), with `cu.maxResident` R (default 16):
 *  1. spawn + first evaluation: a spawn scheduled through the SU until its slot 0 is evaluated,
 *     once R processes are resident (so each spawn also evicts one), against bare ao-loader's
 *     instantiate (compiling the binary) + the spawn message in a thread started ahead.
 *  2. a message to an evicted process (scheduled until evaluated: hydrate + evaluate) against a
 *     message to a resident one, alternating, with N processes (default 60; 30 with --quick).
 *  3. RSS of this node with N processes spawned and evaluated (all but R evicted).
 *     The 10,000-process figure needs `--processes=10000` (it takes a while): otherwise
 *     `rss_mib_10k_processes` is null.
 * The last line is one JSON object: evicted_message_p50_ms, spawn_first_eval_ms, rss_mib_10k_processes.
 */
import { Worker } from 'node:worker_threads';
import { aoItem, startCuEnv, type CuEnv } from './support/cu-env.js';
import { generateWallet, parseDataItem, type Wallet } from '../units/ans104/index.js';
import { CU_MANAGER, messageFromSlot, processEnv } from '../units/cu/index.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = process.argv.includes('--quick');
const PROCESSES = Number(arg('processes') ?? (QUICK ? 30 : 60));
const RESIDENT = Number(arg('resident') ?? 16);
const MESSAGES = Number(arg('messages') ?? (QUICK ? 20 : 60));
const SPAWNS = QUICK ? 10 : 30;
const MODULE = arg('module') ?? 'aos-2.0.4-wasm32';
const MiB = 2 ** 20;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const f = (x: number) => `${x.toFixed(1)} ms`;
const summary = (xs: number[]) => `p50 ${f(pct(xs, 50))}, p99 ${f(pct(xs, 99))}, max ${f(Math.max(...xs))} (n=${xs.length})`;

type Env = CuEnv;

const startEnv = (wallet: Wallet) => startCuEnv({ name: 'bench-scale', wallet, config: { maxResident: RESIDENT }, bundledModules: [MODULE] });

const item = aoItem;

const spawnItem = (env: Env, user: Wallet) =>
  item(user, '', [
    { name: 'Type', value: 'Process' },
    { name: 'Module', value: env.cu.bundled[MODULE]! },
    { name: 'Scheduler', value: env.su.address },
    { name: 'Authority', value: user.address },
  ]);

/** Schedules a spawn (signed before) and evaluates its slot 0; answers the ms it took. */
async function spawn(env: Env, s: Awaited<ReturnType<typeof spawnItem>>): Promise<number> {
  const t0 = performance.now();
  const r = await env.client.schedule(s.id, { op: 'spawn', id: s.id, raw: s.raw });
  if (!('ok' in r)) throw new Error(`spawn refused: ${JSON.stringify(r)}`);
  await env.api.evaluate(s.id, 0);
  return performance.now() - t0;
}

/** Schedules an Eval (signed before) and waits for its result; answers the ms it took. */
async function message(env: Env, pid: string, m: Awaited<ReturnType<typeof item>>): Promise<number> {
  const t0 = performance.now();
  const r = await env.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
  if (!('ok' in r)) throw new Error(`message refused: ${JSON.stringify(r)}`);
  const res = await env.api.result(pid, m.id, 60_000);
  if (!('result' in res) || res.result.Error) throw new Error(`no good result: ${JSON.stringify(res).slice(0, 300)}`);
  return performance.now() - t0;
}

const evalItem = (user: Wallet, pid: string) => item(user, 'n = (n or 0) + 1; return n', [{ name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }], pid);

// --- the baseline: ao-loader alone, in a thread started ahead -------------------------------------

const BARE = `
const { parentPort } = require('node:worker_threads');
const { setFlagsFromString } = require('node:v8');
setFlagsFromString('--experimental-wasm-memory64');
const AoLoader = require(require('node:module').createRequire(process.cwd() + '/').resolve('@permaweb/ao-loader'));
parentPort.on('message', async ({ binary, format, msg, env }) => {
  const t0 = performance.now();
  const handle = await AoLoader(binary, { format, inputEncoding: 'JSON-1', outputEncoding: 'JSON-1', UNSAFE_MEMORY: true, computeLimit: 9e12 });
  const r = await handle(null, msg, env);
  parentPort.postMessage({ ms: performance.now() - t0, error: r.Error ?? null });
});
parentPort.postMessage('ready');
`;

async function bare(env: Env, pid: string): Promise<number> {
  const entry = (await env.su.reader.read(pid, 0, 0, 1))[0]!;
  const spawnParsed = parseDataItem((await env.su.reader.process(pid))!.spawn);
  const record = env.cu.modules.get(env.cu.bundled[MODULE]!);
  const w = new Worker(BARE, { eval: true });
  try {
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const out = await new Promise<{ ms: number; error: unknown }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage({ binary: record.binary, format: record.format, msg: messageFromSlot(entry, pid), env: processEnv(pid, spawnParsed, record) });
    });
    if (out.error) throw new Error(`bare ao-loader: ${JSON.stringify(out.error)}`);
    return out.ms;
  } finally {
    await w.terminate();
  }
}

// --- the run --------------------------------------------------------------------------------------

const wallet = await generateWallet('ed25519');
const user = await generateWallet('ed25519');
console.log(`# scale benchmark (${QUICK ? 'quick' : 'full'}): node ${process.version}, ${MODULE}, ${PROCESSES} processes, maxResident ${RESIDENT}`);
if (PROCESSES < 10_000) console.log('(the 10,000-process RSS figure is measured with --processes=10000 only; rss_mib_10k_processes is null otherwise)');
const env = await startEnv(wallet);
await env.cu.runtime.pool.warm();

// Fill the resident set, then time spawns that each evict the least recently used process.
const pids: string[] = [];
const spawnMs: number[] = [];
const bareMs: number[] = [];
const started = performance.now();
for (let i = 0; i < PROCESSES; i++) {
  const s = await spawnItem(env, user);
  const t = await spawn(env, s);
  pids.push(s.id);
  if (i >= RESIDENT && spawnMs.length < SPAWNS) {
    spawnMs.push(t);
    if (bareMs.length < Math.min(SPAWNS, 10)) bareMs.push(await bare(env, s.id));
  }
  if (PROCESSES >= 1000 && (i + 1) % 500 === 0) {
    const rate = (i + 1) / ((performance.now() - started) / 1000);
    console.log(`  … ${i + 1} processes (${rate.toFixed(1)}/s), RSS ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`);
  }
}
console.log(`\n## 1. spawn + first evaluation (slot 0), each evicting one of ${RESIDENT} resident`);
console.log(`aotp: ${summary(spawnMs)}`);
console.log(`bare ao-loader (instantiate from the binary + the spawn message, thread started ahead): ${summary(bareMs)}`);

// Evicted vs resident, alternating: the oldest process (evicted) and the one just used (resident).
const evicted: number[] = [];
const resident: number[] = [];
const residentBefore = (await env.node.call<string[]>(CU_MANAGER, { op: 'resident' })).length;
for (let i = 0; i < MESSAGES; i++) {
  const lru = await env.node.call<string[]>(CU_MANAGER, { op: 'resident' });
  const cold = pids.find((p) => !lru.includes(p))!;
  evicted.push(await message(env, cold, await evalItem(user, cold)));
  resident.push(await message(env, cold, await evalItem(user, cold)));
}
console.log(`\n## 2. a message to an evicted process (hydrate + evaluate) vs a resident one; ${PROCESSES} processes, ${residentBefore} resident`);
console.log(`evicted:  ${summary(evicted)}`);
console.log(`resident: ${summary(resident)} (baseline)`);

const rss = process.memoryUsage().rss / MiB;
console.log(`\n## 3. RSS with ${PROCESSES} processes (${residentBefore} resident): ${rss.toFixed(0)} MiB`);
await env.stop();

console.log(
  JSON.stringify({
    evicted_message_p50_ms: Number(pct(evicted, 50).toFixed(1)),
    evicted_message_p99_ms: Number(pct(evicted, 99).toFixed(1)),
    resident_message_p50_ms: Number(pct(resident, 50).toFixed(1)),
    spawn_first_eval_ms: Number(pct(spawnMs, 50).toFixed(1)),
    bare_spawn_first_eval_ms: Number(pct(bareMs, 50).toFixed(1)),
    processes: PROCESSES,
    rss_mib: Number(rss.toFixed(0)),
    rss_mib_10k_processes: PROCESSES >= 10_000 ? Number(rss.toFixed(0)) : null,
  }),
);
process.exit(0);
