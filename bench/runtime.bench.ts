/**
 * Runtime benchmark: `npm run bench:runtime` (node --expose-gc; options: --quick for a short run).
 *
 * Every figure is measured in this run, on this machine, next to a baseline from the same run:
 *  1. local call round trips/s between two actors on one node (the node's own in-process bus),
 *     against an async function called through a queueMicrotask hop (the cheapest in-process
 *     "request, then reply" there is) and a MessageChannel ping-pong (a real message port);
 *  2. cast throughput (msgs/s) between the same two actors, ended by one call that is answered
 *     after every cast was handled; against handlers run by queueMicrotask and MessageChannel;
 *  3. 100k dynamic children of a simple_one_for_one supervisor: spawn time (total, µs per
 *     child) and heap bytes per child after a full GC; against 100k plain `node.spawn`s of the
 *     same behaviour with no supervisor;
 *  4. restart latency p50/p99 of a one_for_one child killed 1,000 times, from the kill until
 *     the new child's init has reported to the bench (no sleeps); against a plain `node.spawn`
 *     of the same child, timed the same way;
 *  5. call round trip between two nodes over a real nats-server (started here on a free
 *     loopback port with its own store dir, killed by pid at the end), against raw nats.js
 *     request/reply between two connections to the same server; rounds alternate and the ratio
 *     is the median of the paired ratios (goal ≤ 1.3×);
 *  6. if `erl` is on PATH: the same figures from Erlang/OTP (gen_server:call loop, casts,
 *     supervisor:start_child ×100k with erlang:memory(processes), restart latency), as a
 *     second reference point.
 * Nodes run with a silent logger, and erl with `-kernel logger_level none`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { connect } from 'nats';
import {
  LocalBus,
  createLogger,
  NatsTransport,
  Node,
  encode,
  startChild,
  supervisorSpec,
  type Behaviour,
  type Pid,
  type StartResult,
} from '../runtime/index.js';
import { startNatsServer } from '../test/support/nats-server.js';

/** Nodes log nothing here (a supervisor logs every restart, which would time stdout, not the runtime). */
const logger = createLogger({ level: 'silent' });

const QUICK = process.argv.includes('--quick');
const CALLS = QUICK ? 10_000 : 50_000;
const CASTS = QUICK ? 50_000 : 200_000;
const CHILDREN = QUICK ? 20_000 : 100_000;
const RESTARTS = QUICK ? 200 : 1000;
const NATS_CALLS = QUICK ? 1000 : 5000;
const ROUNDS = QUICK ? 1 : 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ok = (r: StartResult): Pid => {
  if (!('ok' in r) || !r.ok) throw new Error(`start failed: ${JSON.stringify(r)}`);
  return r.ok;
};
const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
};

// --- output ------------------------------------------------------------------------------------

const rows: string[][] = [];
/** aotp's own figures, for the closing JSON line. */
const mine: { calls_per_s?: number; spawn_us?: number; bytes_per_child?: number; restart_p50_us?: number; restart_p99_us?: number } = {};
function row(what: string, aotp: string, baseline: string, ratio: string): void {
  rows.push([what, aotp, baseline, ratio]);
  console.log(`  ${what}: ${aotp} | ${baseline} | ${ratio}`);
}
const f = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const x = (r: number) => `${r.toFixed(2)}×`;

// --- behaviours ----------------------------------------------------------------------------------

/** Replies with the request; counts casts; `count` answers how many casts it has handled. */
const echo: Behaviour<void, number> = {
  init: () => ({ ok: 0 }),
  handleCall: (req: unknown, _from, s) => ({ reply: req === 'count' ? s : req, state: s }),
  handleCast: (_m: unknown, s) => ({ state: s + 1 }),
};

type DriverReq = { op: 'calls'; target: Pid; n: number } | { op: 'casts'; target: Pid; n: number };

