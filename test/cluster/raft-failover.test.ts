/**
 * (Library level: units/cluster/lease.ts and replicated-log.ts against nats-server failures.
 * failover.test.ts kills whole aotp nodes.)
 * Chaos on a real 3-server JetStream cluster: SIGKILL the Raft leader of the SU log stream while
 * two nodes append, then the leader of the lease bucket while a lease is renewed. Appends and
 * renewals retry through the re-election; the log stays gapless and duplicate-free.
 */
import { ErrorCode, NatsError, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../units/cluster/lease.js';
import { LogWriter, ReplicatedLog } from '../../units/cluster/replicated-log.js';
import { retrying } from '../../units/cluster/retry.js';
import { verify } from '../../units/cluster/verify.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';
import { node, randomId, slotRecords, until } from './support.js';

let cluster: NatsClusterHandle;
const conns: NatsConnection[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  // Both R3 streams are placed while all three servers are up (an R3 stream cannot be
  // created while one is down: "no suitable peers for placement").
  const setup = await node(cluster.urls, 0, 'setup');
  conns.push(setup);
  await ReplicatedLog.open(setup);
  await LeaseManager.open(setup, 'setup');
});

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  await cluster?.stop();
});

/** The server leading `stream`'s Raft group (asked again while the cluster re-elects). */
async function leaderOf(nc: NatsConnection, stream: string): Promise<{ index: number; name: string }> {
  const name = await retrying(
    async () => {
      const jsm = await nc.jetstreamManager({ timeout: 2000 });
      const leader = (await jsm.streams.info(stream)).cluster?.leader;
      if (!leader) throw new NatsError('no leader yet', ErrorCode.Timeout);
      return leader;
    },
    { budgetMs: 20_000 },
  );
  return { index: Number(name.slice(1)) - 1, name }; // servers are named s1..s3
}

async function allCurrent(nc: NatsConnection, stream: string): Promise<boolean> {
  try {
    const c = (await (await nc.jetstreamManager({ timeout: 2000 })).streams.info(stream)).cluster;
    return !!c?.leader && (c.replicas ?? []).length === 2 && c.replicas!.every((r) => r.current);
  } catch {
    return false;
  }
}

describe('failover', () => {
  it('appends continue through a SIGKILL of the stream leader; the log has no gap and no duplicate', async () => {
    const probe = await node(cluster.urls, 0, 'probe');
    conns.push(probe);
    await ReplicatedLog.open(probe);
    const leader = await leaderOf(probe, 'AOTP_SU_LOG');
    const other = (leader.index + 1) % 3;
    // Node A talks to a surviving server; node B to the one that dies (its client reconnects).
    const ncA = await node(cluster.urls, other, 'node-a');
    const ncB = await node(cluster.urls, leader.index, 'node-b');
    conns.push(ncA, ncB);
    const logA = await ReplicatedLog.open(ncA, { retryBudgetMs: 30_000 });
    const logB = await ReplicatedLog.open(ncB, { retryBudgetMs: 30_000 });
    const N = 500;
    const KILL_AT = 150;
    let killedAt = 0;
    const run = async (log: ReplicatedLog, name: string) => {
      const pid = randomId();
      const w = await LogWriter.open(log, pid, 1, name);
      const recs = slotRecords(pid, 0, N);
      let worst = { ms: 0, slot: -1 };
      let firstAfterKill = 0;
      for (const r of recs) {
        if (r.slot === KILL_AT && name === 'node-a') {
          killedAt = Date.now();
          await cluster.servers[leader.index]!.kill();
        }
        const t0 = Date.now();
        await w.append(r);
        const ms = Date.now() - t0;
        if (ms > worst.ms) worst = { ms, slot: r.slot };
        if (killedAt && !firstAfterKill && t0 >= killedAt) firstAfterKill = Date.now() - killedAt;
      }
      return { pid, recs, worst, firstAfterKill };
    };
    const t0 = Date.now();
    const results = await Promise.all([run(logA, 'node-a'), run(logB, 'node-b')]);
    const elapsed = Date.now() - t0;
    const newLeader = await leaderOf(ncA, 'AOTP_SU_LOG');
    expect(newLeader.name).not.toBe(leader.name);
    for (const [i, r] of results.entries()) {
      console.log(
        `stream leader ${leader.name} killed at slot ${KILL_AT}; node-${'ab'[i]}: ${N} appends in ${elapsed} ms, ` +
          `longest append ${r.worst.ms} ms (slot ${r.worst.slot}), first append after the kill done ${r.firstAfterKill} ms after it; new leader ${newLeader.name}`,
      );
      const report = verify(r.pid, await logA.read(r.pid), { local: r.recs });
      expect(report).toMatchObject({ slots: N, fences: 1, gaps: 0, duplicates: 0, conflicts: 0, hashChainBreaks: 0, clean: true });
    }
  });

  it('a lease is renewed through a SIGKILL of the bucket leader (measures how long the KV refuses writes)', async () => {
    // Bring the killed server back so that the bucket has three replicas again.
    const dead = cluster.servers.find((s) => {
      try {
        process.kill(s.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    if (dead) await dead.restart();
    const probe = await node(cluster.urls, 0, 'probe-2');
    conns.push(probe);
    await until(() => allCurrent(probe, 'AOTP_SU_LOG'), 20_000, 200);
    const nc = await node(cluster.urls, 0, 'node-a');
    conns.push(nc);
    const leases = await LeaseManager.open(nc, 'node-a', { ttlMs: 20_000, retryBudgetMs: 20_000 });
    const lease = await leases.acquire(randomId());
    await until(() => allCurrent(nc, 'KV_aotp_su_leases'), 20_000, 200);
    const leader = await leaderOf(nc, 'KV_aotp_su_leases');
    // The client should not be on the server we kill: the measure is the Raft failover.
    const survivor = await node(cluster.urls, (leader.index + 1) % 3, 'node-s');
    conns.push(survivor);
    const m2 = await LeaseManager.open(survivor, 'node-a', { ttlMs: 20_000, retryBudgetMs: 20_000 });
    const mine = await m2.acquire(lease.processId); // same node name: takes its own lease over
    await mine.renew();
    const killedAt = Date.now();
    await cluster.servers[leader.index]!.kill();
    // Renew straight away, as a holder whose timer fires just after the crash: renew() retries
    // until the bucket takes writes again, which is how long the KV refuses them.
    const t0 = Date.now();
    await mine.renew();
    const refused = Date.now() - t0;
    expect(mine.valid).toBe(true);
    const newLeader = await leaderOf(survivor, 'KV_aotp_su_leases');
    console.log(
      `lease bucket leader ${leader.name} SIGKILLed; a renewal started right after it took ${refused} ms ` +
        `(retrying), new leader ${newLeader.name}, ${Date.now() - killedAt} ms after the kill`,
    );
    expect(newLeader.name).not.toBe(leader.name);
    expect(refused).toBeLessThan(20_000);
    await mine.release();
  });
});
