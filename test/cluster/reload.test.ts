/**
 * `aotp reload` on a running cluster under load: two nodes on NATS, aos processes fed a steady
 * stream of messages through both nodes' MU while the CLI (a child process, as an operator runs
 * it) sends a changed supervision policy to every member. Every node takes the new restart
 * budgets and shutdown time, no actor is restarted, and every message accepted is in its
 * process's log exactly once and evaluated exactly once.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { getChildspec, getFlags, whichChildren, type Pid } from '../../runtime/index.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import type { NatsServerHandle } from '../support/nats-server.js';
import { inProcessCluster, type InProcessCluster } from './support.js';
import { dryRun, log, messageItem, post, spawnItem } from '../units/mu/support.js';

let cluster: InProcessCluster;
let nats: NatsServerHandle;
let nodes: RunningNode[];
let dirs: string[];
let user: Wallet;

beforeAll(async () => {
  cluster = await inProcessCluster('aotp-reload', ['n1', 'n2']);
  ({ nats, nodes, dirs } = cluster);
  user = await generateWallet('ed25519');
});
afterAll(() => cluster?.stop());

/** The operator's command, as a child process: its exit code and what it printed. */
function aotpReload(configFile: string): Promise<{ code: number; out: string; err: string }> {
  const child = spawn(process.execPath, ['bin/aotp.js', 'reload', '--config', configFile, '--nats', nats.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return once(child, 'exit').then(([code]) => ({ code: code as number, out, err }));
}

/**
 * Pids of the named actors that must survive a reload: supervisors, services, sequencers,
 * process actors (push jobs end by themselves when their push is done).
 */
function named(n: RunningNode): Map<string, string> {
  return new Map(n.node.actors().flatMap((a) => (a.name && !a.name.startsWith('mu/job/') ? [[a.name, a.pid.key] as [string, string]] : [])));
}

async function secSupervisor(n: RunningNode): Promise<Pid> {
  const sec = (await whichChildren(n.node, 'root')).find((c) => c.id === 'sec');
  return sec!.child as Pid;
}

describe('aotp reload', () => {
  it('applies a changed policy to every member under a steady load of messages: nothing restarted, lost or duplicated', async () => {
    const [n1, n2] = nodes as [RunningNode, RunningNode];
    const before = { su: await getFlags(n1.node, 'su.sequencers'), cu: await getFlags(n1.node, 'cu.processes') };
    expect(before.su).toMatchObject({ intensity: 100, period: 5 });

    // Four processes, spawned through both nodes.
    const processes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const via = nodes[i % 2]!;
      const item = await spawnItem(via, user);
      expect((await post(`${via.url}/mu/`, item.raw)).status).toBe(202);
      processes.push(item.id);
    }

    // The new policy: a whole config file (other settings in it are not reloaded).
    const file = join(dirs[0]!, 'reload.json');
    writeFileSync(
      file,
      JSON.stringify({
        port: 9,
        shutdownMs: 3000,
        su: { restartIntensity: 50, restartPeriod: 10 },
        cu: { restartIntensity: 40, restartPeriod: 8 },
        mu: { restartIntensity: 30, restartPeriod: 6 },
        sec: { restartIntensity: 4, restartPeriod: 7 },
      }),
    );

    // A steady load: one message per process every 25 ms, alternating the node it goes through.
    const sent = new Map<string, { id: string; via: RunningNode }[]>(processes.map((p) => [p, []]));
    let stop = false;
    let accepted = 0;
    const load = (async () => {
      for (let round = 0; !stop; round++) {
        await Promise.all(
          processes.map(async (pid, i) => {
            const via = nodes[(round + i) % 2]!;
            const item = await messageItem(pid, user, [{ name: 'Action', value: 'Eval' }], 'Count = (Count or 0) + 1; return Count');
            const r = await post(`${via.url}/mu/`, item.raw);
            expect(r.status).toBe(202);
            sent.get(pid)!.push({ id: item.id, via });
            accepted++;
          }),
        );
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Once the load runs and every process has its sequencer and process actor, reload.
    while (accepted < 40) await new Promise((r) => setTimeout(r, 20));
    const survivors = [named(n1), named(n2)];
    for (const pid of processes) expect(nodes.some((n) => n.node.whereis(`su/${pid}`) && n.node.whereis(`cu/${pid}`))).toBe(true);
    const acceptedBefore = accepted;
    const cli = await aotpReload(file);
    const acceptedDuring = accepted - acceptedBefore;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;

    expect(cli.err).toBe('');
    expect(cli.code).toBe(0);
    for (const name of ['n1', 'n2']) {
      expect(cli.out).toMatch(new RegExp(`^${name}: shutdownMs 5000 -> 3000, su.restartIntensity 100 -> 50, su.restartPeriod 5 -> 10, cu.restartIntensity 100 -> 40`, 'm'));
    }
    expect(acceptedDuring).toBeGreaterThan(0);

    // Every node runs the new policy.
    for (const n of nodes) {
      expect(await getFlags(n.node, 'su.sequencers')).toMatchObject({ intensity: 50, period: 10 });
      expect(await getFlags(n.node, 'cu.processes')).toMatchObject({ intensity: 40, period: 8 });
      expect(await getFlags(n.node, 'mu.jobs')).toMatchObject({ intensity: 30, period: 6 });
      expect(await getFlags(n.node, 'mu.monitors')).toMatchObject({ intensity: 30, period: 6 });
      expect(await getFlags(n.node, await secSupervisor(n))).toMatchObject({ intensity: 4, period: 7 });
      expect(await getChildspec(n.node, 'su.sequencers', 'sequencer')).toMatchObject({ ok: { shutdown: 3000 } });
      expect(await getChildspec(n.node, 'root', 'http')).toMatchObject({ ok: { shutdown: 3000 } });
    }

    // Everything accepted is pushed, scheduled once and evaluated once.
    let total = 0;
    for (const pid of processes) {
      const msgs = sent.get(pid)!;
      for (const m of msgs) {
        const jobs = await m.via.mu.store.settled(m.id);
        expect(jobs.every((j) => j.stage === 'done')).toBe(true);
      }
      total += msgs.length;
      const owner = nodes.find((n) => n.node.whereis(`su/${pid}`))!;
      const entries = await log(owner, pid);
      expect(entries.map((e) => e.slot)).toEqual(msgs.map((_, i) => i + 1));
      expect(entries.map((e) => e.id).sort()).toEqual(msgs.map((m) => m.id).sort());
      expect(await dryRun(owner, pid, user.address, 'return Count')).toBe(String(msgs.length));
      const last = msgs[msgs.length - 1]!;
      const r = await fetch(`${n1.url}/cu/result/${last.id}?process-id=${pid}`);
      expect(r.status).toBe(200);
    }
    expect(total).toBeGreaterThan(acceptedBefore);

    // Nothing was restarted: every named actor that ran before the reload runs with the same pid.
    for (const [i, n] of nodes.entries()) {
      const after = named(n);
      for (const [name, pid] of survivors[i]!) expect(after.get(name), name).toBe(pid);
    }
  });
});
