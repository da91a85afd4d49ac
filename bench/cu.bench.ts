/**
 * Compute Unit benchmark: `npm run bench:cu` (options: --quick for fewer messages and runs,
 * --only=replay|checkpoint|cold for one part, --module=aos-2.0.4-wasm32|aos-2.0.6-wasm64).
 *
 * Every figure is measured in this run, on this machine, on real aos processes:
 *  1. replay of 1,000 messages (token transfers handled by a handler added with Eval) through
 *     the process actor — SU log read from LMDB, items parsed, messages built, evaluated in the
 *     evaluator thread, results written to LMDB — against a bare ao-loader loop over the same
 *     messages (prebuilt) in a worker thread, UNSAFE_MEMORY and a null buffer, as the CU uses it.
 *     Both include instantiation and the spawn message; checkpoints off (part 2 measures them).
 *  2. checkpoint write time, stored size and hydrate time for the memory of those processes,
 *     and of one holding ~30 MB of Lua data (pages the instance never touched are not read: see
 *     the note printed with it); codecs compared.
 *  3. cold start (hydrate from a checkpoint 100 slots back + replay 100) against replay from
 *     slot 0, both with the results already stored (what a restarted node does).
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { aoItem, startCuEnv, type CuEnv } from './support/cu-env.js';
import { generateWallet, type Wallet } from '../units/ans104/index.js';
import { CU_MANAGER, Evaluator, messageFromSlot, type AoMessage, type CuConfig } from '../units/cu/index.js';
import type { ScheduleReader } from '../units/schedule.js';

const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const MODULE_ARG = process.argv.find((a) => a.startsWith('--module='))?.slice('--module='.length);
const part = (name: string) => ONLY === undefined || ONLY === name;
const MODULES = MODULE_ARG ? [MODULE_ARG] : ['aos-2.0.4-wasm32', 'aos-2.0.6-wasm64'];
const N = QUICK ? 300 : 1000;
const RUNS = QUICK ? 1 : 5;
const MB = 2 ** 20;
const ms = (t: number) => `${t.toFixed(0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

type Env = CuEnv;

const startEnv = (name: string, wallet: Wallet, config: Partial<CuConfig>, reader?: ScheduleReader) => startCuEnv({ name, wallet, config, ...(reader ? { reader } : {}) });

const item = aoItem;

const TOKEN = (owner: string) => `Balances = Balances or { ["${owner}"] = 1000000000 }
Handlers.add("transfer", Handlers.utils.hasMatchingTag("Action", "Transfer"), function (m)
  local qty = tonumber(m.Tags.Quantity)
  Balances[m.From] = Balances[m.From] - qty
  Balances[m.Tags.Recipient] = (Balances[m.Tags.Recipient] or 0) + qty
  m.reply({ Action = "Debit-Notice", Quantity = tostring(qty) })
  Send({ Target = m.Tags.Recipient, Action = "Credit-Notice", Quantity = tostring(qty) })
end)`;

/** Spawns a process and schedules `n` messages after the spawn (the first adds the handler). */
async function prepare(env: Env, user: Wallet, moduleName: string, n: number): Promise<string> {
  const spawn = await item(user, '', [
    { name: 'Type', value: 'Process' },
    { name: 'Module', value: env.cu.bundled[moduleName]! },
    { name: 'Scheduler', value: env.su.address },
    { name: 'Authority', value: user.address },
  ]);
  await env.client.schedule(spawn.id, { op: 'spawn', id: spawn.id, raw: spawn.raw });
  const first = await item(user, TOKEN(user.address), [{ name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }], spawn.id);
  await env.client.schedule(spawn.id, { op: 'message', id: first.id, raw: first.raw });
  const recipients = Array.from({ length: 50 }, () => randomBytes(32).toString('base64url'));
  for (let i = 1; i < n; i++) {
    const m = await item(
      user,
      '',
      [
        { name: 'Type', value: 'Message' },
        { name: 'Action', value: 'Transfer' },
        { name: 'Recipient', value: recipients[i % recipients.length]! },
        { name: 'Quantity', value: String(1 + (i % 97)) },
      ],
      spawn.id,
    );
    await env.client.schedule(spawn.id, { op: 'message', id: m.id, raw: m.raw });
  }
  return spawn.id;
}

