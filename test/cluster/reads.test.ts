/**
 * Every read answers the same from every node. Two nodes on one NATS server; a process owned by
 * n1, its messages sent through n1. n2 holds none of its log on disk, yet answers a message by
 * id alone (`GET /su/:id`), GraphQL `transactions` / `transaction`, `/raw/:id` and results as n1
 * does; and so does n1 once it is back, with an empty data dir, after n2 owned the process.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';
import { messageItem, post, spawnItem } from '../units/mu/support.js';

let nats: NatsServerHandle;
let wallets: string;
const dirs: string[] = [];
const running = new Set<RunningNode>();
let user: Wallet;

async function start(name: string): Promise<RunningNode> {
  const dir = tempDir(`aotp-reads-${name}-`);
  dirs.push(dir);
  const n = await startNode(
    loadConfig(
      {
        dataDir: dir,
        port: 0,
        logLevel: 'silent',
        nodeName: name,
        nats: { servers: [nats.url], heartbeatMs: 100, replicas: 1 },
        su: { wallet: join(wallets, 'su.json') },
        mu: { wallet: join(wallets, 'mu.json') },
        cu: { wallet: join(wallets, 'cu.json') },
      },
      {},
    ),
  );
  running.add(n);
  return n;
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = tempDir('aotp-reads-wallets-');
  dirs.push(wallets);
  for (const unit of ['su', 'mu', 'cu']) writeFileSync(join(wallets, `${unit}.json`), JSON.stringify((await generateWallet('ed25519')).key));
  user = await generateWallet('ed25519');
});
afterAll(async () => {
  for (const n of running) await n.stop().catch(() => undefined);
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every read by id, as a client sees it (status and body), asked until it is not a 503. */
async function reads(n: RunningNode, processId: string, ids: string[]) {
  const get = async (path: string, init?: RequestInit) => {
    for (let i = 0; ; i++) {
      const r = await fetch(`${n.url}${path}`, init);
      const body = await r.text();
      if (r.status !== 503 || i > 100) return { status: r.status, body };
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const gql = (query: string, variables: unknown) => get('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return {
    byId: await Promise.all(ids.map((id) => get(`/su/${id}`))),
    raw: await Promise.all([processId, ...ids].map((id) => get(`/raw/${id}`))),
    results: await Promise.all(ids.map((id) => get(`/cu/result/${id}?process-id=${processId}`))),
    transactions: await gql('query($ids: [ID!]) { transactions(ids: $ids, first: 100) { edges { node { id owner { address } recipient tags { name value } data { size } } } } }', { ids: [processId, ...ids] }),
    transaction: await Promise.all(ids.map((id) => gql('query($id: ID!) { transaction(id: $id) { id recipient tags { name value } } }', { id }))),
  };
}

describe('reads by id across the cluster', () => {
  it('a node that holds none of a log answers reads by id as its owner does, also after the owner came back with an empty disk', async () => {
    let n1 = await start('n1');
    const n2 = await start('n2');
    await n1.node.connect('n2');
    await n2.node.connect('n1');

    let p = '';
    while (!p) {
      const item = await spawnItem(n1, user);
      if (owner(item.id, ['n1', 'n2']) !== 'n1') continue;
      expect((await post(`${n1.url}/mu/`, item.raw)).status).toBe(202);
      p = item.id;
    }
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const item = await messageItem(p, user, [{ name: 'Action', value: 'Eval' }], `return ${i}`);
      expect((await post(`${n1.url}/mu/`, item.raw)).status).toBe(202);
      await n1.mu.store.settled(item.id);
      ids.push(item.id);
    }
    expect(n2.su.log.item(ids[0]!)).toBeUndefined();

    const fromOwner = await reads(n1, p, ids);
    for (const r of [...fromOwner.byId, ...fromOwner.raw, ...fromOwner.results, ...fromOwner.transaction]) expect(r.status, r.body).toBe(200);
    expect(JSON.parse(fromOwner.transactions.body).data.transactions.edges).toHaveLength(4);
    expect(await reads(n2, p, ids)).toEqual(fromOwner);

    // The owner goes; it comes back with nothing on disk.
    running.delete(n1);
    await n1.stop();
    expect(await reads(n2, p, ids)).toEqual(fromOwner);
    n1 = await start('n1');
    await n1.node.connect('n2');
    await n2.node.connect('n1');
    expect(await reads(n1, p, ids)).toEqual(fromOwner);
    expect(await reads(n2, p, ids)).toEqual(fromOwner);
  }, 120_000);
});
