/**
 * The node's resources are owned by actors of its tree (runtime/resource-owner.ts): the LMDB
 * environment is closed by its owner once every unit has stopped, and a NATS connection closed
 * for good ends the node through its tree (the root exits with the reason) instead of leaving a
 * node that answers HTTP but is no member of anything. Real nats-server (killed by pid), real LMDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { formatReason, whichChildren, type ChildInfo, type Pid } from '../../runtime/index.js';
import { clusterWallets, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const dirs: string[] = [];
let wallets: ClusterWallets;
beforeAll(async () => {
  wallets = await clusterWallets();
  dirs.push(wallets.dir);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function config(nodeName: string, extra: Record<string, unknown> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), `aotp-resources-${nodeName}-`));
  dirs.push(dataDir);
  return loadConfig(
    {
      dataDir,
      port: 0,
      logLevel: 'silent',
      nodeName,
      su: { wallet: join(wallets.dir, 'su.json') },
      mu: { wallet: join(wallets.dir, 'mu.json') },
      cu: { wallet: join(wallets.dir, 'cu.json') },
      ...extra,
    },
    {},
  );
}

describe('the LMDB environment', () => {
  it('is owned by the first child of the root: a killed owner leaves it open and is restarted; an orderly stop closes it last', async () => {
    const n = await startNode(config('lmdb'));
    try {
      const children = (await whichChildren(n.node, n.root)) as ChildInfo[];
      // Newest first: the owner is the oldest child, so it stops after every unit.
      expect(children[children.length - 1]!.id).toBe('lmdb');
      const owner = children[children.length - 1]!.child as Pid;
      // Killed, it does not close what the units still use; the tree starts it again.
      n.node.exit(owner, 'kill');
      await expect.poll(async () => ((await whichChildren(n.node, n.root)) as ChildInfo[]).find((c) => c.id === 'lmdb')?.child, { timeout: 10_000 }).not.toEqual(owner);
      expect(n.store.closed).toBe(false);
      const health = await fetch(`${n.url}/health/ready`);
      expect(health.status).toBe(200);
      // The tree's orderly stop closes it (not the runner: `release` has not run yet).
      await n.node.stop(10_000);
      expect(n.store.closed).toBe(true);
    } finally {
      await n.stop();
    }
  });
});

describe('the NATS connection', () => {
  let nats: NatsServerHandle;
  let n: RunningNode | undefined;
  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true, args: ['--auth', 'token-one'] });
  });
  afterAll(async () => {
    await n?.stop().catch(() => undefined);
    await nats.stop();
  });

  it('closed for good (credentials rotated under it) ends the node through its tree, with the reason', async () => {
    n = await startNode(config('bus', { nats: { servers: [nats.url], token: 'token-one', replicas: 1, heartbeatMs: 200 } }));
    let exitedWith: unknown;
    void n.exited.then((r) => (exitedWith = r));
    // The server comes back with other credentials: nats.js stops reconnecting after repeated
    // authorization errors and closes the connection; nothing can make it a member again.
    await nats.kill();
    await nats.restart(['--auth', 'token-two']);
    const reason = await Promise.race([n.exited, new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000).unref())]);
    expect(formatReason(reason)).not.toBe('still running after 30 s');
    expect(exitedWith).toBeDefined();
    // The root gave up because its `nats` child could not run without the connection.
    expect(formatReason(reason)).toMatch(/shutdown|nats/);
    expect(n.node.whereis('root')).toBeUndefined();
  }, 60_000);
});
