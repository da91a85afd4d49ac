/**
 * Independent nodes on loopback, as separate operators run them: each its own data dir, wallets,
 * SU, MU and CU, on its own in-process bus (no shared NATS). Node 1 is also the network's gateway
 * and bundler (it serves uploads); nodes 2 and 3 name it as their gateway. They find each
 * other's SUs through the Scheduler-Location records each publishes there, and deliver over
 * HTTP. The real Arweave network is not reachable here: node 1 stands in for arweave.net and a
 * bundler, through the same APIs (GraphQL, /raw, POST /tx).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { createDataItem, generateWallet, ownerAddress, parseDataItem, tagValue, type SignedDataItem, type Tag, type Wallet } from '../../units/ans104/index.js';
import { dryRun, node, post, tempDir } from '../units/mu/support.js';

/** A record's Time-To-Live here: short, so that an outage of the gateway outlasts the nodes' caches. */
const TTL_MS = 1500;
const dirs: string[] = [];
let n1: RunningNode, n2: RunningNode, n3: RunningNode;
let user: Wallet;
let module: string;
let port1: number;

const network = (gateway?: string) => ({
  network: { ...(gateway ? { gateway } : { acceptUploads: true }), locationTtlMs: TTL_MS, publishEveryMs: 20, timeoutMs: 2000 },
  mu: { retryFirstMs: 20, retryMaxMs: 300, retryAttempts: 200 },
});

async function start(gateway?: string, port = 0, dir = tempDir('aotp-net-')): Promise<RunningNode> {
  if (!dirs.includes(dir)) dirs.push(dir);
  return node(dir, { port, ...network(gateway) });
}

/** Waits for `cond` (across HTTP there is no event to await), failing after `ms`. */
async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the gateway (node 1) knows of an id, by GraphQL as other nodes ask it. */
async function onGateway(id: string): Promise<boolean> {
  const r = await fetch(`${n1.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($ids: [ID!]) { transactions(ids: $ids) { edges { node { id } } } }', variables: { ids: [id] } }),
  });
  return ((await r.json()) as { data: { transactions: { edges: unknown[] } } }).data.transactions.edges.length === 1;
}

async function located(address: string): Promise<string | undefined> {
  const r = await fetch(`${n1.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `query($owner: String!) { transactions(owners: [$owner], tags: [{ name: "Type", values: ["Scheduler-Location"] }], first: 1) { edges { node { tags { name value } } } } }`,
      variables: { owner: address },
    }),
  });
  const edges = ((await r.json()) as { data: { transactions: { edges: { node: { tags: Tag[] } }[] } } }).data.transactions.edges;
  return edges[0] ? tagValue(edges[0].node.tags, 'Url') : undefined;
}

/** aoconnect writes a 32-character text anchor: kept whole in the SU's JSON, so other nodes check the signature. */
const anchor = () => randomBytes(24).toString('base64url');

/** An aos process on `n`'s SU, of node 1's module, trusting every node's MU, spawned through `n`'s MU. */
const spawnOn = (n: RunningNode) => spawnVia(n, n);

async function spawnVia(via: RunningNode, on: RunningNode): Promise<string> {
  const item = await spawnItem(on.su.address);
  const r = await post(`${via.url}/mu/`, item.raw);
  expect(r.status, await r.text()).toBe(202);
  return item.id;
}

function spawnItem(scheduler: string): Promise<SignedDataItem> {
  return createDataItem(
    {
      data: '',
      anchor: anchor(),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: module },
        { name: 'Scheduler', value: scheduler },
        ...[n1, n2, n3].map((m) => ({ name: 'Authority', value: m.mu.address })),
      ],
    },
    user,
  );
}

function message(target: string, tags: Tag[], data = ''): Promise<SignedDataItem> {
  return createDataItem({ data, target, anchor: anchor(), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: 'Message' }, ...tags] }, user);
}

/** Sends through `via`'s MU; waits for the whole push to end there; answers the jobs. */
async function send(via: RunningNode, target: string, tags: Tag[], data = '') {
  const item = await message(target, tags, data);
  const r = await post(`${via.url}/mu/`, item.raw);
  expect(r.status, await r.text()).toBe(202);
  return { id: item.id, jobs: await via.mu.store.settled(item.id) };
}

const evalIn = (via: RunningNode, target: string, code: string) => send(via, target, [{ name: 'Action', value: 'Eval' }], code);

