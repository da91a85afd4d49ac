/**
 * `aotp chaos` against real nodes on a real nats-server: the faults it reports are faults that
 * happened. Killed sequencers are gone from their node (and come back under their supervisor),
 * a paused node really loses its peers, and a node that refuses chaos makes the run fail.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosVerdict, runChaos } from '../../cli/chaos.js';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { clusterWallets, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';

let nats: NatsServerHandle;
let wallets: ClusterWallets;
let user: Wallet;
const nodes: RunningNode[] = [];
const dirs: string[] = [];

async function node(name: string, cluster: string, chaos: boolean): Promise<RunningNode> {
  const dir = tempDir(`aotp-chaos-${name}-`);
  dirs.push(dir);
  const n = await startNode(
    loadConfig(
      {
        dataDir: dir,
        port: 0,
        logLevel: 'silent',
        nodeName: name,
        chaos,
        nats: { servers: [nats.url], cluster, heartbeatMs: 100, downAfterMs: 400, replicas: 1, leaseTtlMs: 2000 },
        su: { wallet: join(wallets.dir, 'su.json'), idleMs: 0, callTimeoutMs: 5000 },
        mu: { wallet: join(wallets.dir, 'mu.json') },
        cu: { wallet: join(wallets.dir, 'cu.json') },
      },
      {},
    ),
  );
  nodes.push(n);
  return n;
}

async function post(url: string, raw: Uint8Array): Promise<number> {
  const r = await fetch(`${url}/su/`, { method: 'POST', body: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' } });
  await r.arrayBuffer();
  return r.status;
}

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
});
afterAll(async () => {
  for (const n of nodes) await n.stop();
  await nats?.stop();
  for (const d of [...dirs, wallets?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('aotp chaos', () => {
  it('kills actors and pauses nodes for real, counts only what happened, and the logs stay whole', async () => {
    const [n1, n2] = [await node('n1', 'aotp', true), await node('n2', 'aotp', true)];
    await n1.node.connect('n2');
    await n2.node.connect('n1');
    // Processes, so that each node runs sequencers (su/<process>) to kill.
    const processes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const spawnItem = await createDataItem(
        {
          data: '',
          anchor: randomBytes(32),
          tags: [
            { name: 'Data-Protocol', value: 'ao' },
            { name: 'Variant', value: 'ao.TN.1' },
            { name: 'Type', value: 'Process' },
            { name: 'Module', value: randomBytes(32).toString('base64url') },
            { name: 'Scheduler', value: wallets.su.address },
          ],
        },
        user,
      );
      expect(await post(n1.url, spawnItem.raw)).toBe(200);
      processes.push(spawnItem.id);
    }
    const sequencers = (n: RunningNode) => n.node.actors().filter((a) => a.name?.startsWith('su/'));
    expect(sequencers(n1).length + sequencers(n2).length).toBe(processes.length);
    // The cluster's metrics: leases held are the sequencers, every spawn went through the stream.
    let appends = 0;
    for (const n of [n1, n2]) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      const sample = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(sample('aotp_leases_held')).toBe(sequencers(n).length);
      expect(sample('aotp_members{state="up"}')).toBe(2);
      appends += sample('aotp_stream_append_seconds_count');
    }
    expect(appends).toBeGreaterThanOrEqual(processes.length);

    // Watch from inside the nodes whether a pause cut them off their peer.
    const sawAlone = new Set<string>();
    const watch = setInterval(() => {
      for (const n of [n1, n2]) if (n.node.members().length === 1) sawAlone.add(n.node.name);
    }, 20);
    const report = await runChaos({ servers: [nats.url], seed: 11, durationMs: 3000, killRate: 3, killPattern: '^su/', pauseRate: 1, pauseMs: 700 }).finally(() => clearInterval(watch));

    expect(report.failed).toEqual([]);
    expect(report.applied.actorsKilled).toBeGreaterThan(0);
    expect(report.applied.pauses).toBeGreaterThan(0);
    // Every pid reported killed is dead on its node (pids are never reused).
    const byName = new Map(nodes.map((n) => [n.node.name, n]));
    for (const a of report.actions.filter((x) => x.outcome === 'applied' && x.kind === 'kill-actors')) {
      const live = new Set(byName.get(a.node)!.node.actors().map((x) => x.pid.key));
      for (const k of a.killed!) expect(live.has(k.pid)).toBe(false);
    }
    // Each paused node lost its peer for a while.
    for (const a of report.actions.filter((x) => x.kind === 'pause-bus')) expect(sawAlone).toContain(a.node);
    expect(chaosVerdict(report).ok).toBe(true);
    expect(report.verdict!.processes).toBe(processes.length);
    expect(report.verdict!.violations).toBe(0);

    // The killed sequencers were restarted by their supervisor: every process takes messages again.
    for (const p of processes) {
      const m = await createDataItem({ data: 'after', target: p, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }, user);
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await post(i % 2 ? n1.url : n2.url, m.raw);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    }
  }, 60_000);

  it('fails (exit 1, the reason on stderr) when the nodes refuse chaos', async () => {
    const q = await node('q1', 'quiet', false);
    const child = spawn(
      process.execPath,
      ['bin/aotp.js', 'chaos', '--nats', nats.url, '--cluster', 'quiet', '--seed', '3', '--duration-ms', '1500', '--kill-rate', '5', '--pause-rate', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    expect(code, out + err).toBe(1);
    expect(err).toContain(`chaos requests are off on ${q.node.name}`);
    expect(err).toMatch(/applied: 0 actor kill/);
    expect(err).toContain('no fault was applied');
  }, 30_000);
});
