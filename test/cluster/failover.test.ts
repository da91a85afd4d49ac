/**
 * A clustered node: three aotp processes on a three-server NATS cluster (JetStream, R3), all
 * started and killed by this test. Under a steady load of messages to many processes, one
 * aotp process is SIGKILLed: its processes must be owned elsewhere within the lease time and
 * accept messages again; every message answered 200 must be in its log exactly once; the
 * invariant checker (`aotp verify`) must find no gap, no slot assigned twice, no broken chain.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCluster } from '../../cli/verify.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { ReplicatedLog } from '../../units/cluster/replicated-log.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';
import { node as natsNode } from './support.js';

const NAMES = ['n1', 'n2', 'n3'];
const LEASE_MS = 4000;
const DOWN_MS = 1500;

interface AotpProcess {
  name: string;
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

let nats: NatsClusterHandle;
const dirs: string[] = [];
const nodes = new Map<string, AotpProcess>();
let su: Wallet;
let user: Wallet;

async function startAotp(name: string, i: number, walletDir: string): Promise<AotpProcess> {
  const dir = tempDir(`aotp-${name}-`);
  dirs.push(dir);
  const config = {
    nodeName: name,
    port: 0,
    dataDir: dir,
    logLevel: 'warn',
    nats: { servers: [...nats.urls.slice(i), ...nats.urls.slice(0, i)], heartbeatMs: 250, downAfterMs: DOWN_MS, leaseTtlMs: LEASE_MS, replicas: 3 },
    su: { wallet: join(walletDir, 'su.json'), idleMs: 0, callTimeoutMs: 5000 },
    mu: { wallet: join(walletDir, 'mu.json') },
    cu: { wallet: join(walletDir, 'cu.json') },
  };
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawnChild(process.execPath, ['bin/aotp.js', 'start', '--config', file, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
      if (out.length > 1e6) out = out.slice(-1000);
    });
    void exited.then(() => reject(new Error(`${name} exited: ${err || out}`)));
  });
  return { name, child, url, exited };
}

async function post(url: string, raw: Uint8Array): Promise<number> {
  try {
    const r = await fetch(`${url}/su/`, { method: 'POST', body: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(8000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

const live = () => [...nodes.values()];
const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

beforeAll(async () => {
  nats = await startNatsCluster(3, { jetstream: true });
  const walletDir = tempDir('aotp-wallets-');
  dirs.push(walletDir);
  su = await generateWallet('ed25519');
  for (const [file, w] of [['su.json', su], ['mu.json', await generateWallet('ed25519')], ['cu.json', await generateWallet('ed25519')]] as const) {
    writeFileSync(join(walletDir, file), JSON.stringify(w.key));
  }
  user = await generateWallet('ed25519');
  for (const [i, name] of NAMES.entries()) nodes.set(name, await startAotp(name, i, walletDir));
  // Every node sees every other before the load starts (placement agrees).
  for (const n of live()) {
    for (;;) {
      const info = await (await fetch(`${n.url}/`)).json();
      if (info.members.length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}, 120_000);

afterAll(async () => {
  for (const n of nodes.values()) {
    n.child.kill('SIGKILL');
    await n.exited;
  }
  await nats?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const spawnItem = (module: string) =>
  createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: module },
        { name: 'Scheduler', value: su.address },
      ],
    },
    user,
  );
const messageItem = (target: string, n: number) =>
  createDataItem({ data: `m${n}`, target, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }, { name: 'Action', value: 'Ping' }] }, user);

describe('a three-node cluster under load', () => {
  it('SIGKILL of a node: its processes move within the lease time, nothing accepted is lost, no slot is assigned twice', async () => {
    const module = randomBytes(32).toString('base64url');
    // 30 processes, spawned through any node (each request is routed to the owner).
    const processes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const item = await spawnItem(module);
      expect(await post(pick(live()).url, item.raw)).toBe(200);
      processes.push(item.id);
    }
    const accepted = new Map<string, Set<string>>(processes.map((p) => [p, new Set([p])]));
    const victim = 'n2';
    const moved = processes.filter((p) => owner(p, NAMES) === victim);
    expect(moved.length).toBeGreaterThan(0);

    let killedAt = 0;
    const firstAfterKill = new Map<string, number>();
    let stop = false;
    let sent = 0;
    // A steady load: each worker sends a message to a random process through a random live
    // node, and sends the same item again until it is answered 200.
    const worker = async () => {
      while (!stop) {
        const p = pick(processes);
        const item = await messageItem(p, sent++);
        for (;;) {
          const status = await post(pick(live()).url, item.raw);
          if (status === 200) {
            accepted.get(p)!.add(item.id);
            if (killedAt && !firstAfterKill.has(p)) firstAfterKill.set(p, Date.now() - killedAt);
            break;
          }
          if (stop && !killedAt) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await new Promise((r) => setTimeout(r, 2000));
    const v = nodes.get(victim)!;
    v.child.kill('SIGKILL');
    killedAt = Date.now();
    nodes.delete(victim);
    await v.exited;
    // Load goes on until every moved process has accepted a message again.
    const deadline = Date.now() + LEASE_MS + DOWN_MS + 20_000;
    while (moved.some((p) => !firstAfterKill.has(p)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(workers);

    const failover = moved.map((p) => firstAfterKill.get(p) ?? Infinity).sort((a, b) => a - b);
    console.log(`failover of ${moved.length} processes: p50 ${failover[Math.floor(failover.length / 2)]} ms, max ${failover[failover.length - 1]} ms; ${sent} messages sent`);
    expect(failover[failover.length - 1]).toBeLessThan(LEASE_MS + DOWN_MS + 10_000);

    // Every message answered 200 is in its process's replicated log exactly once.
    const nc = await natsNode(nats.urls);
    try {
      const log = await ReplicatedLog.open(nc, { prefix: 'aotp.su', stream: 'AOTP_SU_LOG' });
      for (const p of processes) {
        const ids = (await log.read(p)).flatMap((e) => (e.kind === 'slot' ? [e.record.messageId] : []));
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of accepted.get(p)!) expect(ids).toContain(id);
      }
    } finally {
      await nc.close();
    }
    const verdict = await verifyCluster({ servers: nats.urls });
    expect(verdict.processes).toBe(30);
    expect(verdict.violations).toBe(0);
  });
});
