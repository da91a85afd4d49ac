/**
 * A takeover is a transient state, never a final answer. Two nodes on one NATS server: a
 * process owned by n2 moves to n1 when n2 stops. n1's LMDB does not have it yet; its sequencer,
 * once started, claims the log and catches up from the stream. While that sequencer's name is
 * registered but its init is still claiming, the MU's lookup, the SU's reads and a push through
 * n1 must answer as for a live process (the lookup once answered `undefined` there, and the MU
 * said 400 "Process not found").
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
const nodes: RunningNode[] = [];
const dirs: string[] = [];
let user: Wallet;

async function start(name: string, wallets: string): Promise<RunningNode> {
  const dir = tempDir(`aotp-takeover-${name}-`);
  dirs.push(dir);
  return startNode(
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
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  const wallets = tempDir('aotp-takeover-wallets-');
  dirs.push(wallets);
  for (const unit of ['su', 'mu', 'cu']) writeFileSync(join(wallets, `${unit}.json`), JSON.stringify((await generateWallet('ed25519')).key));
  nodes.push(await start('n1', wallets), await start('n2', wallets));
  await nodes[0]!.node.connect('n2');
  await nodes[1]!.node.connect('n1');
  user = await generateWallet('ed25519');
});
afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Resolves on the first turn of the event loop at which `cond()` holds. */
async function whenever(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not seen within ${timeoutMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('reads and lookups during a takeover', () => {
  it('a process whose new owner is still claiming its log is found, read and pushed to through that owner', async () => {
    const [n1, n2] = nodes as [RunningNode, RunningNode];
    // Processes owned by n2, spawned (and messaged once) through n1.
    const processes: string[] = [];
    while (processes.length < 3) {
      const item = await spawnItem(n1, user);
      if (owner(item.id, ['n1', 'n2']) !== 'n2') continue;
      expect((await post(`${n1.url}/mu/`, item.raw)).status).toBe(202);
      processes.push(item.id);
    }
    for (const p of processes) expect(n1.su.reader.processSync(p)).toBeUndefined();

    // n2 stops (its leases are released): n1 owns them now, and its LMDB has none of them.
    await n2.stop();
    nodes.pop();
    await whenever(() => !n1.node.members().includes('n2'), 10_000);

    for (const p of processes) {
      // A message through the SU starts the sequencer; its name is registered at once, its
      // init then claims the lease, fences the log and catches up over NATS.
      const first = await messageItem(p, user, [{ name: 'Action', value: 'Eval' }], 'return 1');
      const scheduling = post(`${n1.url}/su/`, first.raw);
      await whenever(() => n1.node.whereis(`su/${p}`) !== undefined, 10_000);
      expect(n1.su.reader.processSync(p)).toBeUndefined(); // still taking over

      // What the MU looks up, what clients read, and a push, all in that window.
      const item = await messageItem(p, user, [{ name: 'Action', value: 'Eval' }], 'return 2');
      const [tags, proc, page, pushed] = await Promise.all([
        n1.mu.runtime.scheduler.processTags(p),
        fetch(`${n1.url}/su/processes/${p}`),
        fetch(`${n1.url}/su/${p}`),
        post(`${n1.url}/mu/`, item.raw),
      ]);
      expect(tags?.find((t) => t.name === 'Type')?.value).toBe('Process');
      expect(proc.status).toBe(200);
      expect(page.status).toBe(200);
      expect(((await page.json()) as { edges: unknown[] }).edges.length).toBeGreaterThanOrEqual(1);
      expect(pushed.status, await pushed.text()).toBe(202);
      expect((await scheduling).status).toBe(200);
      const jobs = await n1.mu.store.settled(item.id);
      expect(jobs.find((j) => j.id === item.id)?.stage).toBe('done');
    }
  }, 60_000);
});
