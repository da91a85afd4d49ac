/**
 * A cron monitor makes the node evaluate its process every poll. Any wallet could stop any
 * process's monitor, and start as many as it liked. Now only the process's owner (or one of its
 * Authority addresses) may start or stop it, the request must be aimed at the process, and one
 * address may run a bounded number of monitors.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { monitorName } from '../../units/mu/index.js';
import { messageItem, node, spawn, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
let owner: Wallet;
let stranger: Wallet;
let authority: Wallet;
let p: string;

beforeAll(async () => {
  dir = tempDir('aotp-monitors-');
  [owner, stranger, authority] = await Promise.all([generateWallet('ed25519'), generateWallet('ed25519'), generateWallet('ed25519')]);
  n = await node(dir, { mu: { maxMonitorsPerOwner: 2, cronPollMs: 60_000 } });
  p = await spawn(n, owner, [
    { name: 'Cron-Interval', value: '1-minute' },
    { name: 'Authority', value: authority.address },
  ]);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function monitor(method: 'POST' | 'DELETE', processId: string, by: Wallet, target = processId) {
  const item = await messageItem(target, by, [{ name: 'Action', value: 'Monitor' }]);
  const r = await fetch(`${n.url}/mu/monitor/${processId}`, { method, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(item.raw) });
  return { status: r.status, body: (await r.json()) as { error?: string; message?: string } };
}

describe('cron monitors', () => {
  it('a stranger can neither start nor stop a process monitor', async () => {
    const start = await monitor('POST', p, stranger);
    expect(start.status).toBe(403);
    expect(start.body.error).toBe(`Only the owner of ${p} or one of its Authority addresses may start or stop its monitor; ${stranger.address} is neither`);
    expect(n.mu.store.monitor(p)).toBeUndefined();

    expect((await monitor('POST', p, owner)).status).toBe(200);
    expect(n.node.whereis(monitorName(p))).toBeDefined();
    const stop = await monitor('DELETE', p, stranger);
    expect(stop.status).toBe(403);
    expect(n.mu.store.monitor(p)).toBeDefined();
    expect(n.node.whereis(monitorName(p))).toBeDefined();
  });

  it('an item signed for another process is not a request for this one', async () => {
    const other = await spawn(n, owner);
    const r = await monitor('DELETE', p, owner, other);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^The signed item must target the process/);
    expect(n.mu.store.monitor(p)).toBeDefined();
  });

  it('an Authority of the process may stop and start it', async () => {
    expect((await monitor('DELETE', p, authority)).status).toBe(200);
    expect(n.node.whereis(monitorName(p))).toBeUndefined();
    expect((await monitor('POST', p, authority)).status).toBe(200);
    expect(n.mu.store.monitor(p)!.by).toBe(authority.address);
  });

  it('one address may run a bounded number of monitors', async () => {
    const [a, b, c] = await Promise.all([spawn(n, stranger), spawn(n, stranger), spawn(n, stranger)]);
    expect((await monitor('POST', a, stranger)).status).toBe(200);
    expect((await monitor('POST', b, stranger)).status).toBe(200);
    // Asking again for one it runs is fine; a third is not.
    expect((await monitor('POST', b, stranger)).status).toBe(200);
    const third = await monitor('POST', c, stranger);
    expect(third.status).toBe(429);
    expect(third.body.error).toBe(`${stranger.address} already monitors 2 processes, the most one address may; unmonitor one first`);
    expect(n.node.whereis(monitorName(c))).toBeUndefined();
    expect((await monitor('DELETE', a, stranger)).status).toBe(200);
    expect((await monitor('POST', c, stranger)).status).toBe(200);
  });
});
