/**
 * A real AO client against a whole node: @permaweb/aoconnect in legacy mode, given only the
 * three URLs the node's `GET /` lists, spawns aos processes, messages them, reads results,
 * dry-runs, assigns and monitors — with no network beyond this node.
 */
import { rmSync } from 'node:fs';
import { connect, createDataItemSigner } from '@permaweb/aoconnect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet } from '../../units/ans104/index.js';
import { isTerminal } from '../../units/mu/index.js';
import { node, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
let info: { mu: string; cu: string; su: string; graphql: string; addresses: { mu: string; su: string; cu: string }; modules: Record<string, string> };
/** aoconnect's legacy-mode client (its published typings describe mainnet mode only). */
interface LegacyAo {
  spawn(a: { module: string; scheduler: string; signer: unknown; tags?: { name: string; value: string }[]; data?: string }): Promise<string>;
  message(a: { process: string; signer: unknown; tags?: { name: string; value: string }[]; data?: string }): Promise<string>;
  result(a: { message: string; process: string }): Promise<{ Output?: { data?: unknown }; Error?: unknown; Messages?: unknown[] }>;
  results(a: { process: string; sort?: string; limit?: number }): Promise<{ edges: unknown[] }>;
  dryrun(a: { process: string; tags?: { name: string; value: string }[]; data?: string; Owner?: string }): Promise<{ Output?: { data?: unknown } }>;
  assign(a: { process: string; message: string }): Promise<string>;
  monitor(a: { process: string; signer: unknown }): Promise<string>;
  unmonitor(a: { process: string; signer: unknown }): Promise<string>;
}
let ao: LegacyAo;
let signer: ReturnType<typeof createDataItemSigner>;
let owner: string;

beforeAll(async () => {
  dir = tempDir('aotp-e2e-');
  n = await node(dir, { mu: { cronPollMs: 100 }, cu: { cronSafetyMs: 200 } });
  info = await (await fetch(`${n.url}/`)).json();
  ao = connect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GRAPHQL_URL: info.graphql, noLog: true } as never) as unknown as LegacyAo;
  // aoconnect's signer takes an Arweave (RSA) JWK.
  const wallet = await generateWallet('rsa');
  owner = wallet.address;
  signer = createDataItemSigner(wallet.key as never);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lastLine = (r: { Output?: { data?: unknown } }) => String(r.Output?.data ?? '').trim().split('\n').pop();

async function spawnAos(module: string): Promise<string> {
  // Processes trust what the MU pushes only if its address is one of their Authority tags.
  return ao.spawn({ module, scheduler: info.addresses.su, signer, tags: [{ name: 'Authority', value: info.addresses.mu }] });
}

async function evalIn(process: string, code: string) {
  const message = await ao.message({ process, signer, tags: [{ name: 'Action', value: 'Eval' }], data: code });
  return { message, result: await ao.result({ message, process }) };
}

describe('aoconnect end to end', () => {
  it.each(['aos-2.0.4-wasm32', 'aos-2.0.6-wasm64'])('spawn, message and result on %s', async (name) => {
    const process = await spawnAos(info.modules[name]!);
    expect(process).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { result } = await evalIn(process, 'return "hello from " .. ao.id');
    expect(result.Error).toBeUndefined();
    expect(lastLine(result)).toBe(`hello from ${process}`);
    const dry = await ao.dryrun({ process, tags: [{ name: 'Action', value: 'Eval' }], data: 'return 6 * 7', Owner: owner });
    expect(lastLine(dry)).toBe('42');
  });

  it('a message that makes two processes talk: the MU pushes each step, the client reads the last', async () => {
    const module = info.modules['aos-2.0.4-wasm32']!;
    const [a, b] = await Promise.all([spawnAos(module), spawnAos(module)]);
    await evalIn(b, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "pong " .. msg.Data }) end); return 1`);
    await evalIn(a, `Got = nil; Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Got = msg.Data end); return 1`);
    const { message } = await evalIn(a, `Send({ Target = "${b}", Action = "Ping", Data = "from a" }); return "sent"`);
    await n.mu.store.settled(message);
    const dry = await ao.dryrun({ process: a, tags: [{ name: 'Action', value: 'Eval' }], data: 'return Got', Owner: owner });
    expect(lastLine(dry)).toBe('pong from a');
    const page = await ao.results({ process: a, sort: 'DESC', limit: 2 });
    expect(page.edges.length).toBe(2);
  });

  it('assign and monitor through aoconnect', async () => {
    const module = info.modules['aos-2.0.4-wasm32']!;
    const [a, b] = await Promise.all([spawnAos(module), spawnAos(module)]);
    // aos refuses assigned messages unless the process declares them assignable.
    await evalIn(b, 'ao.addAssignable("any", function (msg) return true end); return 1');
    const { message } = await evalIn(a, 'Seen = (Seen or 0) + 1; return Seen');
    const assignment = await ao.assign({ process: b, message });
    expect(assignment).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const r = await ao.result({ message, process: b });
    expect(lastLine(r)).toBe('1');
    await ao.monitor({ process: a, signer });
    expect(n.mu.store.monitor(a)).toBeDefined();
    await ao.unmonitor({ process: a, signer });
    expect(n.mu.store.monitor(a)).toBeUndefined();
  });

  it('a ping-pong of 100 rounds through outbox recursion, with push jobs and process actors killed mid-run', async () => {
    const module = info.modules['aos-2.0.4-wasm32']!;
    const [a, b] = await Promise.all([spawnAos(module), spawnAos(module)]);
    await evalIn(b, `Pings = 0; Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Pings = Pings + 1; Send({ Target = msg.From, Action = "Pong", Data = msg.Data }) end); return 1`);
    await evalIn(a, `Pongs = 0; Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Pongs = Pongs + 1; if Pongs < 100 then Send({ Target = msg.From, Action = "Ping", Data = tostring(Pongs) }) end end); return 1`);
    // Kill every push job now and then while the rally runs, and every third round the two
    // process actors too (each comes back from its checkpoint and replays, which takes longer
    // the further the rally is). A round comes only once the MU has written a job since the
    // last one: at a fixed rate, a slow machine would kill every incarnation before it got
    // anywhere (a livelock of the test's making); this way each round lets the push move on.
    let progress = 0;
    let seen = 0;
    let rounds = 0;
    let jobKills = 0;
    let processKills = 0;
    const off = n.mu.store.onJob(() => progress++);
    const chaos = setInterval(() => {
      if (progress === seen) return;
      seen = progress;
      jobKills += n.node.kill(/^mu\/job\//).length;
      if (++rounds % 3 === 0) processKills += n.node.kill(/^cu\//).length;
    }, 250);
    const { message } = await evalIn(a, `Send({ Target = "${b}", Action = "Ping", Data = "0" }); return "serve"`);
    // A stall fails at once (no job written for a minute); a slow machine only takes longer.
    let watchdog: ReturnType<typeof setInterval> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      let last = -1;
      watchdog = setInterval(() => {
        const open = n.mu.store.push(message).filter((j) => !isTerminal(j));
        if (progress === last) reject(new Error(`no push job written for 60 s; open: ${open.map((j) => `${j.depth} ${j.stage}`).join(', ')}`));
        last = progress;
      }, 60_000);
    });
    let jobs;
    try {
      jobs = await Promise.race([n.mu.store.settled(message, 300_000), stalled]);
    } finally {
      clearInterval(chaos);
      clearInterval(watchdog);
      off();
    }
    expect(jobs.filter((j) => j.stage !== 'done').map((j) => `${j.depth} ${j.stage} ${j.reason}`)).toEqual([]);
    // The chaos went on through the rally: jobs and process actors were killed, at several points of it.
    expect(rounds).toBeGreaterThanOrEqual(5);
    expect(jobKills).toBeGreaterThan(0);
    expect(processKills).toBeGreaterThan(0);
    const count = async (p: string, v: string) => lastLine(await ao.dryrun({ process: p, tags: [{ name: 'Action', value: 'Eval' }], data: `return ${v}`, Owner: owner }));
    expect(await count(a, 'Pongs')).toBe('100');
    expect(await count(b, 'Pings')).toBe('100');
    // Each pushed message got exactly one slot.
    for (const p of [a, b]) {
      const ids = (await n.su.reader.read(p, 0)).map((e) => e.messageId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect((await n.su.reader.read(b, 1)).filter((e) => e.message !== null).length).toBe(1 + 100);
  }, 360_000);

  it('a process spawns a child whose boot code answers its parent', async () => {
    const module = info.modules['aos-2.0.4-wasm32']!;
    const parent = await spawnAos(module);
    const childCode = 'Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "child " .. ao.id }) end)';
    await evalIn(
      parent,
      `Heard = nil