/** A process's log as its own SU holds it: message ids of slots ≥ 1 with their tags. */
async function logOf(n: RunningNode, processId: string) {
  const entries = await n.su.reader.read(processId, 1);
  return entries.map((e) => {
    const item = parseDataItem(e.message!);
    return { id: item.id, owner: ownerAddress(item), tags: Object.fromEntries(item.tags.map((t) => [t.name, t.value])) };
  });
}

let a: string, b: string, c: string;

beforeAll(async () => {
  user = await generateWallet('ed25519');
  n1 = await start();
  port1 = Number(new URL(n1.url).port);
  n2 = await start(n1.url);
  n3 = await start(n1.url);
  module = n1.cu.modules.bundled()['aos-2.0.4-wasm32']!;
  // Each SU's record reaches the gateway: published by nodes 2 and 3 over HTTP, by node 1 to itself.
  for (const n of [n1, n2, n3]) await until(`the record of ${n.url}`, async () => (await located(n.su.address)) === `${n.url}/su`);
  [a, b, c] = await Promise.all([spawnOn(n1), spawnOn(n2), spawnOn(n3)]);
  for (const p of [a, b, c]) await until(`the spawn ${p} on the gateway`, () => onGateway(p));
  // A ring: each process counts what it is sent and passes it on to the next until Hops run out.
  const ring = (next: string) => `
    Seen = Seen or {}
    Handlers.add("ring", Handlers.utils.hasMatchingTag("Action", "Ring"), function (msg)
      table.insert(Seen, msg.Id)
      local hops = tonumber(msg.Hops)
      if hops > 0 then Send({ Target = "${next}", Action = "Ring", Hops = tostring(hops - 1), Data = msg.Data }) end
    end)
    Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "pong " .. msg.Data }) end)
    Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Got = msg.Data end)
    Handlers.add("note", Handlers.utils.hasMatchingTag("Action", "Note"), function (msg) Notes = (Notes or 0) + 1 end)
    return "ok"`;
  // Each set up through its own node's MU.
  await Promise.all([evalIn(n1, a, ring(b)), evalIn(n2, b, ring(c)), evalIn(n3, c, ring(a))]);
});