/** Drives another actor from inside an actor: `calls` sequential calls, or `casts` then one call. */
const driver: Behaviour<void, null> = {
  init: () => ({ ok: null }),
  async handleCall(req: DriverReq, _from, s, ctx) {
    const t0 = performance.now();
    if (req.op === 'calls') {
      const lat = new Float64Array(req.n);
      for (let i = 0; i < req.n; i++) {
        const t = performance.now();
        await ctx.call(req.target, i);
        lat[i] = performance.now() - t;
      }
      const ms = performance.now() - t0;
      const sorted = Array.from(lat).sort((a, b) => a - b);
      return { reply: { ms, p50: sorted[Math.floor(req.n / 2)]!, p99: sorted[Math.floor(req.n * 0.99)]! }, state: s };
    }
    for (let i = 0; i < req.n; i++) ctx.cast(req.target, i);
    const handled = await ctx.call<number>(req.target, 'count', { timeout: Infinity });
    if (handled !== req.n) throw new Error(`only ${handled} of ${req.n} casts handled`);
    return { reply: { ms: performance.now() - t0 }, state: s };
  },
};

/** A child that tells `observer` it is running. */
const reporter: Behaviour<{ observer: Pid } | undefined, null> = {
  init(args, ctx) {
    if (args?.observer) ctx.send(args.observer, { started: ctx.self });
    return { ok: null };
  },
};

// --- baselines ---------------------------------------------------------------------------------

const echoFn = async (v: number) => v;

async function microtaskCalls(n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await new Promise<number>((res) => queueMicrotask(() => void echoFn(i).then(res)));
  return performance.now() - t0;
}

async function channelCalls(n: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (m: number) => port2.postMessage(m));
  let resolve: (v: number) => void = () => {};
  port1.on('message', (m: number) => resolve(m));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await new Promise<number>((res) => ((resolve = res), port1.postMessage(i)));
  const ms = performance.now() - t0;
  port1.close();
  port2.close();
  return ms;
}

async function microtaskCasts(n: number): Promise<number> {
  let count = 0;
  const handler = (_m: number) => void count++;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) queueMicrotask(() => handler(i));
  await new Promise<void>((res) => queueMicrotask(res));
  if (count !== n) throw new Error('microtask casts lost');
  return performance.now() - t0;
}

async function channelCasts(n: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  let count = 0;
  const done = new Promise<void>((res) => port2.on('message', () => ++count === n && res()));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) port1.postMessage(i);
  await done;
  const ms = performance.now() - t0;
  port1.close();
  port2.close();
  return ms;
}

// --- 1, 2: local calls and casts --------------------------------------------------------------------

async function local(): Promise<void> {
  console.log(`\n## local bus: ${f(CALLS)} calls, ${f(CASTS)} casts between two actors on one node`);
  const node = await Node.start({ name: 'bench-local', logger, callTimeout: 600_000 });
  const run = async (req: DriverReq) => {
    const d = ok(await node.spawn({ behaviour: driver }));
    return node.call<{ ms: number; p50?: number; p99?: number }>(d, req, { timeout: Infinity });
  };
  const target = ok(await node.spawn({ behaviour: echo }));
  await run({ op: 'calls', target, n: 5000 }); // warm-up
  await microtaskCalls(5000);
  await channelCalls(5000);
  const a: number[] = [];
  const m: number[] = [];
  const c: number[] = [];
  let p50 = 0;
  let p99 = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const got = await run({ op: 'calls', target, n: CALLS });
    a.push(got.ms);
    p50 = got.p50!;
    p99 = got.p99!;
    m.push(await microtaskCalls(CALLS));
    c.push(await channelCalls(CALLS));
  }
  const rate = (ms: number) => CALLS / (ms / 1000);
  mine.calls_per_s = rate(median(a));
  row('local call round trips/s', f(rate(median(a))), `${f(rate(median(m)))} (async fn via queueMicrotask)`, x(median(a) / median(m)));
  row('', '', `${f(rate(median(c)))} (MessageChannel ping-pong)`, x(median(a) / median(c)));
  row('local call latency p50 / p99 (µs)', `${f(p50 * 1000, 1)} / ${f(p99 * 1000, 1)}`, '', '');

  const ca: number[] = [];
  const cm: number[] = [];
  const cc: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = ok(await node.spawn({ behaviour: echo }));
    ca.push((await run({ op: 'casts', target: t, n: CASTS })).ms);
    node.exit(t, 'kill');
    cm.push(await microtaskCasts(CASTS));
    cc.push(await channelCasts(CASTS));
  }
  const crate = (ms: number) => CASTS / (ms / 1000);
  row('local cast throughput (msgs/s)', f(crate(median(ca))), `${f(crate(median(cm)))} (handler via queueMicrotask)`, x(median(ca) / median(cm)));
  row('', '', `${f(crate(median(cc)))} (MessageChannel)`, x(median(ca) / median(cc)));

  // Two nodes sharing one LocalBus: the same calls, framed and encoded between nodes.
  const bus = new LocalBus();
  const n1 = await Node.start({ name: 'bench-a', logger, bus, callTimeout: 600_000 });
  const n2 = await Node.start({ name: 'bench-b', logger, bus, callTimeout: 600_000 });
  await n1.connect('bench-b');
  const remote = ok(await n2.spawn({ behaviour: echo }));
  const d = ok(await n1.spawn({ behaviour: driver }));
  await n1.call(d, { op: 'calls', target: remote, n: 2000 }, { timeout: Infinity });
  const two = await n1.call<{ ms: number }>(d, { op: 'calls', target: remote, n: CALLS }, { timeout: Infinity });
  row('call round trips/s, two nodes on one LocalBus', f(rate(two.ms)), `${f(rate(median(m)))} (async fn via queueMicrotask)`, x(two.ms / median(m)));
  await n1.stop();
  await n2.stop();
  await node.stop();
}

