/**
 * Readers outside the SU read its log through `su.log` (SuLogReader): everything a reader
 * needs, and no way to write. `Su` has no `store` and no sequencer runtime, so an outside
 * append does not compile, and nothing reachable from the Su object has a writer behind it, so
 * not even a cast reaches one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Su, SuLogReader } from '../../../units/su/index.js';
import { messageItem, spawnProcess, startSu, type Harness } from './helpers.js';

const hs: Harness[] = [];
afterEach(async () => {
  for (const h of hs.splice(0)) await h.stop();
});

describe('the SU log reader', () => {
  it('reads heads, slots, items and refs of what the SU assigned, and hears each committed run', async () => {
    const h = await startSu();
    hs.push(h);
    const runs: { processId: string; nextSlot: number; slots: number }[] = [];
    const off = h.su.log.onAppended((processId, nextSlot, run) => runs.push({ processId, nextSlot, slots: run.slots }));
    const pid = await spawnProcess(h);
    const m = await messageItem(pid);
    const r = await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
    if (!('ok' in r)) throw new Error(r.error);
    off();
    const log: SuLogReader = h.su.log;
    expect(log.process(pid)).toMatchObject({ processId: pid, nextSlot: 2, head: { slot: 1 } });
    expect(log.slot(pid, 1)).toMatchObject({ slot: 1, messageId: m.id, kind: 'message' });
    expect(log.slotRange(pid, 0, 10, 10).map((s) => s.slot)).toEqual([0, 1]);
    expect([...log.slotsFrom(pid, 1, 1)].map((s) => s.messageId)).toEqual([m.id]);
    expect(log.slotOf(m.id, pid)).toBe(1);
    expect(log.locate(m.id)).toEqual({ processId: pid, slot: 1 });
    expect(Buffer.from(log.item(m.id)!)).toEqual(Buffer.from(m.raw));
    expect(log.hasItem(pid)).toBe(true);
    expect([...log.heads()]).toEqual([{ processId: pid, nextSlot: 2 }]);
    expect([...log.processIds({}, true)]).toEqual([pid]);
    await log.whenAppended(pid, m.id, new AbortController().signal);
    expect(runs).toEqual([
      { processId: pid, nextSlot: 1, slots: 1 },
      { processId: pid, nextSlot: 2, slots: 1 },
    ]);
  });

  it('has no writer: Su has no store, and the reader it hands out cannot append', async () => {
    const h = await startSu();
    hs.push(h);
    const su: Su = h.su;
    // @ts-expect-error the SU's writable store is not part of Su (tsc fails here if it is again)
    expect(su.store).toBeUndefined();
    // @ts-expect-error nor is what its sequencers run with (which holds the store)
    expect(su.runtime).toBeUndefined();
    // @ts-expect-error a SuLogReader has no append
    expect(su.log.append).toBeUndefined();
    expect(appendersReachable(su)).toEqual([]);
  });
});

/** Paths from `root` (through properties, own or inherited) to an object with an `append` method. */
function appendersReachable(root: object): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: string) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (typeof (v as { append?: unknown }).append === 'function') found.push(path);
    for (const k of Object.getOwnPropertyNames(v)) walk((v as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(root, 'su');
  return found;
}