// --- the baseline: ao-loader alone, in a thread ----------------------------------------------------

const BARE = `
const { parentPort } = require('node:worker_threads');
const { setFlagsFromString } = require('node:v8');
setFlagsFromString('--experimental-wasm-memory64');
const now = performance.now.bind(performance);
const AoLoader = require(require('node:module').createRequire(process.cwd() + '/').resolve('@permaweb/ao-loader'));
parentPort.on('message', async ({ binary, format, messages, env }) => {
  const t0 = now();
  const handle = await AoLoader(binary, { format, inputEncoding: 'JSON-1', outputEncoding: 'JSON-1', UNSAFE_MEMORY: true, computeLimit: 9e12 });
  const t1 = now();
  let errors = 0;
  let inside = 0;
  let first = 0;
  for (const [k, msg] of messages.entries()) {
    const t = now();
    const r = await handle(null, msg, env);
    if (k === 0) first = now() - t;
    else inside += now() - t;
    if (r.Error) errors++;
  }
  parentPort.postMessage({ instantiate: t1 - t0, first, loop: now() - t1 - first, errors, inside });
});
`;

async function bareLoop(binary: Uint8Array, format: string, messages: AoMessage[], env: unknown) {
  const w = new Worker(BARE, { eval: true });
  try {
    return await new Promise<{ instantiate: number; first: number; loop: number; errors: number; inside: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage({ binary, format, messages, env });
    });
  } finally {
    await w.terminate();
  }
}

async function replayBench(wallet: Wallet, user: Wallet, moduleName: string): Promise<void> {
  console.log(`\n## 1. replay of ${N} messages (${moduleName}): process actor vs bare ao-loader loop`);
  const source = await startEnv('bench-src', wallet, { checkpointEvery: 1e9 });
  const pid = await prepare(source, user, moduleName, N);
  const entries = await source.su.reader.read(pid, 0, undefined, N + 10);
  const messages = entries.map((e) => messageFromSlot(e, pid)!);
  const engine = await (await import('../units/cu/engine.js')).ProcessEngine.load(pid, source.cu.runtime, source.node.log);
  const record = source.cu.modules.get(engine.module.id);
  const { prepareBinary } = await import('../units/cu/wasm.js');
  const binary = prepareBinary(record.binary, record.format, engine.limits.memory);
  const actor: number[] = [];
  const actorStart: number[] = [];
  const inside: number[] = [];
  const bare: number[] = [];
  const bareStart: number[] = [];
  const bareInside: number[] = [];
  let defaults = 0;
  for (let run = 0; run < RUNS; run++) {
    const b = await bareLoop(binary, record.format, messages, engine.env);
    if (b.errors) throw new Error(`the bare loop got ${b.errors} errors`);
    bareStart.push(b.instantiate + b.first);
    bare.push(b.loop);
    bareInside.push(b.inside);
    // A CU with an empty store of its own, reading the source's SU log: everything from slot 0.
    const env = await startEnv(`bench-r${run}`, wallet, { checkpointEvery: 1e9 }, source.su.reader);
    // A running node has its spare evaluator thread started; so does the baseline's thread.
    await env.cu.runtime.pool.warm();
    const t0 = performance.now();
    await env.api.evaluate(pid, 0);
    const t1 = performance.now();
    const moduleMs0 = (await env.api.status(pid)).stats.moduleMs;
    const t2 = performance.now();
    const slot = await env.api.evaluate(pid);
    actor.push(performance.now() - t2);
    actorStart.push(t1 - t0);
    inside.push((await env.api.status(pid)).stats.moduleMs - moduleMs0);
    if (slot !== N) throw new Error(`evaluated to ${slot}, expected ${N}`);
    const errors = env.cu.runtime.store.resultRange(pid, { from: -1, to: N, limit: N + 1 }).filter((r) => r.output.Error).length;
    if (errors) throw new Error(`${errors} messages failed`);
    await env.stop();
    if (run === 0) {
      // Once more with the default checkpoint policy (a checkpoint every 1,000 messages).
      const d = await startEnv('bench-d', wallet, {}, source.su.reader);
      await d.cu.runtime.pool.warm();
      await d.api.evaluate(pid, 0);
      const t1 = performance.now();
      await d.api.evaluate(pid);
      defaults = performance.now() - t1;
      await d.stop();
    }
  }
  const a = median(actor);
  const b = median(bare);
  console.log(`start (instantiate + the spawn message): bare ${ms(median(bareStart))}, actor ${ms(median(actorStart))} (actor start, module load, thread, instantiate, spawn)`);
  console.log(`bare ao-loader loop, ${N} messages: ${ms(b)}   runs: ${bare.map(ms).join(', ')}`);
  console.log(`process actor, ${N} messages (read from the SU log, build, evaluate in its thread, store results): ${ms(a)}   runs: ${actor.map(ms).join(', ')}`);
  console.log(`overhead: ${(((a - b) / b) * 100).toFixed(1)}% (goal <= 10%); per message: actor ${(a / N).toFixed(3)} ms, bare ${(b / N).toFixed(3)} ms`);
  console.log(`of which inside ao-loader's handle: actor's thread ${ms(median(inside))} (runs ${inside.map(ms).join(', ')}), bare ${ms(median(bareInside))} (runs ${bareInside.map(ms).join(', ')})`);
  console.log(`the same with the default checkpoint policy (one checkpoint, at slot 999, the instance's first): ${ms(defaults)} (${(((defaults - b) / b) * 100).toFixed(1)}% over bare)`);
  await source.stop();
}

