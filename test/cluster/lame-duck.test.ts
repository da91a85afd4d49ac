/**
 * SIGTERM on a clustered node (a real aotp process on a real nats-server): a lame-duck drain.
 * It stops taking new work (readiness and POSTs 503) while still answering HTTP, hands its
 * process logs over (leases released, so the new owner takes them at once, not after the lease
 * time), then stops and exits 0 within its drain and shutdown times.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCluster } from '../../cli/verify.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { allMembers, clusterWallets, killAotp, startAotpNode, type AotpProcess, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const LEASE_MS = 30_000; // far longer than the test allows a handover: only a release explains one
const DRAIN_MS = 10_000;
const SHUTDOWN_MS = 2000;

let nats: NatsServerHandle;
let wallets: ClusterWallets;
let user: Wallet;
const nodes: AotpProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = await clusterWallets();
  user = await generateWallet('ed25519');
  for (const name of ['n1', 'n2']) {
    nodes.push(
      await startAotpNode({
        name,
        servers: [nats.url],
        wallets,
        keepOutput: true,
        config: { drainMs: DRAIN_MS, shutdownMs: SHUTDOWN_MS, nats: { replicas: 1, heartbeatMs: 200, downAfterMs: 1000, leaseTtlMs: LEASE_MS } },
      }),
    );
  }
  await allMembers(nodes, 2);
}, 60_000);
afterAll(async () => {
  for (const n of nodes) await killAotp(n);
  await nats?.stop();
  for (const d of [wallets?.dir, ...nodes.map((n) => n.dataDir)]) if (d) rmSync(d, { recursive: true, force: true });
});

const post = async (url: string, raw: Uint8Array) => {
  try {
    const r = await fetch(`${url}/su/`, { method: 'POST', body: Buffer.from(raw), signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
};
const status = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    async (r) => (await r.arrayBuffer(), r.status),
    () => 0,
  );
const message = (target: string) =>
  createDataItem({ data: 'm', target, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }, user);

describe('SIGTERM on a clustered node', () => {
  it('drains as a lame duck, hands its process logs over, and exits 0 in time', async () => {
    const [n1, n2] = nodes as [AotpProcess, AotpProcess];
    const processes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const spawn = await createDataItem(
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
      expect((await post(n1.url, spawn.raw)).status).toBe(200);
      processes.push(spawn.id);
    }
    const moved = processes.filter((p) => owner(p, ['n1', 'n2']) === 'n2');
    expect(moved.length).toBeGreaterThan(0);

    // What clients of n2 see from the signal until it is gone.
    const seen = { ready503: 0, post503: [] as string[], root200: 0 };
    let exited = false;
    const watching = (async () => {
      while (!exited) {
        const [ready, root, p] = await Promise.all([status(`${n2.url}/health/ready`), status(`${n2.url}/`), message(moved[0]!).then((m) => post(n2.url, m.raw))]);
        if (exited) break;
        if (ready === 503) seen.ready503++;
        if (root === 200) seen.root200++;
        if (p.status === 503) seen.post503.push(p.body);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = Date.now();
    n2.child.kill('SIGTERM');
    const [code] = (await n2.exited) as [number];
    const stopMs = Date.now() - t0;
    exited = true;
    await watching;
    nodes.splice(1, 1);

    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(DRAIN_MS + 2 * SHUTDOWN_MS);
    expect(seen.ready503).toBeGreaterThan(0);
    expect(seen.root200).toBeGreaterThan(0);
    expect(seen.post503.length).toBeGreaterThan(0);
    expect(JSON.parse(seen.post503[0]!).error).toBe('node n2 is stopping: send new work to another node');
    const out = n2.output();
    const drained = out.indexOf('"msg":"drained in');
    expect(out).toMatch(new RegExp(`draining: no new work; handing over ${moved.length} process log\\(s\\)`));
    expect(drained).toBeGreaterThan(0);
    expect(out.indexOf('"msg":"stopped"')).toBeGreaterThan(drained);

    // The leases were released: n1 takes every moved process at once, not after LEASE_MS.
    const t1 = Date.now();
    for (const p of moved) {
      const m = await message(p);
      let r = await post(n1.url, m.raw);
      while (r.status !== 200 && Date.now() - t1 < 5000) r = await post(n1.url, m.raw);
      expect(r.status, r.body).toBe(200);
    }
    console.log(`SIGTERM to exit: ${stopMs} ms; ${moved.length} process logs taken over by n1 within ${Date.now() - t1} ms of the exit`);
    expect(Date.now() - t1).toBeLessThan(5000);
    const v = await verifyCluster({ servers: [nats.url] });
    expect(v.processes).toBe(processes.length);
    expect(v.violations).toBe(0);
  }, 90_000);
});
