/**
 * An SU publishing its logs (paper 5.3, condition 2) to another operator's node as its bundler:
 * node 1 is the network's gateway and bundler, node 2 names it as both. What node 2's SU assigns
 * reaches node 1 in bundles signed by node 2's SU wallet, each assignment and message served
 * there by its id; `GET /su/:processId` says how far. The real Arweave network is not reachable
 * here: node 1 stands in for a bundler and arweave.net through the same API (POST /tx, /raw).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { createDataItem, generateWallet, isBundle, ownerAddress, parseDataItem, unbundle, type Tag, type Wallet } from '../../units/ans104/index.js';
import { node, post, tempDir } from '../units/mu/support.js';

const dirs: string[] = [];
let n1: RunningNode, n2: RunningNode;
let port1: number;
let user: Wallet;
let pid: string;

const start = (dir: string, config: Record<string, unknown>, port = 0) => node(dir, { port, ...config });
const gatewayConfig = { network: { acceptUploads: true, publishEveryMs: 20 } };
const su2Config = () => ({ network: { gateway: n1.url, bundler: n1.url, publishEveryMs: 20, timeoutMs: 2000 } });

/** Waits for `cond` (across HTTP there is no event to await), failing after `ms`. */
async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The `published` field of the SU's page of a process. */
async function published(n: RunningNode, processId: string): Promise<{ through: number; backlog: number }> {
  const r = await fetch(`${n.url}/su/${processId}`);
  expect(r.status).toBe(200);
  const page = (await r.json()) as { page_info: unknown; edges: unknown[]; published: { through: number; backlog: number } };
  expect(page.page_info).toBeDefined();
  return page.published;
}

const tags = (type: string, extra: { name: string; value: string }[] = []) => [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: type }, ...extra];

/** Assigns a message on node 2's SU directly (its POST /su/), as an MU would. */
async function assign(i: number): Promise<string> {
  const item = await createDataItem({ data: `m${i}`, target: pid, anchor: randomBytes(32), tags: tags('Message', [{ name: 'Action', value: 'Note' }]) }, user);
  const r = await post(`${n2.url}/su/`, item.raw);
  expect(r.status, await r.text()).toBe(200);
  return item.id;
}

/** Every assignment and item of the process's log on node 2 is on node 1's gateway: its data by /raw, its signature by GraphQL. */
async function everySlotOnGateway(): Promise<number> {
  const b = await graphql('query($o: [String!]) { transactions(owners: $o, tags: [{ name: "Bundle-Format", values: ["binary"] }], first: 100) { edges { node { id } } } }', { o: [n2.su.address] });
  const bundlesOf2 = (b.data.transactions.edges as { node: { id: string } }[]).map((e) => e.node.id);
  const entries = await n2.su.reader.read(pid, 0);
  for (const e of entries) {
    for (const raw of [e.assignment, ...(e.message ? [e.message] : [])]) {
      const item = parseDataItem(raw);
      const r = await fetch(`${n1.url}/raw/${item.id}`);
      expect(r.status, `${item.id} (slot ${e.slot}) on the gateway`).toBe(200);
      expect(Buffer.from(await r.arrayBuffer())).toEqual(Buffer.from(item.data));
      const q = await graphql('query($id: ID!) { transaction(id: $id) { id signature owner { address } bundledIn { id } } }', { id: item.id });
      expect(q.data.transaction).toMatchObject({ id: item.id, signature: item.signature, owner: { address: ownerAddress(item) } });
      // The spawn may have come alone (the spawn publisher); the rest came in a bundle of node 2's SU.
      if (item.id !== pid) expect(bundlesOf2).toContain(q.data.transaction.bundledIn?.id);
    }
  }
  return entries.length;
}

/** A GraphQL request to node 1; its JSON answer. */
async function graphql(query: string, variables: Record<string, unknown>): Promise<any> {
  const r = await fetch(`${n1.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  expect(r.status).toBe(200);
  return r.json();
}

beforeAll(async () => {
  user = await generateWallet('ed25519');
  dirs.push(tempDir('aotp-pub1-'), tempDir('aotp-pub2-'));
  n1 = await start(dirs[0]!, gatewayConfig);
  port1 = Number(new URL(n1.url).port);
  n2 = await start(dirs[1]!, su2Config());
  const spawn = await createDataItem(
    { data: '', anchor: randomBytes(32), tags: tags('Process', [{ name: 'Module', value: n2.cu.modules.bundled()['aos-2.0.4-wasm32']! }, { name: 'Scheduler', value: n2.su.address }]) },
    user,
  );
  const r = await post(`${n2.url}/su/`, spawn.raw);
  expect(r.status, await r.text()).toBe(200);
  pid = spawn.id;
});

afterAll(async () => {
  for (const n of [n1, n2]) await n?.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('an SU publishing its logs to another node as its bundler', () => {
  it('what node 2 assigns reaches node 1 in bundles signed by its SU; each assignment and message served by id; backlog 0', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await assign(i));
    await until('the log published', async () => (await published(n2, pid)).backlog === 0);
    expect(await published(n2, pid)).toEqual({ through: 5, backlog: 0 });
    expect(await everySlotOnGateway()).toBe(6);
    // The bundles themselves: items of node 2's SU wallet on node 1, holding those items.
    const q = await graphql('query($o: [String!]) { transactions(owners: $o, tags: [{ name: "Bundle-Format", values: ["binary"] }]) { edges { node { id tags { name value } } } } }', { o: [n2.su.address] });
    const bundles = (q.data.transactions.edges as { node: { id: string; tags: Tag[] } }[]).map((e) => e.node);
    expect(bundles.length).toBeGreaterThan(0);
    const nested = new Set<string>();
    for (const b of bundles) {
      expect(isBundle(b.tags)).toBe(true);
      const data = new Uint8Array(await (await fetch(`${n1.url}/raw/${b.id}`)).arrayBuffer());
      for (const raw of unbundle(data)) nested.add(parseDataItem(raw).id);
    }
    for (const id of [pid, ...ids]) expect(nested.has(id)).toBe(true);
  });

  it('with the bundler down the backlog grows; a restart of the SU keeps the mark; the backlog goes to 0 once the bundler is back', async () => {
    const before = await published(n2, pid);
    await n1.stop();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await assign(100 + i));
    expect(await published(n2, pid)).toEqual({ through: before.through, backlog: 3 });
    // Node 2 restarted meanwhile: it goes on from its mark in LMDB.
    await n2.stop();
    n2 = await start(dirs[1]!, su2Config());
    expect(await published(n2, pid)).toEqual({ through: before.through, backlog: 3 });
    for (const id of ids) expect((await fetch(`http://127.0.0.1:${port1}/raw/${id}`).catch(() => undefined))?.status).not.toBe(200);
    n1 = await start(dirs[0]!, gatewayConfig, port1);
    await until('the backlog published', async () => (await published(n2, pid)).backlog === 0, 60_000);
    expect(await published(n2, pid)).toEqual({ through: before.through + 3, backlog: 0 });
    // Nothing left out: every slot, before the outage and since, is on the gateway.
    expect(await everySlotOnGateway()).toBe(before.through + 4);
  });
});
