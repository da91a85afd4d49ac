/**
 * Identity mistakes are refused at start, before the node joins or creates anything: a second
 * node with a running node's name, a node without the cluster's wallets (or with others), a
 * data dir of another cluster. `aotp init` writes what the nodes of a cluster share.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartError } from '../../cli/preflight.js';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { clusterWallets, type ClusterWallets } from '../support/aotp-cluster.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';

let nats: NatsServerHandle;
let wallets: ClusterWallets;
const running: RunningNode[] = [];
const dirs: string[] = [];
const lines: { node?: string; msg: string; level: number }[] = [];

const dir = (p: string) => {
  const d = tempDir(p);
  dirs.push(d);
  return d;
};
const shared = () => ({ su: { wallet: join(wallets.dir, 'su.json') }, mu: { wallet: join(wallets.dir, 'mu.json') }, cu: { wallet: join(wallets.dir, 'cu.json') } });
const config = (name: string, extra: Record<string, unknown> = {}) =>
  loadConfig({ dataDir: dir(`aotp-id-${name}-`), port: 0, logLevel: 'silent', nodeName: name, nats: { servers: [nats.url], heartbeatMs: 200 }, ...extra }, {});

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  wallets = await clusterWallets();
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  for (const name of ['n1', 'n2']) running.push(await startNode(config(name, shared()), logger));
  await running[0]!.node.connect('n2');
});
afterAll(async () => {
  for (const n of running) await n.stop();
  await nats?.stop();
  for (const d of [...dirs, wallets?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

const refused = (c: ReturnType<typeof config>) =>
  startNode(c).then(
    (n) => {
      running.push(n);
      throw new Error(`${c.nodeName} started`);
    },
    (e: unknown) => e as Error,
  );

describe('identity checks at start', () => {
  it('nats.replicas defaults to the servers the cluster reports (one here)', async () => {
    const info = await (await fetch(`${running[0]!.url}/health/ready`)).json();
    expect(info.ready).toBe(true);
  });

  it('a second node with a running node\'s name is refused, and the running one is not disturbed', async () => {
    const from = lines.length;
    const c = config('n1', shared());
    const e = await refused(c);
    expect(e).toBeInstanceOf(StartError);
    expect(e.message).toBe(`a node named n1 is already running in cluster aotp (on NATS ${nats.url}): give this node another name (nodeName, --node-name)`);
    expect(readdirSync(c.dataDir)).toEqual([]);
    await new Promise((r) => setTimeout(r, 800)); // a few heartbeats
    expect(lines.slice(from).filter((l) => /member left|node down/.test(l.msg))).toEqual([]);
    expect(running[1]!.node.members().sort()).toEqual(['n1', 'n2']);
  });

  it('a node without the cluster\'s wallets is refused, and makes none', async () => {
    const c = config('n3');
    const e = await refused(c);
    expect(e).toBeInstanceOf(StartError);
    expect(e.message).toMatch(/^this node has no SU wallet, and cluster aotp runs with SU address [\w-]{43}: give it the cluster's wallet file \(su\.wallet\), as aotp init writes them$/);
    expect(readdirSync(c.dataDir)).toEqual([]);
  });

  it('a node with another MU wallet is refused', async () => {
    const other = await clusterWallets();
    dirs.push(other.dir);
    const e = await refused(config('n3', { ...shared(), mu: { wallet: join(other.dir, 'mu.json') } }));
    expect(e.message).toMatch(/^this node's MU wallet \(.*mu\.json, address [\w-]{43}\) is not cluster aotp's \(MU address [\w-]{43}, recorded by n1\)/);
  });

  it('a data dir of another cluster is refused', async () => {
    const c = loadConfig({ dataDir: running[1]!.store.path.replace(/\/lmdb$/, ''), port: 0, nodeName: 'n2', nats: { servers: [nats.url], cluster: 'other' }, ...shared() }, {});
    const e = await refused(c);
    expect(e.message).toMatch(/^data dir .* belongs to node n2 of cluster aotp, not cluster other/);
  });
});

describe('aotp init', () => {
  it('writes shared wallets and a config per node; the nodes start from them as one cluster', async () => {
    const d = join(dir('aotp-init-'), 'c');
    const child = spawn(process.execPath, ['bin/aotp.js', 'init', '--dir', d, '--nodes', 'a1,a2', '--nats', nats.url, '--cluster', 'initc', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (x) => (out += x));
    child.stderr.on('data', (x) => (out += x));
    const [code] = await once(child, 'exit');
    expect(code, out).toBe(0);
    expect(out).toContain(`aotp start --config ${join(d, 'a1.json')}`);
    expect(readdirSync(join(d, 'wallets')).sort()).toEqual(['cu.json', 'mu.json', 'su.json']);
    const nodes: RunningNode[] = [];
    for (const name of ['a1', 'a2']) {
      const file = JSON.parse(readFileSync(join(d, `${name}.json`), 'utf8'));
      expect(file.nodeName).toBe(name);
      const n = await startNode(loadConfig({ ...file, port: 0, logLevel: 'silent' }, {}));
      running.push(n);
      nodes.push(n);
    }
    await nodes[0]!.node.connect('a2');
    const infos = await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/`)).json()));
    expect(infos[0].addresses).toEqual(infos[1].addresses);
    expect(infos[0].members.sort()).toEqual(['a1', 'a2']);
    // A second init into the same dir overwrites nothing.
    const again = spawn(process.execPath, ['bin/aotp.js', 'init', '--dir', d, '--nodes', 'a1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    again.stderr.on('data', (x) => (err += x));
    expect((await once(again, 'exit'))[0]).toBe(2);
    expect(err).toMatch(/exists: aotp init does not overwrite/);
    expect(existsSync(join(d, 'a1.json'))).toBe(true);
  }, 60_000);
});
