/**
 * /health/live and /health/ready tell the truth, on a node of a real three-server NATS cluster:
 * readiness fails while draining, when JetStream loses its quorum (NATS still up), when every
 * NATS server is gone, and when the node's LMDB environment cannot be written; liveness answers
 * through all of it. `/health` answers as readiness does.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';
import { until } from '../cluster/support.js';
import { tempDir } from '../units/cu/support/harness.js';

let nats: NatsClusterHandle;
let n: RunningNode;
const dir = tempDir('aotp-health-');

beforeAll(async () => {
  nats = await startNatsCluster(3, { jetstream: true });
  n = await startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent', nodeName: 'h1', nats: { servers: nats.urls, heartbeatMs: 200, replicas: 3 } }, {}));
}, 60_000);
afterAll(async () => {
  await n?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Ready = { ready: boolean; reasons: string[]; checks: Record<string, { ok: boolean; detail?: string }> };
const get = async (path: string) => {
  const r = await fetch(`${n.url}${path}`);
  return { status: r.status, body: (await r.json()) as Ready & { live?: boolean } };
};
/** Polls readiness until `cond` holds; returns that answer. */
async function readyWhen(cond: (r: { status: number; body: Ready }) => boolean, timeoutMs = 30_000) {
  let last: { status: number; body: Ready } | undefined;
  await until(async () => cond((last = await get('/health/ready'))), timeoutMs, 200).catch((e) => {
    throw new Error(`${(e as Error).message}; last answer ${JSON.stringify(last)}`);
  });
  return last!;
}

describe('health', () => {
  it('a healthy node is live and ready, and /health says the same as /health/ready', async () => {
    const live = await get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.live).toBe(true);
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual(['jetstream', 'lifecycle', 'nats', 'store']);
    const compat = await get('/health');
    expect(compat.status).toBe(200);
    expect(compat.body.ready).toBe(true);
  });

  it('draining: not ready, still live', async () => {
    n.node.setDraining(true);
    const r = await get('/health/ready');
    expect(r.status).toBe(503);
    expect(r.body.reasons.join()).toMatch(/lifecycle: draining/);
    expect((await get('/health/live')).status).toBe(200);
    n.node.setDraining(false);
    expect((await get('/health/ready')).status).toBe(200);
  });

  it('JetStream without a quorum (two of three servers killed): not ready for jetstream while NATS is up', async () => {
    await nats.servers[0]!.kill();
    await nats.servers[1]!.kill();
    const r = await readyWhen((x) => x.status === 503 && x.body.checks.nats!.ok && !x.body.checks.jetstream!.ok);
    expect(r.body.reasons.join()).toMatch(/^jetstream: /);
    expect((await get('/health/live')).status).toBe(200);
  }, 60_000);

  it('every NATS server gone: not ready for nats; all back: ready again', async () => {
    await nats.servers[2]!.kill();
    const r = await readyWhen((x) => x.status === 503 && !x.body.checks.nats!.ok);
    expect(r.body.reasons.join()).toMatch(/nats: disconnected/);
    expect((await get('/health/live')).status).toBe(200);
    await Promise.all(nats.servers.map((s) => s.restart()));
    await readyWhen((x) => x.status === 200, 60_000);
  }, 120_000);

  it('a store it cannot write: not ready for store', async () => {
    await n.store.close();
    const r = await readyWhen((x) => x.status === 503 && !x.body.checks.store!.ok);
    expect(r.body.checks.store!.detail).toMatch(/closed/);
    expect((await get('/health/live')).status).toBe(200);
  }, 30_000);
});