Handlers.add("spawned", Handlers.utils.hasMatchingTag("Action", "Spawned"), function (msg) Child = msg.Process; Send({ Target = msg.Process, Action = "Ping" }) end)
Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Heard = msg.Data end)
return 1`,
    );
    const { message } = await evalIn(parent, `Spawn("${module}", { Data = ${JSON.stringify(childCode)}, ["On-Boot"] = "Data", Authority = "${info.addresses.mu}" }); return "spawning"`);
    await n.mu.store.settled(message);
    const child = lastLine(await ao.dryrun({ process: parent, tags: [{ name: 'Action', value: 'Eval' }], data: 'return Child', Owner: owner }));
    expect(child).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(lastLine(await ao.dryrun({ process: parent, tags: [{ name: 'Action', value: 'Eval' }], data: 'return Heard', Owner: owner }))).toBe(`child ${child}`);
  });

  it('monitor makes a cron process tick and push; unmonitor stops it', async () => {
    const module = info.modules['aos-2.0.4-wasm32']!;
    const sink = await spawnAos(module);
    const ticker = await ao.spawn({
      module,
      scheduler: info.addresses.su,
      signer,
      tags: [
        { name: 'Authority', value: info.addresses.mu },
        { name: 'Cron-Interval', value: '1-second' },
        { name: 'Cron-Tag-Action', value: 'Tick' },
      ],
    });
    await evalIn(sink, `Ticks = 0; Handlers.add("tock", Handlers.utils.hasMatchingTag("Action", "Tock"), function (msg) Ticks = Ticks + 1 end); return 1`);
    await evalIn(ticker, `Handlers.add("tick", Handlers.utils.hasMatchingTag("Action", "Tick"), function (msg) Send({ Target = "${sink}", Action = "Tock" }) end); return 1`);
    const ticked = new Promise<void>((resolve) => {
      const off = n.mu.store.onJob((j) => {
        if (j.processId === sink && j.stage === 'done' && j.root.startsWith(`cron/${ticker}/`)) {
          off();
          resolve();
        }
      });
    });
    await ao.monitor({ process: ticker, signer });
    await ticked;
    expect(Number(lastLine(await ao.dryrun({ process: sink, tags: [{ name: 'Action', value: 'Eval' }], data: 'return Ticks', Owner: owner })))).toBeGreaterThan(0);
    await ao.unmonitor({ process: ticker, signer });
    expect(n.node.whereis(`mu/cron/${ticker}`)).toBeUndefined();
  });
});