// --- 3: 100k dynamic children ------------------------------------------------------------------------

async function children(): Promise<void> {
  console.log(`\n## ${f(CHILDREN)} dynamic children under simple_one_for_one${gc ? '' : ' (no --expose-gc: heap figures include garbage)'}`);
  // Baseline: the same behaviour spawned directly, no supervisor.
  const bare = await Node.start({ name: 'bench-bare', logger, callTimeout: 600_000 });
  const h0 = heap();
  const t0 = performance.now();
  for (let i = 0; i < CHILDREN; i++) ok(await bare.spawn({ behaviour: reporter }));
  const bareMs = performance.now() - t0;
  const bareBytes = (heap() - h0) / CHILDREN;
  await bare.stop(60_000);

  const node = await Node.start({ name: 'bench-sofo', logger, callTimeout: 600_000 });
  const sup = ok(
    await node.spawn(
      supervisorSpec({
        strategy: 'simple_one_for_one',
        intensity: 1,
        period: 5,
        children: [{ id: 'c', start: { behaviour: reporter }, restart: 'temporary' }],
      }),
    ),
  );
  const s0 = heap();
  const t1 = performance.now();
  for (let i = 0; i < CHILDREN; i++) {
    const r = await startChild(node, sup, undefined);
    if (!('ok' in r)) throw new Error(JSON.stringify(r));
  }
  const supMs = performance.now() - t1;
  const supBytes = (heap() - s0) / CHILDREN;
  const t2 = performance.now();
  await node.stop(60_000);
  const stopMs = performance.now() - t2;
  row(`spawn ${f(CHILDREN)} children (total s)`, f(supMs / 1000, 2), `${f(bareMs / 1000, 2)} (node.spawn, no supervisor)`, x(supMs / bareMs));
  mine.spawn_us = (supMs * 1000) / CHILDREN;
  mine.bytes_per_child = supBytes;
  row('spawn per child (µs)', f((supMs * 1000) / CHILDREN, 1), f((bareMs * 1000) / CHILDREN, 1), x(supMs / bareMs));
  row('heap bytes per child', f(supBytes), `${f(bareBytes)} (node.spawn, no supervisor)`, x(supBytes / bareBytes));
  row(`stop the supervisor with ${f(CHILDREN)} children (s)`, f(stopMs / 1000, 2), '', '');
}

// --- 4: restart latency ----------------------------------------------------------------------------