// --- checkpoints --------------------------------------------------------------------------------

async function checkpointBench(wallet: Wallet, user: Wallet, moduleName: string): Promise<void> {
  console.log(`\n## 2. checkpoints (${moduleName})`);
  const env = await startEnv('bench-ck', wallet, { checkpointEvery: 1e9 });
  const pid = await prepare(env, user, moduleName, QUICK ? 100 : N);
  await env.api.evaluate(pid);
  const report = async (label: string) => {
    const t0 = performance.now();
    const c = (await env.api.checkpoint(pid))!;
    const write = performance.now() - t0;
    const t1 = performance.now();
    const c2 = (await env.api.checkpoint(pid))!;
    const again = performance.now() - t1;
    const hydrate: number[] = [];
    for (let i = 0; i < 3; i++) {
      await env.node.call(CU_MANAGER, { op: 'evict', processId: pid });
      await env.cu.runtime.pool.warm();
      const t2 = performance.now();
      await env.api.evaluate(pid);
      hydrate.push(performance.now() - t2);
    }
    const h = await env.api.hash(pid);
    if (h.memoryHash !== c.memoryHash || c2.memoryHash !== c.memoryHash) throw new Error('hydrated memory differs');
    console.log(
      `${label}: memory ${(c.size / MB).toFixed(1)} MiB, ${c.nonZeroPages} non-zero pages (${((c.nonZeroPages * 65536) / MB).toFixed(1)} MiB) -> stored ${(c.stored / MB).toFixed(2)} MiB; ` +
        `write ${ms(write)} first, ${ms(again)} next; hydrate (instance + restore, thread started ahead) ${hydrate.map(ms).join(', ')}`,
    );
  };
  await report(`after ${QUICK ? 100 : N} transfers`);
  await env.api.evaluate(pid);
  const fill = await item(
    user,
    `Big = {}; for i = 1, 200000 do Big[i] = { id = i, name = "entry-" .. i, tags = { "a" .. (i % 13), "b" .. (i % 7) } } end; return #Big`,
    [{ name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }],
    pid,
  );
  await env.client.schedule(pid, { op: 'message', id: fill.id, raw: fill.raw });
  await env.api.evaluate(pid);
  await report('with ~200k Lua tables added');

  // Codecs on that memory, through an evaluator directly (write = scan + compress; restore = fresh instance + write pages).
  const pool = env.cu.runtime.pool;
  const src = await pool.acquire();
  const engineMod = await import('../units/cu/engine.js');
  const engine = await engineMod.ProcessEngine.load(pid, env.cu.runtime, env.node.log);
  const compiled = env.cu.modules.prepared(engine.module.id, engine.limits.memory);
  const latest = env.cu.runtime.store.checkpoint(pid, env.cu.runtime.store.checkpointSlots(pid)[0]!)!;
  await src.call('instantiate', { module: await compiled.module, format: engine.module.format, computeLimit: engine.limits.compute, noInitialRun: true, fresh: compiled.fresh });
  await src.call('restore', { image: latest.image });
  await src.call('snapshot', { codec: 'none', level: 0 }); // first touch of every page, once
  for (const [codec, level] of [['none', 0], ['gzip', 1], ['brotli', 1], ['brotli', 3], ['brotli', 5]] as const) {
    const t0 = performance.now();
    const img = await src.call('snapshot', { codec, level });
    const write = performance.now() - t0;
    const dst = new Evaluator();
    await dst.ready;
    await dst.call('instantiate', { module: await compiled.module, format: engine.module.format, computeLimit: engine.limits.compute, noInitialRun: true, fresh: compiled.fresh });
    const t1 = performance.now();
    await dst.call('restore', { image: img });
    const restore = performance.now() - t1;
    await dst.terminate();
    console.log(`  ${codec}-${level}: ${(img.data.byteLength / MB).toFixed(2)} MiB, write ${ms(write)} (scan ${ms(img.scanMs)}), restore ${ms(restore)}`);
  }
  await src.terminate();
  console.log(
    '  note: a first read of a never-touched page of a fresh memory costs about 0.2 ms per 64 KiB page here (~300 ms for the ~105 MiB of aos, ' +
      'and it makes the page resident); a checkpoint reads only the pages the kernel says the thread touched (worker/touched-pages.ts)',
  );
  await env.stop();
}

