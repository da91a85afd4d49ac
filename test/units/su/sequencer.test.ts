import { afterEach, describe, expect, it } from 'vitest';
import { countChildren, whichChildren } from '../../../runtime/index.js';
import { SimulatedClock } from '../../../runtime/clock.js';
import { SEQUENCERS } from '../../../supervisors/su.js';
import { sequencerName } from '../../../units/su/index.js';
import type { ScheduleReply } from '../../../units/su/index.js';
import { checkLog, messageItem, spawnItem, spawnProcess, startSu, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ok = (r: ScheduleReply) => {
  if (!('ok' in r)) throw new Error(`expected a slot, got ${r.error}`);
  return r.ok;
};

async function send(h: Harness, processId: string, n: number) {
  const items = await Promise.all(Array.from({ length: n }, () => messageItem(processId)));
  const replies = await Promise.all(items.map((m) => h.client.schedule(processId, { op: 'message', id: m.id, raw: m.raw })));
  return { items, slots: replies.map((r) => ok(r).slot) };
}

describe.each([
  ['inline signing', 0],
  ['signing pool', 2],
] as const)('sequencer (%s)', (_label, signers) => {
  it('spawn gets slot 0, then messages get 1..n without gaps; the log verifies', async () => {
    h = await startSu({ signers });
    const pid = await spawnProcess(h);
    const sequential: number[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await messageItem(pid);
      sequential.push(ok(await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw })).slot);
    }
    expect(sequential).toEqual([1, 2, 3, 4, 5]);
    const log = await checkLog(h.su, pid, { verifyAll: true, signer: Buffer.from(h.wallet.owner).toString('base64url') });
    expect(log.nextSlot).toBe(6);
    expect(log.messages[0]).toBe(pid);
  });

  it('the same message twice gets the same slot, sequentially and concurrently; a spawn twice is slot 0', async () => {
    h = await startSu({ signers });
    const pid = await spawnProcess(h);
    const m = await messageItem(pid);
    const a = ok(await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw }));
    const b = ok(await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw }));
    expect(b).toMatchObject({ slot: a.slot, assignmentId: a.assignmentId, timestamp: a.timestamp, existing: true });
    expect(a.existing).toBe(false);

    const m2 = await messageItem(pid);
    const many = await Promise.all(Array.from({ length: 20 }, () => h!.client.schedule(pid, { op: 'message', id: m2.id, raw: m2.raw })));
    expect(new Set(many.map((r) => ok(r).assignmentId)).size).toBe(1);
    expect(ok(many[0]!).slot).toBe(2);

    const s = await spawnItem(h.su.address);
    const again = await Promise.all([0, 1, 2].map(() => h!.client.schedule(s.id, { op: 'spawn', id: s.id, raw: s.raw })));
    expect(again.map((r) => ok(r).slot)).toEqual([0, 0, 0]);
    expect((await checkLog(h.su, pid)).nextSlot).toBe(3);
  });

  it('500 concurrent messages to one process: slots 1..500, each once', async () => {
    h = await startSu({ signers });
    const pid = await spawnProcess(h);
    const { items, slots } = await send(h, pid, 500);
    expect([...slots].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // Submitting all of them again (concurrently) changes nothing.
    const again = await Promise.all(items.map((m) => h!.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw })));
    expect(again.map((r) => ok(r).slot)).toEqual(slots);
    const log = await checkLog(h.su, pid);
    expect(log.nextSlot).toBe(501);
    items.forEach((m, i) => expect(log.messages[slots[i]!]).toBe(m.id));
  });

  it('500 concurrent messages spread over 50 processes: every log gap-free, dedupe holds', async () => {
    h = await startSu({ signers });
    const pids = await Promise.all(Array.from({ length: 50 }, () => spawnProcess(h!)));
    const items = await Promise.all(Array.from({ length: 500 }, (_, i) => messageItem(pids[i % 50]!)));
    const twice = [...items, ...items.slice(0, 100)];
    const replies = await Promise.all(twice.map((m, i) => h!.client.schedule(pids[i % 500 % 50]!, { op: 'message', id: m.id, raw: m.raw })));
    for (let i = 0; i < 100; i++) expect(ok(replies[500 + i]!).assignmentId).toBe(ok(replies[i]!).assignmentId);
    for (const pid of pids) {
      const log = await checkLog(h.su, pid);
      expect(log.nextSlot).toBe(11);
    }
    expect((await countChildren(h.node, SEQUENCERS)).active).toBe(50);
  });
});

