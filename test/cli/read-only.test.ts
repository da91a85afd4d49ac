/**
 * Operators' read-only commands change nothing: `aotp verify` of a cluster that does not exist
 * creates no stream and is an error (checking nothing is not a pass), and `aotp status` comes
 * and goes without the nodes logging it as a member going down.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStatus } from '../../cli/status.js';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';

let nats: NatsServerHandle;
let node: RunningNode;
const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
const dir = tempDir('aotp-readonly-');

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  // A fast heartbeat: an observer on the default (slower) one must not look dead to this node.
  node = await startNode(loadConfig({ dataDir: dir, port: 0, nodeName: 'n1', nats: { servers: [nats.url], heartbeatMs: 100, replicas: 1 } }, {}), logger);
});
afterAll(async () => {
  await node?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function aotp(args: string[]) {
  const child = spawn(process.execPath, ['bin/aotp.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  return { code: code as number, out, err };
}

describe('read-only commands', () => {
  it('aotp verify --cluster typo: exit 1, "no process logs found", and no stream created', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const streams = async () => (await jsm.streams.names().next()).sort();
      const before = await streams();
      const r = await aotp(['verify', '--nats', nats.url, '--cluster', 'typo']);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.err).toContain('no process logs found for cluster typo');
      expect(await streams()).toEqual(before);
      expect(before).not.toContain('TYPO_SU_LOG');
    } finally {
      await nc.close();
    }
  }, 30_000);

  it('aotp verify of a cluster with no process logs yet is an error too', async () => {
    const r = await aotp(['verify', '--nats', nats.url]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no process logs found for cluster aotp');
  }, 30_000);

  it('aotp status: the node does not log the observer as a member going down', async () => {
    const from = lines.length;
    const s = await clusterStatus({ servers: [nats.url], waitMs: 1500 });
    expect(s.members.map((m) => m.node)).toEqual(['n1']);
    await new Promise((r) => setTimeout(r, 300)); // the observer's bye
    const seen = lines.slice(from).filter((l) => JSON.stringify(l).includes('status-'));
    expect(seen.filter((l) => l.level >= 30)).toEqual([]);
    // It left once (its bye), not every few beats while it listened.
    expect(seen.filter((l) => l.msg === 'observer left').length).toBe(1);
    expect(node.node.members()).toEqual(['n1']);
  }, 30_000);
});