async function restarts(): Promise<void> {
  console.log(`\n## restart latency: a one_for_one child killed ${f(RESTARTS)} times`);
  const node = await Node.start({ name: 'bench-restart', logger, callTimeout: 600_000 });
  const inbox = node.inbox();
  const isStarted = (m: unknown) => typeof m === 'object' && m !== null && 'started' in m;
  const next = async () => (await inbox.receive<{ started: Pid }>(isStarted, 10_000)).started;
  ok(
    await node.spawn(
      supervisorSpec({
        strategy: 'one_for_one',
        intensity: 1_000_000,
        period: 1,
        children: [{ id: 'c', start: { behaviour: reporter, args: { observer: inbox.self } }, restart: 'permanent', shutdown: 'brutal_kill' }],
      }),
    ),
  );
  let pid = await next();
  const lat: number[] = [];
  for (let i = 0; i < RESTARTS + 50; i++) {
    const t = performance.now();
    node.exit(pid, 'kill');
    pid = await next();
    if (i >= 50) lat.push(performance.now() - t);
  }
  // Baseline: the same child started by a plain spawn, timed until it reports.
  const base: number[] = [];
  for (let i = 0; i < RESTARTS + 50; i++) {
    const t = performance.now();
    const p = ok(await node.spawn({ behaviour: reporter, args: { observer: inbox.self } }));
    await next();
    if (i >= 50) base.push(performance.now() - t);
    node.exit(p, 'kill');
  }
  mine.restart_p50_us = pct(lat, 50) * 1000;
  mine.restart_p99_us = pct(lat, 99) * 1000;
  row(
    'restart latency p50 / p99 (µs)',
    `${f(pct(lat, 50) * 1000, 1)} / ${f(pct(lat, 99) * 1000, 1)}`,
    `${f(pct(base, 50) * 1000, 1)} / ${f(pct(base, 99) * 1000, 1)} (node.spawn of the same child)`,
    `${x(pct(lat, 50) / pct(base, 50))} / ${x(pct(lat, 99) / pct(base, 99))}`,
  );
  await node.stop();
}

// --- 5: NATS -----------------------------------------------------------------------------------------

async function nats(): Promise<void> {
  console.log(`\n## NATS: ${f(NATS_CALLS)} sequential call round trips between two nodes, ${ROUNDS} alternating rounds`);
  let server;
  try {
    server = await startNatsServer();
  } catch (e) {
    console.log(`  skipped: ${(e as Error).message}`);
    return;
  }
  try {
    const a = await Node.start({ name: 'bench-na', logger, transport: new NatsTransport({ servers: server.url }), callTimeout: 600_000 });
    const b = await Node.start({ name: 'bench-nb', logger, transport: new NatsTransport({ servers: server.url }), callTimeout: 600_000 });
    await a.connect('bench-nb');
    await b.connect('bench-na');
    const target = ok(await b.spawn({ behaviour: echo }));
    const d = ok(await a.spawn({ behaviour: driver }));
    const aotp = (n: number) => a.call<{ ms: number; p50: number; p99: number }>(d, { op: 'calls', target, n }, { timeout: Infinity });

    // Raw nats.js: a responder connection and a requester connection, the same small payloads.
    const responder = await connect({ servers: server.url });
    const requester = await connect({ servers: server.url });
    responder.subscribe('bench.echo', { callback: (_e, msg) => msg.respond(msg.data) });
    await responder.flush();
    const raw = async (n: number) => {
      const lat = new Float64Array(n);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await requester.request('bench.echo', encode(i), { timeout: 10_000 });
        lat[i] = performance.now() - t;
      }
      const ms = performance.now() - t0;
      const s = Array.from(lat).sort((p, q) => p - q);
      return { ms, p50: s[Math.floor(n / 2)]!, p99: s[Math.floor(n * 0.99)]! };
    };

    await aotp(500);
    await raw(500);
    const ratios: number[] = [];
    const as: { ms: number; p50: number; p99: number }[] = [];
    const rs: { ms: number; p50: number; p99: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const ga = await aotp(NATS_CALLS);
      const gr = await raw(NATS_CALLS);
      as.push(ga);
      rs.push(gr);
      ratios.push(ga.ms / gr.ms);
    }
    const med = <T extends { ms: number }>(xs: T[]) => [...xs].sort((p, q) => p.ms - q.ms)[Math.floor(xs.length / 2)]!;
    const ma = med(as);
    const mr = med(rs);
    const ratio = median(ratios);
    row('NATS call round trips/s', f(NATS_CALLS / (ma.ms / 1000)), `${f(NATS_CALLS / (mr.ms / 1000))} (raw nats.js request/reply)`, `${x(ratio)} (goal ≤ 1.30×)`);
    row(
      'NATS call latency p50 / p99 (µs)',
      `${f(ma.p50 * 1000, 1)} / ${f(ma.p99 * 1000, 1)}`,
      `${f(mr.p50 * 1000, 1)} / ${f(mr.p99 * 1000, 1)}`,
      `${x(ma.p50 / mr.p50)} / ${x(ma.p99 / mr.p99)}`,
    );
    await responder.close();
    await requester.close();
    await a.stop();
    await b.stop();
  } finally {
    await server.stop(); // SIGTERM by pid, wait for the exit, remove its store dir
  }
}