// --- cold start ---------------------------------------------------------------------------------

async function coldBench(wallet: Wallet, user: Wallet, moduleName: string): Promise<void> {
  console.log(`\n## 3. cold start (${moduleName}): hydrate + replay 100 vs replay from slot 0`);
  const env = await startEnv('bench-cold', wallet, { checkpointEvery: 1e9 });
  const pid = await prepare(env, user, moduleName, N);
  await env.api.evaluate(pid, N - 100);
  await env.api.checkpoint(pid);
  await env.api.evaluate(pid);
  // Kill the actor (no terminate, no checkpoint on the way out); its supervisor restarts it, and
  // the restarted actor hydrates when it is next asked.
  const kill = async () => {
    const old = env.node.whereis(`cu/${pid}`);
    env.node.kill(`cu/${pid}`);
    for (;;) {
      const now = env.node.whereis(`cu/${pid}`);
      if (now && (!old || !now.equals(old))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const warm: number[] = [];
  const cold: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await kill();
    await env.cu.runtime.pool.warm();
    let t0 = performance.now();
    await env.api.evaluate(pid);
    warm.push(performance.now() - t0);
    // The same, with no checkpoint to start from.
    const slots = env.cu.runtime.store.checkpointSlots(pid);
    const saved = slots.map((s) => env.cu.runtime.store.checkpoint(pid, s)!);
    for (const s of slots) await env.cu.runtime.store.removeCheckpoint(pid, s);
    await kill();
    await env.cu.runtime.pool.warm();
    t0 = performance.now();
    await env.api.evaluate(pid);
    cold.push(performance.now() - t0);
    for (const c of saved) await env.cu.runtime.store.putCheckpoint(c);
  }
  const w = median(warm);
  const c = median(cold);
  console.log(`hydrate + replay 100: ${ms(w)} (runs ${warm.map(ms).join(', ')}); replay from 0 (${N + 1} slots): ${ms(c)} (runs ${cold.map(ms).join(', ')}); ${(c / w).toFixed(1)}x faster`);
  await env.stop();
}

const wallet = await generateWallet('ed25519');
const user = await generateWallet('ed25519');
console.log(`# CU benchmark (${QUICK ? 'quick' : 'full'}): node ${process.version}, ${N} messages, median of ${RUNS}`);
for (const m of MODULES) {
  if (part('replay')) await replayBench(wallet, user, m);
  if (part('checkpoint')) await checkpointBench(wallet, user, m);
  if (part('cold')) await coldBench(wallet, user, m);
}