describe.each([
  ['inline signing', 0],
  ['signing pool', 2],
] as const)('a run that cannot be signed (%s)', (_label, signers) => {
  it('is refused with the reason, the sequencer is not restarted, and the next message gets the slot it would have had', async () => {
    h = await startSu({ signers });
    const pid = await spawnProcess(h);
    const bad = await messageItem(pid);
    // Fault injection: the signer fails for runs holding `bad` (as it would for an assignment
    // past the item limits), the way the real one throws or its worker rejects.
    const signer = h.runtime.signer;
    const real = signer.signRun.bind(signer);
    signer.signRun = (run) => {
      if (!run.items.some((i) => i.messageId === bad.id)) return real(run);
      if (signers === 0) throw new Error('tags encode past the limit');
      return Promise.reject(new Error('tags encode past the limit'));
    };
    const before = h.node.whereis(sequencerName(pid))!;
    expect(await h.client.schedule(pid, { op: 'message', id: bad.id, raw: bad.raw })).toEqual({ error: 'the assignment could not be signed: tags encode past the limit' });
    expect(h.node.whereis(sequencerName(pid))!.equals(before)).toBe(true);
    const { slots } = await send(h, pid, 3);
    expect(slots).toEqual([1, 2, 3]);
    const log = await checkLog(h.su, pid, { verifyAll: true });
    expect(log.nextSlot).toBe(4);
    expect(log.messages).not.toContain(bad.id);
  });
});

describe('sequencer lifecycle', () => {
  it('two concurrent starts for an unstarted process end with one sequencer', async () => {
    h = await startSu();
    const s = await spawnItem(h.su.address);
    const [a, b] = await Promise.all([h.client.sequencer(s.id), h.client.sequencer(s.id)]);
    expect(a.equals(b)).toBe(true);
    expect(h.node.whereis(sequencerName(s.id))!.equals(a)).toBe(true);
    expect(await whichChildren(h.node, SEQUENCERS)).toHaveLength(1);
  });

  it('stops when idle (normal, not restarted) and starts again on the next request, where it left off', async () => {
    // The idle time is on the node's clock: simulated, so the test moves it instead of waiting.
    const clock = new SimulatedClock();
    h = await startSu({ idleMs: 100, clock });
    const pid = await spawnProcess(h);
    await messageItem(pid).then((m) => h!.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw }));
    const first = h.node.whereis(sequencerName(pid));
    expect(first).toBeDefined();
    await clock.advance(99);
    expect(h.node.whereis(sequencerName(pid))!.equals(first!)).toBe(true);
    await clock.advance(1);
    expect(h.node.whereis(sequencerName(pid))).toBeUndefined();
    expect((await countChildren(h.node, SEQUENCERS)).active).toBe(0);
    const m = await messageItem(pid);
    expect(ok(await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw })).slot).toBe(2);
    expect(h.node.whereis(sequencerName(pid))!.equals(first!)).toBe(false);
    await checkLog(h.su, pid);
  });

  it('refuses messages for a process it does not host, and assigns only transactions it holds', async () => {
    h = await startSu();
    const pid = await spawnProcess(h);
    const other = await spawnProcess(h);
    const stranger = (await spawnItem(h.su.address)).id;
    const m = await messageItem(stranger);
    expect(await h.client.schedule(stranger, { op: 'message', id: m.id, raw: m.raw })).toEqual({ error: `Process not found: ${stranger}` });
    expect(await h.client.schedule(pid, { op: 'assign', id: 'A'.repeat(43) })).toMatchObject({ error: expect.stringMatching(/not found on this SU/) });

    // A message of `other` assigned to `pid`: a slot of pid's log that names it.
    const mo = await messageItem(other);
    ok(await h.client.schedule(other, { op: 'message', id: mo.id, raw: mo.raw }));
    const a = ok(await h.client.schedule(pid, { op: 'assign', id: mo.id, exclude: ['Data'] }));
    expect(a).toMatchObject({ slot: 1, messageId: mo.id });
    expect(ok(await h.client.schedule(pid, { op: 'assign', id: mo.id })).assignmentId).toBe(a.assignmentId);
    const entry = h.su.log.slot(pid, 1)!;
    expect(entry.kind).toBe('assign');
    await checkLog(h.su, pid);
    expect(h.su.reader.find(a.assignmentId)?.slot).toBe(1);
  });
});