// --- 6: Erlang/OTP reference -------------------------------------------------------------------------

const ERL_MODULE = `
-module(aotp_bench).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, reporter/1, plain/1, run/1]).

reporter(Obs) -> gen_server:start_link(?MODULE, {worker, Obs}, []).
plain(_) -> gen_server:start_link(?MODULE, {worker, none}, []).

init({worker, none}) -> {ok, 0};
init({worker, Obs}) -> Obs ! {started, self()}, {ok, 0};
init({sup, Strategy, MFA, Restart}) ->
    {ok, {#{strategy => Strategy, intensity => 1000000, period => 1},
          [#{id => c, start => MFA, restart => Restart, shutdown => brutal_kill}]}}.

handle_call(count, _From, S) -> {reply, S, S};
handle_call(X, _From, S) -> {reply, X, S}.
handle_cast(_, S) -> {noreply, S + 1}.
handle_info(_, S) -> {noreply, S}.

now_us() -> erlang:monotonic_time(microsecond).
calls(_, 0) -> ok;
calls(P, N) -> N = gen_server:call(P, N), calls(P, N - 1).
casts(_, 0) -> ok;
casts(P, N) -> gen_server:cast(P, N), casts(P, N - 1).
starts(_, 0) -> ok;
starts(S, N) -> {ok, _} = supervisor:start_child(S, [x]), starts(S, N - 1).
restarts(_, 0, Acc) -> Acc;
restarts(P, N, Acc) ->
    T = now_us(), exit(P, kill),
    receive {started, P2} -> restarts(P2, N - 1, [now_us() - T | Acc]) after 10000 -> error(timeout) end.
pct(L, P) -> S = lists:sort(L), lists:nth(min(length(S), 1 + trunc(P / 100 * length(S))), S).

run([Calls, Casts, Children, Restarts]) ->
    process_flag(trap_exit, true),
    {ok, P} = gen_server:start_link(?MODULE, {worker, none}, []),
    calls(P, 5000),
    T0 = now_us(), calls(P, Calls), CallUs = now_us() - T0,
    {ok, Q} = gen_server:start_link(?MODULE, {worker, none}, []),
    T1 = now_us(), casts(Q, Casts), Casts = gen_server:call(Q, count, infinity), CastUs = now_us() - T1,
    {ok, S} = supervisor:start_link(?MODULE, {sup, simple_one_for_one, {?MODULE, plain, []}, temporary}),
    erlang:garbage_collect(),
    M0 = erlang:memory(processes),
    T2 = now_us(), starts(S, Children), SpawnUs = now_us() - T2,
    [erlang:garbage_collect(Pid) || Pid <- processes()],
    M1 = erlang:memory(processes),
    {ok, R} = supervisor:start_link(?MODULE, {sup, one_for_one, {?MODULE, reporter, [self()]}, permanent}),
    P0 = receive {started, X} -> X end,
    Lat = restarts(P0, Restarts, []),
    io:format("calls_per_s=~.1f casts_per_s=~.1f spawn_us=~.1f bytes_per_child=~.1f restart_p50_us=~p restart_p99_us=~p~n",
              [Calls / (CallUs / 1.0e6), Casts / (CastUs / 1.0e6), SpawnUs / Children, (M1 - M0) / Children,
               pct(Lat, 50), pct(Lat, 99)]),
    _ = R.
`;

