/**
 * The observer in a real headless Chromium, on two real nodes over a real nats-server: the page
 * shows both members, each node's supervision tree and its AO processes, updates live (a drain
 * and a kill show up without a reload), and kills an actor from a button when chaos is on —
 * the actor really dies (its pid is gone from its node) and its supervisor restarts it.
 * `aotp status --tree` prints the same tree. A screenshot is kept in test-artifacts/.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { clusterTree, formatTree } from '../../cli/status.js';
import { loadConfig } from '../../config/load.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { clusterWallets, type ClusterWallets } from '../support/aotp-cluster.js';
import { launchChromium } from '../support/chromium.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';
import { until } from '../cluster/support.js';

const ARTIFACTS = 'test-artifacts';
let nats: NatsServerHandle;
let wallets: ClusterWallets;
let user: Wallet;
let browser: Browser;
const nodes: RunningNode[] = [];
const dirs: string[] = [];
const processes: string[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
  for (const name of ['n1', 'n2']) {
    const dir = tempDir(`aotp-observer-${name}-`);
    dirs.push(dir);
    nodes.push(
      await startNode(
        loadConfig(
          {
            dataDir: dir,
            port: 0,
            logLevel: 'silent',
            nodeName: name,
            chaos: true,
            nats: { servers: [nats.url], heartbeatMs: 200 },
            su: { wallet: join(wallets.dir, 'su.json'), idleMs: 0 },
            mu: { wallet: join(wallets.dir, 'mu.json') },
            cu: { wallet: join(wallets.dir, 'cu.json') },
          },
          {},
        ),
      ),
    );
  }
  await nodes[0]!.node.connect('n2');
  await nodes[1]!.node.connect('n1');
  // AO processes on both nodes (each owner runs its sequencer).
  for (let i = 0; i < 6; i++) {
    const item = await createDataItem(
      {
        data: '',
        anchor: randomBytes(32),
        tags: [
          { name: 'Data-Protocol', value: 'ao' },
          { name: 'Type', value: 'Process' },
          { name: 'Module', value: randomBytes(32).toString('base64url') },
          { name: 'Scheduler', value: wallets.su.address },
        ],
      },
      user,
    );
    const r = await fetch(`${nodes[0]!.url}/su/`, { method: 'POST', body: Buffer.from(item.raw) });
    expect(r.status).toBe(200);
    processes.push(item.id);
  }
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  for (const n of nodes) await n.stop();
  await nats?.stop();
  for (const d of [...dirs, wallets?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('the observer', () => {
  it('shows the cluster live in a browser, and kills an actor from the page', async () => {
    const [n1, n2] = nodes as [RunningNode, RunningNode];
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${n1.url}/observer`);

    // Both members, both trees, every process with its owner (from the live feed, not a reload).
    await page.locator('tr[data-member="n1"][data-state="up"]').waitFor();
    await page.locator('tr[data-member="n2"][data-state="up"]').waitFor();
    for (const name of ['n1', 'n2']) {
      const section = page.locator(`section[data-node="${name}"]`);
      await section.locator('li[data-actor="root"]').first().waitFor();
      await expect(section.locator('li[data-actor="su.sequencers"]').count()).resolves.toBe(1);
      await expect(section.locator('li[data-actor="node/status"] [data-field="handled"]').textContent()).resolves.toMatch(/^handled \d+$/);
    }
    for (const p of processes) {
      const where = owner(p, ['n1', 'n2'])!;
      const row = page.locator(`section[data-node="${where}"] tr[data-process="${p}"]`);
      await row.waitFor();
      await expect(row.locator('td').nth(1).textContent()).resolves.toBe(where);
      await expect(row.locator('td').nth(2).textContent()).resolves.toBe('0'); // the SU slot of a fresh process
    }

    // Kill a sequencer on n2 from the page: it dies for real, and its supervisor restarts it.
    const victim = processes.find((p) => owner(p, ['n1', 'n2']) === 'n2')!;
    const item = page.locator(`section[data-node="n2"] li[data-actor="su/${victim}"]`);
    const oldPid = (await item.getAttribute('data-pid'))!;
    expect(n2.node.actors().some((a) => a.pid.key === oldPid)).toBe(true);
    await item.locator(':scope > .actor button.kill').click();
    await until(async () => (await page.locator('#flash').textContent()) !== '', 10_000);
    expect(await page.locator('#flash').textContent()).toBe(`killed su/${victim} on n2`);
    expect(n2.node.actors().some((a) => a.pid.key === oldPid)).toBe(false);
    await until(async () => {
      const pid = await item.getAttribute('data-pid').catch(() => null);
      return pid !== null && pid !== oldPid;
    }, 10_000);
    await expect(item.locator(':scope > .actor [data-field="restarts"]').textContent()).resolves.toBe('restarts 1');
    await expect(page.locator('section[data-node="n2"] ol.crashes').textContent()).resolves.toContain(`su/${victim}: killed`);
    await expect(page.locator('section[data-node="n1"] h2').textContent()).resolves.toContain('chaos on');

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'observer.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    // A drain shows up without a reload (it hands n2's processes to n1, so it comes last).
    n2.node.setDraining(true);
    await page.locator('tr[data-member="n2"][data-state="draining"]').waitFor();
    n2.node.setDraining(false);
    await page.locator('tr[data-member="n2"][data-state="up"]').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('answers a kill of an actor that is not there 404, and a request without node and pid 400', async () => {
    const r = await fetch(`${nodes[0]!.url}/observer/kill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ node: 'n2', pid: 'nobody' }) });
    expect(r.status).toBe(404); // chaos on, but no such actor
    const bad = await fetch(`${nodes[0]!.url}/observer/kill`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(400);
  });

  it('aotp status --tree prints the same tree in a terminal', async () => {
    const v = await clusterTree({ servers: [nats.url], waitMs: 600 });
    expect(v.nodes.map((n) => n.node).sort()).toEqual(['n1', 'n2']);
    const text = formatTree(v);
    expect(text).toMatch(/^n1 {2}up {2}\d+ actors {2}chaos on$/m);
    expect(text).toMatch(/^ {4}su\.sequencers {2}supervisor {2}waiting {2}mailbox 0 {2}handled \d+ {2}restarts \d+ {2}up \d+s$/m);
    // n1's sequencers run (n2's stopped when it drained; they start again on demand).
    for (const p of processes.filter((x) => owner(x, ['n1', 'n2']) === 'n1')) expect(text).toContain(`    ${p}  n1  0  -  -  -  0`);
    const child = spawn(process.execPath, ['bin/aotp.js', 'status', '--tree', '--nats', nats.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    expect((await once(child, 'exit'))[0]).toBe(0);
    expect(out).toMatch(/^n2 {2}up /m);
    expect(out).toContain('su.sequencers');
  }, 60_000);
});
