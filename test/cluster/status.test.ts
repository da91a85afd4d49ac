/** `aotp status`: an observer on the bus lists the members and what each runs. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStatus, formatStatus } from '../../cli/status.js';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { clusterWallets } from '../support/aotp-cluster.js';
import { join } from 'node:path';
import { tempDir } from '../units/cu/support/harness.js';

let nats: NatsServerHandle;
const nodes: RunningNode[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  const wallets = await clusterWallets();
  dirs.push(wallets.dir);
  const shared = { su: { wallet: join(wallets.dir, 'su.json') }, mu: { wallet: join(wallets.dir, 'mu.json') }, cu: { wallet: join(wallets.dir, 'cu.json') } };
  for (const name of ['n1', 'n2']) {
    const dir = tempDir(`aotp-status-${name}-`);
    dirs.push(dir);
    nodes.push(await startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent', nodeName: name, nats: { servers: [nats.url], heartbeatMs: 200, replicas: 1 }, ...shared }, {})));
  }
  await nodes[0]!.node.connect('n2');
});
afterAll(async () => {
  for (const n of nodes) await n.stop();
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('aotp status', () => {
  it('lists every member and the actors each runs, without becoming a member', async () => {
    const s = await clusterStatus({ servers: [nats.url], waitMs: 600 });
    expect(s.members.map((m) => m.node)).toEqual(['n1', 'n2']);
    for (const m of s.members) {
      if ('error' in m) throw new Error(m.error);
      const names = m.actors.map((a) => a.name);
      expect(names).toEqual(expect.arrayContaining(['root', 'node/status', 'su.sequencers', 'mu.jobs', 'http']));
      expect(m.actors.every((a) => a.pid.includes(m.node))).toBe(true);
    }
    // The observer came and went without joining anyone's member list.
    expect(nodes[0]!.node.members().sort()).toEqual(['n1', 'n2']);
    expect(formatStatus(s)).toMatch(/^2 member\(s\): n1, n2/);
  });
});
