/**
 * Adopting another SU's log (what the AO-Sec origin asks of a new host) goes through the
 * process's sequencer, as any run does: written as it is, to an empty log only, never a second
 * time, and the next message continues its slots and hash chain.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ScheduleReply } from '../../../units/su/index.js';
import { nextHashChain } from '../../../units/su/assignment.js';
import { messageItem, spawnProcess, startSu, type Harness } from './helpers.js';

const hs: Harness[] = [];
afterEach(async () => {
  for (const h of hs.splice(0)) await h.stop();
});

const ok = (r: ScheduleReply) => {
  if (!('ok' in r)) throw new Error(`expected a slot, got ${r.error}`);
  return r.ok;
};

async function oldLog(messages: number) {
  const a = await startSu();
  hs.push(a);
  const pid = await spawnProcess(a);
  for (let i = 0; i < messages; i++) {
    const m = await messageItem(pid);
    ok(await a.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw }));
  }
  return { a, pid, slots: a.su.log.slotRange(pid, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) };
}

describe('adopting a log', () => {
  it('writes the old log as it is; the next message continues its slots and chain; asking again answers the same', async () => {
    const { pid, slots } = await oldLog(5);
    const b = await startSu();
    hs.push(b);
    // A request for an adopted message while the adoption is written waits for its adopted slot.
    const again = slots[3]!;
    const [adopted, during] = await Promise.all([
      b.client.schedule(pid, { op: 'adopt', slots }),
      b.client.schedule(pid, { op: 'message', id: again.messageId, raw: again.item! }),
    ]);
    expect(ok(adopted)).toMatchObject({ slot: 5, assignmentId: slots[5]!.assignmentId, existing: false });
    expect(ok(during)).toMatchObject({ slot: 3, assignmentId: again.assignmentId });
    const stored = b.su.log.slotRange(pid, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    expect(stored.map((s) => s.assignmentId)).toEqual(slots.map((s) => s.assignmentId));

    const m = await messageItem(pid);
    const next = ok(await b.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw }));
    expect(next.slot).toBe(6);
    expect(b.su.log.slot(pid, 6)!.hashChain).toBe(nextHashChain(slots[5]!.assignmentId, slots[5]!.hashChain));

    // The origin asking again (its first answer lost) is answered, and nothing is rewritten.
    const b2 = b.su.log.process(pid)!.nextSlot;
    const slotsNow = b.su.log.slotRange(pid, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const twice = await b.client.schedule(pid, { op: 'adopt', slots: slotsNow });
    expect(ok(twice)).toMatchObject({ slot: 6, existing: true });
    expect(b.su.log.process(pid)!.nextSlot).toBe(b2);
  });

  it('refuses a log with a gap, one that does not start with the spawn, and any log where one is held; nothing is written', async () => {
    const { pid, slots } = await oldLog(4);
    const b = await startSu();
    hs.push(b);
    const gap = [...slots.slice(0, 2), ...slots.slice(3)];
    expect(await b.client.schedule(pid, { op: 'adopt', slots: gap })).toEqual({ error: expect.stringContaining('no gap') });
    expect(await b.client.schedule(pid, { op: 'adopt', slots: slots.slice(1) })).toEqual({ error: expect.stringContaining('slot 0') });
    expect(b.su.log.process(pid)).toBeUndefined();

    // b holds the first three slots: the whole log (a longer one) is not written over them.
    ok(await b.client.schedule(pid, { op: 'adopt', slots: slots.slice(0, 3) }));
    const r = await b.client.schedule(pid, { op: 'adopt', slots });
    expect(r).toEqual({ error: expect.stringContaining('not empty') });
    expect(b.su.log.process(pid)!.nextSlot).toBe(3);

    // Nor over a log of its own.
    const c = await startSu();
    hs.push(c);
    const own = await spawnProcess(c);
    const ownSlots = c.su.log.slotRange(own, 0, 10, 10);
    expect(await c.client.schedule(own, { op: 'adopt', slots: [{ ...ownSlots[0]!, assignmentId: 'x'.repeat(43) }] })).toEqual({ error: expect.stringContaining('not empty') });
  });
});
