/** The replicated SU log (JetStream stream, R3, subject per process) on a real 3-server cluster. */
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../units/cluster/lease.js';
import { LogWriter, ReplicatedLog, StaleWriter } from '../../units/cluster/replicated-log.js';
import { verify } from '../../units/cluster/verify.js';
import type { SlotRecord } from '../../units/su/store.js';
import { startNatsCluster, type NatsClusterHandle } from '../support/nats-server.js';
import { node, randomId, slotRecords, until } from './support.js';

let cluster: NatsClusterHandle;
let nc1: NatsConnection;
let nc2: NatsConnection;
let log1: ReplicatedLog;
let log2: ReplicatedLog;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  nc1 = await node(cluster.urls, 0, 'node-a');
  nc2 = await node(cluster.urls, 1, 'node-b');
  log1 = await ReplicatedLog.open(nc1);
  log2 = await ReplicatedLog.open(nc2);
});

afterAll(async () => {
  await nc1?.close();
  await nc2?.close();
  await cluster?.stop();
});

describe('replicated log', () => {
  it('a stale owner appending slot n after the new owner did is refused; one entry per slot', async () => {
    const pid = randomId();
    const leasesA = await LeaseManager.open(nc1, 'node-a', { ttlMs: 1000 });
    const leasesB = await LeaseManager.open(nc2, 'node-b', { ttlMs: 1000 });
    const leaseA = await leasesA.acquire(pid);
    const a = await LogWriter.open(log1, pid, leaseA.token, 'node-a');
    expect(a.nextSlot).toBe(0);
    const recs = slotRecords(pid, 0, 10);
    await a.appendRun(recs.slice(0, 5));

    // A stalls (GC pause, partition) and its lease runs out; B takes the process over.
    await until(() => Date.now() > leaseA.expiresAt, 3000);
    const leaseB = await leasesB.acquire(pid);
    expect(leaseB.token).toBeGreaterThan(leaseA.token);
    const b = await LogWriter.open(log2, pid, leaseB.token, 'node-b');
    expect(b.nextSlot).toBe(5);
    const caught = await b.missing(0);
    expect(caught.map((r) => r.slot)).toEqual([0, 1, 2, 3, 4]);
    expect(caught.map((r) => r.assignmentId)).toEqual(recs.slice(0, 5).map((r) => r.assignmentId));

    // B's fence alone already shuts A out, before B appends anything.
    const stale1 = slotRecords(pid, 5, 1, recs[4]!)[0]!;
    const e1 = await a.append(stale1).catch((e) => e);
    expect(e1).toBeInstanceOf(StaleWriter);
    expect((e1 as StaleWriter).last?.kind).toBe('fence');

    await b.append(recs[5]!);
    // A, still believing it owns slot 5, appends its own slot 5: refused by the stream.
    const stale2 = slotRecords(pid, 5, 1, recs[4]!)[0]!;
    const e2 = await log1.appendSlot(pid, stale2, a.lastSeq, leaseA.token).catch((e) => e);
    expect(e2).toBeInstanceOf(StaleWriter);
    expect((e2 as StaleWriter).slot).toBe(5);
    expect((e2 as StaleWriter).last).toMatchObject({ kind: 'slot', slot: 5, token: leaseB.token });
    // A stale writer cannot open the log again with its old token either.
    await expect(LogWriter.open(log1, pid, leaseA.token, 'node-a')).rejects.toBeInstanceOf(StaleWriter);

    // Two writers with the same expected sequence, at once: exactly one lands.
    const [x, y] = [slotRecords(pid, 6, 1, recs[5]!)[0]!, slotRecords(pid, 6, 1, recs[5]!)[0]!];
    const race = await Promise.allSettled([
      log1.appendSlot(pid, x, b.lastSeq, leaseB.token),
      log2.appendSlot(pid, y, b.lastSeq, leaseB.token),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(StaleWriter);

    const entries = await log2.read(pid);
    const slots = entries.filter((e) => e.kind === 'slot').map((e) => e.slot);
    expect(slots).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const report = verify(pid, entries);
    expect(report).toMatchObject({ slots: 7, fences: 2, gaps: 0, duplicates: 0, conflicts: 0, hashChainBreaks: 0, tokenRegressions: 0, clean: true });
  });

  it('concurrent appends after the same entry (two nodes, 50 races): exactly one lands each time', async () => {
    const pid = randomId();
    let w = await LogWriter.open(log1, pid, 1, 'node-a');
    let prev: SlotRecord | null = null;
    for (let i = 0; i < 50; i++) {
      const x: SlotRecord = slotRecords(pid, i, 1, prev)[0]!;
      const y: SlotRecord = slotRecords(pid, i, 1, prev)[0]!;
      const race: PromiseSettledResult<number>[] = await Promise.allSettled([log1.appendSlot(pid, x, w.lastSeq, 1), log2.appendSlot(pid, y, w.lastSeq, 1)]);
      const won = race.findIndex((r) => r.status === 'fulfilled');
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((race[1 - won] as PromiseRejectedResult).reason).toBeInstanceOf(StaleWriter);
      w = Object.assign(w, { lastSeq: (race[won] as PromiseFulfilledResult<number>).value });
      prev = won === 0 ? x : y;
    }
    // Without the Msg-Id, the server alone lets both land (nats-server 2.9.10, R3): measured, not asserted.
    const js1 = nc1.jetstream();
    const js2 = nc2.jetstream();
    let doubled = 0;
    for (let i = 0; i < 50; i++) {
      const subj = `aotp.su.log.raw${i}-${pid}`;
      const first = await js1.publish(subj, new Uint8Array(1));
      const r = await Promise.allSettled([
        js1.publish(subj, new Uint8Array(1), { expect: { lastSubjectSequence: first.seq } }),
        js2.publish(subj, new Uint8Array(1), { expect: { lastSubjectSequence: first.seq } }),
      ]);
      if (r.every((x) => x.status === 'fulfilled')) doubled++;
    }
    console.log(`expected-last-subject-sequence (≠ 0) alone: both of two concurrent writes stored in ${doubled}/50 races`);

    // Fences race too: two nodes opening the log after the same tail.
    const opened = await Promise.allSettled([
      log1.appendFence(pid, 50, 'node-a', w.lastSeq, 2),
      log2.appendFence(pid, 50, 'node-b', w.lastSeq, 3),
    ]);
    expect(opened.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const report = verify(pid, await log1.read(pid));
    expect(report).toMatchObject({ entries: 52, slots: 50, fences: 2, gaps: 0, duplicates: 0, hashChainBreaks: 0, clean: true });
  });

  it('a retried append (its first attempt was stored after all) answers the first one’s sequence and stores nothing more', async () => {
    const pid = randomId();
    const w = await LogWriter.open(log1, pid, 7, 'node-a');
    const [r0, r1] = slotRecords(pid, 0, 2);
    const seq = await log1.appendSlot(pid, r0!, w.lastSeq, 7);
    // The same publish again (as after a timeout whose ack was lost): a duplicate, recognised as ours.
    expect(await log2.appendSlot(pid, r0!, w.lastSeq, 7)).toBe(seq);
    // Another writer's entry at that place is not ours: StaleWriter.
    const e = await log2.appendSlot(pid, { ...r0!, assignmentId: randomId() }, w.lastSeq, 7).catch((x) => x);
    expect(e).toBeInstanceOf(StaleWriter);
    expect((e as StaleWriter).last).toMatchObject({ kind: 'slot', slot: 0, seq });
    await log1.appendSlot(pid, r1!, seq, 7);
    const entries = await log1.read(pid);
    expect(entries.map((x) => x.kind + x.slot)).toEqual(['fence0', 'slot0', 'slot1']);
    // The lease's compare-and-set behaves the same way.
    const leases = await LeaseManager.open(nc1, 'node-a');
    const rec = { holder: 'node-a', incarnation: 'x', expiresAt: Date.now() + 10_000 };
    const k = randomId();
    const first = await leases.cas(k, rec, 0);
    expect((await leases.cas(k, { ...rec, expiresAt: rec.expiresAt + 1 }, 0)).revision).toBe(first.revision);
    await expect(leases.cas(k, { ...rec, incarnation: 'y' }, 0)).rejects.toThrow();
  });

  it('catch-up: a reader gets every entry from slot k, in order, among other processes’ entries', async () => {
    const p = randomId();
    const q = randomId();
    const wp = await LogWriter.open(log1, p, 1, 'node-a');
    const wq = await LogWriter.open(log2, q, 1, 'node-b');
    const recs = slotRecords(p, 0, 60);
    const other = slotRecords(q, 0, 60);
    for (let i = 0; i < 60; i++) await Promise.all([wp.append(recs[i]!), wq.append(other[i]!)]);
    // A takeover in the middle of the log leaves a fence between slots.
    const w2 = await LogWriter.open(log2, p, 2, 'node-b');
    expect(w2.nextSlot).toBe(60);
    const more = slotRecords(p, 60, 10, recs[59]!);
    await w2.appendRun(more);
    const all = [...recs, ...more];

    for (const k of [0, 1, 17, 59, 60, 69]) {
      const got = await log1.slots(p, k);
      expect(got.map((r) => r.slot)).toEqual(all.slice(k).map((r) => r.slot));
      expect(got.map((r) => r.assignmentId)).toEqual(all.slice(k).map((r) => r.assignmentId));
      expect(Buffer.from(got[0]!.item!)).toEqual(Buffer.from(all[k]!.item!));
      expect(verify(p, await log1.read(p, k), { fromSlot: k }).clean).toBe(true);
    }
    expect(await log1.slots(p, 70)).toEqual([]);
    expect(await log1.slots(randomId(), 0)).toEqual([]);
    const report = verify(p, await log1.read(p), { local: all });
    expect(report).toMatchObject({ slots: 70, fences: 2, gaps: 0, duplicates: 0, clean: true });
    expect(report.local).toEqual({ records: 70, missing: 0, extra: 0, mismatched: 0 });
  });

  it('a run is stored as few messages as fit (big items split it), and reads back slot by slot from any slot', async () => {
    const pid = randomId();
    const w = await LogWriter.open(log1, pid, 1, 'node-a');
    const recs = slotRecords(pid, 0, 12).map((r, i) => (i % 4 === 3 ? { ...r, item: new Uint8Array(300 * 1024) } : r));
    const before = (await log1.tail(pid))!.seq;
    await w.appendRun(recs);
    const entries = await log1.read(pid);
    const slots = entries.filter((e) => e.kind === 'slot');
    expect(slots.map((e) => e.slot)).toEqual(recs.map((r) => r.slot));
    // Fewer messages than slots, more than one (the 300 KiB items do not all fit in one).
    const messages = new Set(slots.map((e) => e.seq));
    expect(messages.size).toBeGreaterThan(1);
    expect(messages.size).toBeLessThan(recs.length);
    expect(Math.min(...messages)).toBeGreaterThan(before);
    expect((await log1.tail(pid))!.slot).toBe(11);
    for (const from of [0, 2, 5, 11]) expect((await w.missing(from)).map((r) => r.slot)).toEqual(recs.slice(from).map((r) => r.slot));
    expect(verify(pid, entries).clean).toBe(true);
    // Another writer's run after it is refused by the stream, as a single slot's would be.
    const stale = await log2.appendRun(pid, slotRecords(pid, 12, 2, recs[11]!), before, 1).catch((e) => e);
    expect(stale).toBeInstanceOf(StaleWriter);
  });
});
