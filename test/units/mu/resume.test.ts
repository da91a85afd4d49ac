/**
 * Nothing accepted is lost and no outbox message is pushed twice, whatever dies: job actors
 * killed at random points of their push, or the whole node stopped mid-push and started again.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../../cli/start.js';
import { Store } from '../../../runtime/store.js';
import { generateWallet } from '../../../units/ans104/index.js';
import { jobName, LmdbMuStore } from '../../../units/mu/index.js';
import { dryRun, evalLua, log, messageItem, node, post, spawn, tempDir } from './support.js';

const dirs: string[] = [];
const nodes: RunningNode[] = [];
afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PING = `
Pings = Pings or {}
Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg)
  Pings[msg.Data] = (Pings[msg.Data] or 0) + 1
  Send({ Target = msg.From, Action = "Pong", Data = msg.Data })
end)
return "ok"`;
const PONG = `
Pongs = Pongs or {}
Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg)
  Pongs[msg.Data] = (Pongs[msg.Data] or 0) + 1
end)
return "ok"`;

describe('push jobs resume from their durable stage', () => {
  it('job actors killed while they wait on the CU: every push completes, each message once (RSA-signed outboxes)', async () => {
    const dir = tempDir('aotp-mu-kill-');
    dirs.push(dir);
    // RSA-PSS signatures differ every time: a job whose outbox were written twice would push
    // two distinct items, and the SU's dedupe by id could not hide it.
    const n = await node(dir, { mu: { walletKind: 'rsa' } });
    nodes.push(n);
    const user = await generateWallet('ed25519');
    const a = await spawn(n, user);
    const b = await spawn(n, user);
    await evalLua(n, user, a, PONG);
    await evalLua(n, user, b, PING);

    let kills = 0;
    // Kill each job once: a root a moment after its 202 (its item has a slot; it waits for the
    // CU), a child a moment after its parent wrote it (it schedules, or waits for the CU).
    const killed = new Set<string>();
    const kill = (id: string, ms: number) => {
      if (killed.has(id)) return;
      killed.add(id);
      setTimeout(() => (kills += n.node.kill(jobName(id)).length), ms);
    };
    const off = n.mu.store.onJob((j) => {
      if (j.depth > 0 && j.stage === 'schedule') kill(j.id, 1 + (killed.size % 3));
    });
    const roots: string[] = [];
    for (let i = 0; i < 6; i++) {
      const item = await messageItem(a, user, [{ name: 'Action', value: 'Eval' }], `Send({ Target = "${b}", Action = "Ping", Data = "k${i}" }); return 1`);
      expect((await post(`${n.url}/mu/`, item.raw)).status).toBe(202);
      kill(item.id, i % 3);
      roots.push(item.id);
    }
    for (const r of roots) expect((await n.mu.store.settled(r)).every((j) => j.stage === 'done')).toBe(true);
    off();
    expect(kills).toBeGreaterThan(0);
    for (let i = 0; i < 6; i++) {
      expect(await dryRun(n, b, user.address, `return Pings["k${i}"]`)).toBe('1');
      expect(await dryRun(n, a, user.address, `return Pongs["k${i}"]`)).toBe('1');
    }
    const pings = (await log(n, b)).filter((e) => e.tags.Action === 'Ping');
    expect(pings).toHaveLength(6);
  });

  it('a node stopped mid-push finishes the push after it starts again', async () => {
    const dir = tempDir('aotp-mu-restart-');
    dirs.push(dir);
    const user = await generateWallet('ed25519');
    let n = await node(dir);
    const a = await spawn(n, user);
    const b = await spawn(n, user);
    await evalLua(n, user, a, PONG);
    await evalLua(n, user, b, PING);
    // A slow evaluation: the 202 comes once the SU assigned the message; the CU is still busy.
    const item = await messageItem(a, user, [{ name: 'Action', value: 'Eval' }], `local x = 0; for i = 1, 6e7 do x = x + i end; Send({ Target = "${b}", Action = "Ping", Data = "slow" }); return x`);
    const accepted = await post(`${n.url}/mu/`, item.raw);
    expect(accepted.status).toBe(202);
    await n.stop();

    // What the node kept: the job, not ended (its stage is not written again until its outbox
    // is: a job restarted from `schedule` asks the SU, which answers the slot it has), and the
    // message in its process's log.
    const store = Store.open(join(dir, 'lmdb'));
    const before = new LmdbMuStore(store).job(item.id)!;
    await store.close();
    expect(before.stage).toBe('schedule');

    n = await node(dir);
    nodes.push(n);
    expect((await log(n, a)).filter((e) => e.id === item.id)).toHaveLength(1);
    const jobs = await n.mu.store.settled(item.id);
    expect(jobs.map((j) => j.stage)).toEqual(['done', 'done', 'done']);
    expect((await log(n, a)).filter((e) => e.id === item.id)).toHaveLength(1);
    expect(await dryRun(n, b, user.address, 'return Pings["slow"]')).toBe('1');
    expect(await dryRun(n, a, user.address, 'return Pongs["slow"]')).toBe('1');
  });

  it("the MU's job supervisor killed mid-push: the subtree restarts and the resumer finishes every push", async () => {
    const dir = tempDir('aotp-mu-sup-');
    dirs.push(dir);
    const n = await node(dir);
    nodes.push(n);
    const user = await generateWallet('ed25519');
    const a = await spawn(n, user);
    const b = await spawn(n, user);
    await evalLua(n, user, a, PONG);
    await evalLua(n, user, b, PING);
    const roots: string[] = [];
    for (let i = 0; i < 4; i++) {
      const item = await messageItem(a, user, [{ name: 'Action', value: 'Eval' }], `local x = 0; for i = 1, 5e6 do x = x + i end; Send({ Target = "${b}", Action = "Ping", Data = "s${i}" }); return 1`);
      expect((await post(`${n.url}/mu/`, item.raw)).status).toBe(202);
      roots.push(item.id);
    }
    const before = n.node.whereis('mu.jobs')!;
    expect(n.mu.store.unfinished().length).toBeGreaterThan(0);
    expect(n.node.kill('mu.jobs')).toEqual([before]);
    for (const r of roots) expect((await n.mu.store.settled(r)).every((j) => j.stage === 'done')).toBe(true);
    expect(n.node.whereis('mu.jobs')).not.toEqual(before);
    for (let i = 0; i < 4; i++) expect(await dryRun(n, a, user.address, `return Pongs["s${i}"]`)).toBe('1');
  });
});
