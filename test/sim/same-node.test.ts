/**
 * The simulation runs the node `aotp start` runs (both are composed by supervisors/node.ts):
 * the same named actors under the root, the same routes. A one-node world's node and a real
 * node (LMDB in a temp dir, a socket on a free port) are compared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import type { SimNode } from '../../sim/node.js';
import { World } from '../../sim/world.js';

const PATHS = ['/', '/info', '/observer', '/metrics', '/su', '/mu', '/cu/state/x', '/graphql', '/no-such-route'];

it('a simulated node runs the actors and serves the routes of a node started by aotp start', async () => {
  const w = new World({ seed: 1, nodes: 1 });
  w.install();
  let sim: SimNode | undefined;
  try {
    void w.start('n1').then((n) => (sim = n));
    await w.sched.run({ stop: () => sim !== undefined });
  } finally {
    w.uninstall();
  }
  const simActors = sim!.node.actors().flatMap((a) => (a.name ? [a.name] : [])).sort();
  const simRoutes = await Promise.all(PATHS.map(async (p) => (await sim!.request('GET', p)).status));
  const dir = mkdtempSync(join(tmpdir(), 'aotp-same-node-'));
  const real = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent' }, {}));
  try {
    const realActors = real.node.actors().flatMap((a) => (a.name ? [a.name] : [])).sort();
    const realRoutes = await Promise.all(PATHS.map(async (p) => (await fetch(`${real.url}${p}`)).status));
    expect(simActors).toEqual(realActors);
    expect(simActors).toEqual(expect.arrayContaining(['root', 'node/status', 'node/policy', 'http', 'su.sequencers', 'sec/origin']));
    expect(simRoutes).toEqual(realRoutes);
  } finally {
    await real.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
