/**
 * CU checkpoints and results are shared through JetStream: the next owner of a process (its
 * owner gone, then back with an empty data dir) starts from the newest checkpoint any node
 * made, evaluates nothing again, and answers the same results and state.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import type { SharedCuStore } from '../../units/cluster/cu-shared.js';
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
  const dir = tempDir(`aotp-cushared-${name}-`);
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

async function stop(n: RunningNode): Promise<void> {
  running.delete(n);
  await n.stop();
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = tempDir('aotp-cushared-wallets-');
  dirs.push(wallets);
  for (const unit of ['su', 'mu', 'cu']) writeFileSync(join(wallets, `${unit}.json`), JSON.stringify((await generateWallet('ed25519')).key));
  user = await generateWallet('ed25519');
});
afterAll(async () => {
  for (const n of running) await n.stop().catch(() => undefined);
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const result = async (n: RunningNode, processId: string, id: string) => {
  const r = await fetch(`${n.url}/cu/result/${id}?process-id=${processId}`);
  expect(r.status).toBe(200);
  return r.json();
};

/** The process's Counter, by a dry-run through `n`; a 503 (an owner still taking over) is asked again. */
const counter = async (n: RunningNode, processId: string) => {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await fetch(`${n.url}/cu/dry-run?process-id=${processId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Target: processId, Owner: user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'return Counter' }),
    });
    if (r.status === 200) return String(((await r.json()) as { Output?: { data?: unknown } }).Output?.data ?? '').trim();
    expect(r.status, await r.text()).toBe(503);
    if (Date.now() > end) throw new Error('the owner did not answer within 30 s');
    await new Promise((res) => setTimeout(res, 100));
  }
};

describe('shared checkpoints and results', () => {
  it('a new owner, and then the old one back with an empty disk, hydrate from the shared checkpoint and evaluate nothing again', async () => {
    let n1 = await start('n1');
    const n2 = await start('n2');
    await n1.node.connect('n2');
    await n2.node.connect('n1');

    let p = '';
    while (!p) {
      const item = await spawnItem(n2, user);
      if (owner(item.id, ['n1', 'n2']) !== 'n1') continue;
      expect((await post(`${n2.url}/mu/`, item.raw)).status).toBe(202);
      p = item.id;
    }
    const ids: string[] = [];
    const evalOnce = async () => {
      const item = await messageItem(p, user, [{ name: 'Action', value: 'Eval' }], 'Counter = (Counter or 0) + 1; return Counter');
      expect((await post(`${n1.url}/mu/`, item.raw)).status).toBe(202);
      await n1.mu.store.settled(item.id);
      ids.push(item.id);
    };
    for (let i = 0; i < 5; i++) await evalOnce();
    // A checkpoint after the fifth, shared; then two more messages with results only.
    const cp = await n1.cu.api(n1.node).checkpoint(p);
    expect(cp?.slot).toBe(5);
    const n1Store = n1.cu.runtime.store as SharedCuStore;
    await n1Store.sharesSettled();
    for (let i = 0; i < 2; i++) await evalOnce();
    const before = await Promise.all(ids.map((id) => result(n2, p, id)));
    expect(await counter(n2, p)).toBe('7');
    await n1Store.sharesSettled();

    // n1 goes away: n2 owns p now, and has nothing of it but what the cluster shares.
    await stop(n1);
    expect(n2.cu.runtime.store.checkpointSlots(p)).toEqual([]);
    expect(await counter(n2, p)).toBe('7');
    const at2 = await n2.cu.api(n2.node).status(p);
    expect(at2.stats.restores).toBe(1);
    expect(at2.stats.evaluated).toBe(0);
    expect(at2.lastCheckpoint.slot).toBeGreaterThanOrEqual(5);
    for (const [i, id] of ids.entries()) expect(await result(n2, p, id)).toEqual(before[i]);

    // n1 comes back with an empty data dir, and owns p again.
    n1 = await start('n1');
    await n1.node.connect('n2');
    await n2.node.connect('n1');
    expect(n1.cu.runtime.store.checkpointSlots(p)).toEqual([]);
    expect(await counter(n1, p)).toBe('7');
    const at1 = await n1.cu.api(n1.node).status(p);
    expect(at1.stats.restores).toBe(1);
    expect(at1.stats.evaluated).toBe(0);
    for (const n of [n1, n2]) for (const [i, id] of ids.entries()) expect(await result(n, p, id)).toEqual(before[i]);
  }, 120_000);
});