afterAll(async () => {
  for (const n of [n1, n2, n3]) await n?.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('independent nodes', () => {
  it('ping-pong between processes on two nodes: the ping goes to the other SU, the pong comes back', async () => {
    const { jobs } = await evalIn(n1, a, `Send({ Target = "${b}", Action = "Ping", Data = "from a" }); return "sent"`);
    // Every job of the push ended done: none skipped, none failed.
    expect(jobs.map((j) => [j.processId, j.stage])).toEqual(expect.arrayContaining([[b, 'done'], [a, 'done']]));
    expect(jobs.filter((j) => j.stage !== 'done')).toEqual([]);
    expect(await dryRun(n1, a, user.address, 'return Got')).toBe('pong from a');
    // The ping is in B's log on node 2 (signed by node 1's MU), the pong in A's on node 1.
    const ping = (await logOf(n2, b)).filter((m) => m.tags.Action === 'Ping');
    expect(ping.map((m) => m.owner)).toEqual([n1.mu.address]);
  });

  it('a ring across three nodes, started from two of them: every hop delivered once', async () => {
    const HOPS = 6;
    const first = await send(n1, a, [{ name: 'Action', value: 'Ring' }, { name: 'Hops', value: String(HOPS) }], 'r1');
    const second = await send(n2, b, [{ name: 'Action', value: 'Ring' }, { name: 'Hops', value: String(HOPS) }], 'r2');
    for (const { jobs } of [first, second]) {
      expect(jobs.filter((j) => j.stage !== 'done')).toEqual([]);
      expect(jobs.length).toBe(HOPS + 1);
    }
    // Seven deliveries per ring, spread over A, B, C: each log holds each of its ring messages once.
    let total = 0;
    for (const [n, p] of [[n1, a], [n2, b], [n3, c]] as const) {
      const ring = (await logOf(n, p)).filter((m) => m.tags.Action === 'Ring');
      expect(new Set(ring.map((m) => m.id)).size).toBe(ring.length);
      total += ring.length;
      // What the process saw is what its log holds, computed by its own node's CU.
      expect(await dryRun(n, p, user.address, 'return #Seen')).toBe(String(ring.length));
    }
    expect(total).toBe(2 * (HOPS + 1));
  });

  it('a token transfer across three nodes: the token on node 2, Debit-Notice back to node 1, Credit-Notice on to node 3', async () => {
    const token = await spawnOn(n2);
    await until(`the spawn ${token} on the gateway`, () => onGateway(token));
    await evalIn(n2, token, `
      Balances = { ["${a}"] = 100 }
      Handlers.add("transfer", Handlers.utils.hasMatchingTag("Action", "Transfer"), function (msg)
        local qty = tonumber(msg.Quantity)
        if (Balances[msg.From] or 0) < qty then return Send({ Target = msg.From, Action = "Transfer-Error" }) end
        Balances[msg.From] = Balances[msg.From] - qty
        Balances[msg.Recipient] = (Balances[msg.Recipient] or 0) + qty
        Send({ Target = msg.From, Action = "Debit-Notice", Quantity = msg.Quantity, Recipient = msg.Recipient })
        Send({ Target = msg.Recipient, Action = "Credit-Notice", Quantity = msg.Quantity, Sender = msg.From })
      end)
      return "token"`);
    const notices = `Handlers.add("notices", function (msg) return msg.Action == "Debit-Notice" or msg.Action == "Credit-Notice" end, function (msg) Notices = (Notices or "") .. msg.Action .. ":" .. msg.Quantity .. ";" end); return "ok"`;
    await evalIn(n1, a, notices);
    await evalIn(n3, c, notices);
    // A (node 1) transfers 30 to C (node 3) through the token (node 2).
    const { jobs } = await evalIn(n1, a, `Send({ Target = "${token}", Action = "Transfer", Recipient = "${c}", Quantity = "30" }); return "sent"`);
    expect(jobs.filter((j) => j.stage !== 'done')).toEqual([]);
    expect(jobs.map((j) => j.processId).sort()).toEqual([a, token, a, c].sort());
    expect(await dryRun(n1, a, user.address, 'return Notices')).toBe('Debit-Notice:30;');
    expect(await dryRun(n3, c, user.address, 'return Notices')).toBe('Credit-Notice:30;');
    expect(await dryRun(n2, token, user.address, `return Balances["${a}"] .. "/" .. Balances["${c}"]`)).toBe('70/30');
  });

  it('a CU computes a process another node schedules, reading its log from that SU', async () => {
    // Node 3 has never computed B (node 2's): it reads B's log page by page from node 2's SU.
    const seen = (await logOf(n2, b)).filter((m) => m.tags.Action === 'Ring').length;
    expect(await dryRun(n3, b, user.address, 'return #Seen')).toBe(String(seen));
    const { id } = await send(n2, b, [{ name: 'Action', value: 'Note' }]);
    const r = await fetch(`${n3.url}/cu/result/${id}?process-id=${b}`);
    expect(r.status).toBe(200);
    expect(await dryRun(n3, b, user.address, 'return Notes')).toBe('1');
  });

  it('a spawn on a remote SU: a process on node 1 spawns a child that node 2 schedules', async () => {
    const { jobs } = await evalIn(n1, a, `Spawn("${module}", { Data = "", Tags = { Scheduler = "${n2.su.address}", Authority = "${n1.mu.address}" } }); return "spawned"`);
    const spawned = jobs.filter((j) => j.kind === 'spawn');
    expect(spawned.map((j) => j.stage)).toEqual(['done']);
    const child = spawned[0]!.processId;
    // Node 2's SU holds it at slot 0, signed by node 1's MU, and not node 1's.
    expect(n2.su.reader.hosts(child)).toBe(true);
    expect(n1.su.reader.hosts(child)).toBe(false);
    expect(tagValue(parseDataItem(n2.su.reader.processSync(child)!.spawn).tags, 'Scheduler')).toBe(n2.su.address);
    // The spawner is told, on its own node.
    expect((await logOf(n1, a)).filter((m) => m.tags.Action === 'Spawned' && m.tags.Process === child)).toHaveLength(1);
  });

  it('a client spawns through one node\'s MU a process another node\'s SU schedules, then messages it there', async () => {
    const child = await spawnVia(n1, n3);
    expect(n3.su.reader.hosts(child)).toBe(true);
    expect(n1.su.reader.hosts(child)).toBe(false);
    await until(`the spawn ${child} on the gateway`, () => onGateway(child));
    const { jobs } = await evalIn(n1, child, 'Answer = 6 * 7; return Answer');
    expect(jobs.map((j) => j.stage)).toEqual(['done']);
    expect(await dryRun(n3, child, user.address, 'return Answer')).toBe('42');
    // A spawn naming an SU nobody has published is still refused, with the reason.
    const nowhere = await generateWallet('ed25519');
    const r = await post(`${n1.url}/mu/`, (await spawnItem(nowhere.address)).raw);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/does not belong on this SU/);
  });

  it('a refusal by the remote SU ends the push with its reason', async () => {
    // An assignment of a message no SU holds: node 2's SU answers 400, node 1's MU says why.
    const r = await fetch(`${n1.url}/mu/?process-id=${b}&assign=${randomBytes(32).toString('base64url')}`, { method: 'POST' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/refused/);
  });

  it('a message to a wallet is published to the bundler and visible through the gateway', async () => {
    const wallet = (await generateWallet('ed25519')).address;
    // Sent from node 2, whose bundler is node 1.
    const { jobs } = await evalIn(n2, b, `Send({ Target = "${wallet}", Action = "Hello" }); return "ok"`);
    const job = jobs.find((j) => j.processId === wallet)!;
    expect([job.stage, job.reason]).toEqual(['done', `published to the bundler: ${wallet} is not a process`]);
    const r = await fetch(`${n1.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($to: [String!]) { transactions(recipients: $to) { edges { node { id owner { address } tags { name value } } } } }', variables: { to: [wallet] } }),
    });
    const edges = ((await r.json()) as { data: { transactions: { edges: { node: { id: string; owner: { address: string }; tags: Tag[] } }[] } } }).data.transactions.edges;
    expect(edges.map((e) => [e.node.id, e.node.owner.address, tagValue(e.node.tags, 'Action')])).toEqual([[job.messageId, n2.mu.address, 'Hello']]);
  });

  it('the gateway node down for a while: pushes wait, and complete once it is back', async () => {
    const before = (await logOf(n3, c)).filter((m) => m.tags.Action === 'Note').length;
    await n1.stop();
    // Past the records' TTL, node 2 must ask the gateway where node 3's SU is again.
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    const item = await message(c, [{ name: 'Action', value: 'Note' }]);
    // Node 2's MU takes it and answers once node 3's SU has it, which it cannot find now.
    const posted = post(`${n2.url}/mu/`, item.raw);
    await until('the push job', () => n2.mu.store.job(item.id)?.stage === 'schedule');
    await new Promise((r) => setTimeout(r, 500));
    expect(n2.mu.store.job(item.id)?.stage).toBe('schedule');
    n1 = await start(undefined, port1, dirs[0]);
    expect((await posted).status).toBe(202);
    const jobs = await n2.mu.store.settled(item.id);
    expect(jobs.map((j) => j.stage)).toEqual(['done']);
    const notes = (await logOf(n3, c)).filter((m) => m.tags.Action === 'Note');
    expect(notes.length).toBe(before + 1);
    expect(notes.filter((m) => m.id === item.id)).toHaveLength(1);
  });

  it('the sending node restarted while its push waits: the job goes on from LMDB, and its new URL reaches the others', async () => {
    await n1.stop();
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    const item = await message(c, [{ name: 'Action', value: 'Note' }]);
    const posted = post(`${n2.url}/mu/`, item.raw).catch(() => undefined);
    await until('the push job', () => n2.mu.store.job(item.id)?.stage === 'schedule');
    await n2.stop();
    await posted;
    // Back on another port: a new URL, which its next record says.
    n2 = await start(n1.url, 0, dirs[1]);
    expect(n2.mu.store.job(item.id)?.stage).toBe('schedule');
    n1 = await start(undefined, port1, dirs[0]);
    expect((await n2.mu.store.settled(item.id)).map((j) => j.stage)).toEqual(['done']);
    expect((await logOf(n3, c)).filter((m) => m.id === item.id)).toHaveLength(1);
    await until('node 2\'s new record', async () => (await located(n2.su.address)) === `${n2.url}/su`);
    // Node 1 (restarted, nothing cached) reaches B at node 2's new URL, and the pong comes back.
    await evalIn(n1, a, `Send({ Target = "${b}", Action = "Ping", Data = "again" }); return "sent"`);
    expect(await dryRun(n1, a, user.address, 'return Got')).toBe('pong again');
  });
});
