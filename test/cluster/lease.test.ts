/** The SU lease in a JetStream KV bucket (R3) on a real 3-server cluster. */
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseHeld, LeaseLost, LeaseManager } from '../../units/cluster/lease.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';
import { node, randomId, until } from './support.js';

let cluster: NatsClusterHandle;
let nc1: NatsConnection;
let nc2: NatsConnection;
let a: LeaseManager;
let b: LeaseManager;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc1 = await node(cluster.urls, 0, 'node-a');
  nc2 = await node(cluster.urls, 1, 'node-b');
  a = await LeaseManager.open(nc1, 'node-a', { ttlMs: 1500, renewEveryMs: 300, retryBudgetMs: 15_000 });
  b = await LeaseManager.open(nc2, 'node-b', { ttlMs: 1500, renewEveryMs: 300, retryBudgetMs: 15_000 });
});

afterAll(async () => {
  await nc1?.close();
  await nc2?.close();
  await cluster?.stop();
});

describe('lease', () => {
  it('two nodes race for a process: exactly one holds it; the other gets it once it expires, with a higher revision', async () => {
    const pid = randomId();
    const results = await Promise.allSettled([a.acquire(pid), b.acquire(pid)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const lease = won[0]!.value;
    const refusal = lost[0]!.reason as LeaseHeld;
    expect(refusal).toBeInstanceOf(LeaseHeld);
    expect(refusal.holder).toBe(lease.holder);
    expect(refusal.expiresAt).toBe(lease.expiresAt);
    const loser = lease.holder === 'node-a' ? b : a;
    expect((await a.read(pid))?.holder).toBe(lease.holder);

    // The holder stops renewing (it never started); the lease runs out.
    await expect(loser.acquire(pid)).rejects.toBeInstanceOf(LeaseHeld);
    await until(() => Date.now() > lease.expiresAt, 3000);
    const taken = await loser.acquire(pid);
    expect(taken.holder).toBe(loser.node);
    expect(taken.token).toBeGreaterThan(lease.token);
    // The old holder's late renewal finds another revision.
    const err = await lease.renew().catch((e) => e);
    expect(err).toBeInstanceOf(LeaseLost);
    expect((err as LeaseLost).reason).toBe('taken');
    expect((err as LeaseLost).current?.holder).toBe(loser.node);
    expect(lease.valid).toBe(false);
  });

  it('takeovers of expired leases race (3 nodes, 20 processes at once): exactly one winner each', async () => {
    const nc3 = await node(cluster.urls, 2, 'node-c');
    try {
      const c = await LeaseManager.open(nc3, 'node-c', { ttlMs: 1500 });
      const pids = Array.from({ length: 20 }, () => randomId());
      const first = await Promise.all(pids.map((p) => a.acquire(p)));
      await until(() => Date.now() > Math.max(...first.map((l) => l.expiresAt)), 3000);
      // b and c both see an expired lease at the same revision and update it: a CAS with
      // expected revision ≠ 0, which the server alone does not serialise (see lease.ts).
      const races = await Promise.all(pids.map((p) => Promise.allSettled([b.acquire(p), c.acquire(p)])));
      for (const [i, r] of races.entries()) {
        const won = r.filter((x) => x.status === 'fulfilled');
        expect(won).toHaveLength(1);
        const lease = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<LeaseManager['acquire']>>>).value;
        expect((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(LeaseHeld);
        expect(lease.token).toBeGreaterThan(first[i]!.token);
        expect((await a.read(pids[i]!))?.holder).toBe(lease.holder);
      }
      // The compare-and-set itself, two writes issued in the same tick, 30 times.
      const lease = await b.acquire(randomId());
      let rev = lease.revision;
      for (let i = 0; i < 30; i++) {
        const rec = (holder: string) => ({ holder, incarnation: holder, expiresAt: Date.now() + 1000 });
        const r = await Promise.allSettled([b.cas(lease.processId, rec('node-b'), rev), c.cas(lease.processId, rec('node-c'), rev)]);
        const won = r.filter((x) => x.status === 'fulfilled') as PromiseFulfilledResult<{ revision: number }>[];
        expect(won).toHaveLength(1);
        rev = won[0]!.value.revision;
      }
      expect((await a.read(lease.processId))?.revision).toBe(rev);
    } finally {
      await nc3.close();
    }
  });

  it('the bucket is R3 with a duplicate window (what makes its compare-and-set safe)', async () => {
    const info = await (await nc1.jetstreamManager()).streams.info('KV_aotp_su_leases');
    expect(info.config.num_replicas).toBe(3);
    expect(info.config.duplicate_window).toBeGreaterThanOrEqual(60_000_000_000); // ns
    expect(info.config.allow_direct).toBe(false);
  });

  it('a renewed lease stays held past its ttl; released, it is taken at once', async () => {
    const pid = randomId();
    const lease = await a.acquire(pid);
    const lost: LeaseLost[] = [];
    lease.startRenewing((e) => lost.push(e));
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      await expect(b.acquire(pid)).rejects.toBeInstanceOf(LeaseHeld);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(lost).toEqual([]);
    expect(lease.valid).toBe(true);
    expect(lease.revision).toBeGreaterThan(lease.token);
    await lease.release();
    const next = await b.acquire(pid);
    expect(next.token).toBeGreaterThan(lease.revision);
    await next.release();
  });

  it('a live lease whose holder membership knows to be down is taken over at once; the holder, if it was not down after all, loses it', async () => {
    const down = new Set<string>();
    const c = await LeaseManager.open(nc2, 'node-c', { ttlMs: 60_000, holderDown: (h) => down.has(h) });
    const pid = randomId();
    const held = await a.acquire(pid);
    await expect(c.acquire(pid)).rejects.toBeInstanceOf(LeaseHeld);
    down.add('node-a');
    const taken = await c.acquire(pid);
    expect(Date.now()).toBeLessThan(held.expiresAt); // not waiting for the old lease to run out
    expect(taken.token).toBeGreaterThan(held.token);
    const err = await held.renew().catch((e) => e);
    expect(err).toBeInstanceOf(LeaseLost);
    expect((err as LeaseLost).reason).toBe('taken');
    await taken.release();
  });

  it('the same node re-acquires its own lease (a restarted incarnation) with a new token', async () => {
    const pid = randomId();
    const first = await a.acquire(pid);
    const again = await a.acquire(pid);
    expect(again.token).toBeGreaterThan(first.token);
    await expect(first.renew()).rejects.toBeInstanceOf(LeaseLost);
    await again.release();
  });
});