function erlang(): Record<string, number> | undefined {
  try {
    execFileSync('erl', ['-version'], { stdio: 'ignore' });
  } catch {
    console.log('\n## Erlang/OTP reference: skipped (erl is not on PATH)');
    return undefined;
  }
  console.log('\n## Erlang/OTP reference (erl -noshell, same counts)');
  const dir = mkdtempSync(join(tmpdir(), 'aotp-erl-bench-'));
  try {
    writeFileSync(join(dir, 'aotp_bench.erl'), ERL_MODULE);
    execFileSync('erlc', ['-o', dir, join(dir, 'aotp_bench.erl')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = execFileSync(
      'erl',
      ['-noshell', '-kernel', 'logger_level', 'none', '-pa', dir, '-eval', `aotp_bench:run([${CALLS}, ${CASTS}, ${CHILDREN}, ${RESTARTS}]), halt().`],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const line = out.split('\n').find((l) => l.startsWith('calls_per_s=')) ?? '';
    const figures = Object.fromEntries([...line.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
    const version = execFileSync('erl', ['-noshell', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], { encoding: 'utf8' });
    console.log(`  OTP ${version}: ${line}`);
    return figures;
  } catch (e) {
    console.log(`  erl run failed: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- main --------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`# aotp runtime benchmark (node ${process.version}${QUICK ? ', --quick' : ''})`);
  await local();
  await children();
  await restarts();
  await nats();
  const erl = erlang();

  console.log('\n| figure | aotp | baseline (same run) | ratio (aotp cost / baseline cost) |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  if (erl) {
    console.log('\n| Erlang/OTP reference (same machine, same counts) | value |');
    console.log('|---|---|');
    console.log(`| gen_server:call round trips/s | ${f(erl.calls_per_s!)} |`);
    console.log(`| gen_server:cast throughput (msgs/s) | ${f(erl.casts_per_s!)} |`);
    console.log(`| supervisor:start_child, simple_one_for_one (µs per child) | ${f(erl.spawn_us!, 1)} |`);
    console.log(`| erlang:memory(processes) bytes per child | ${f(erl.bytes_per_child!)} |`);
    console.log(`| restart latency p50 / p99 (µs) | ${f(erl.restart_p50_us!)} / ${f(erl.restart_p99_us!)} |`);
  }
  console.log(`\n(total ${f((performance.now() - started) / 1000, 1)} s)`);
  // Each ratio is aotp's cost over OTP's in the same run (a rate is inverted into a cost).
  const ratio = (cost: number | undefined, otp: number | undefined) => (cost !== undefined && otp ? Number((cost / otp).toFixed(2)) : null);
  console.log(
    JSON.stringify({
      heap_bytes_per_child: mine.bytes_per_child === undefined ? null : Math.round(mine.bytes_per_child),
      spawn_us: mine.spawn_us ?? null,
      restart_p50_us: mine.restart_p50_us ?? null,
      restart_p99_us: mine.restart_p99_us ?? null,
      calls_per_s: mine.calls_per_s === undefined ? null : Math.round(mine.calls_per_s),
      spawn_ratio_otp: ratio(mine.spawn_us, erl?.spawn_us),
      restart_p50_ratio_otp: ratio(mine.restart_p50_us, erl?.restart_p50_us),
      restart_p99_ratio_otp: ratio(mine.restart_p99_us, erl?.restart_p99_us),
      call_ratio_otp: ratio(erl?.calls_per_s, mine.calls_per_s),
      heap_ratio_otp: ratio(mine.bytes_per_child, erl?.bytes_per_child),
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
