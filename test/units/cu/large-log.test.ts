/**
 * A log of large messages is evaluated a bounded number of bytes at a time: every read the CU
 * makes of the SU log holds at most `readPageBytes` of items (or one item), when it catches up
 * and when it replays after a rollback. Before, a read took `readPage` (256) messages whatever
 * their size, and the process actor and its evaluator each held all of them: 150 messages of
 * 9.5 MB took a node to 10 GB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduleReader, ScheduledMessage } from '../../../units/schedule.js';
import { evalLua, resultOf, run, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

const MIB = 1024 * 1024;
const BUDGET = 8 * MIB;
const COUNT = 12;

interface Read {
  entries: number;
  bytes: number;
}
const reads: Read[] = [];
const bytesOf = (e: ScheduledMessage) => e.assignment.byteLength + (e.message?.byteLength ?? 0);

/** The CU's reader, recording what each read returned. */
const watched = (reader: ScheduleReader): ScheduleReader => ({
  process: (pid) => reader.process(pid),
  async read(pid, from, to, limit, maxBytes) {
    const page = await reader.read(pid, from, to, limit, maxBytes);
    reads.push({ entries: page.length, bytes: page.reduce((n, e) => n + bytesOf(e), 0) });
    return page;
  },
});

let h: CuHarness;
beforeAll(async () => {
  h = await startCu({ wrapReader: watched });
});
afterAll(async () => {
  await h?.stop();
});

describe('evaluating a log of large messages', () => {
  it(`${COUNT} messages of 2 MiB: every read is within the byte budget; results and state are right, also after a rollback`, async () => {
    expect(h.cu.runtime.config.readPageBytes).toBe(BUDGET);
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32');
    await run(h, pid, `Handlers.add("big", Handlers.utils.hasMatchingTag("Action", "Big"), function (msg)
      Count = (Count or 0) + 1; Bytes = (Bytes or 0) + #msg.Data; Last = msg.Data:sub(1, 1) end); return "ok"`);
    const sent = [];
    for (let i = 0; i < COUNT; i++) sent.push(await send(h, pid, { action: 'Big', data: String(i % 10).repeat(2 * MIB) }));

    reads.length = 0;
    expect(await h.api.evaluate(pid)).toBe(sent[COUNT - 1]!.slot);
    const catchUp = [...reads];
    expect(catchUp.reduce((n, r) => n + r.entries, 0)).toBeGreaterThanOrEqual(COUNT);
    for (const r of catchUp) if (r.entries > 1) expect(r.bytes).toBeLessThanOrEqual(BUDGET);
    expect(catchUp.filter((r) => r.entries > 0).length).toBeGreaterThanOrEqual(Math.ceil((COUNT * 2 * MIB) / BUDGET));
    expect(await run(h, pid, 'return Count .. " " .. Bytes .. " " .. Last')).toBe(`${COUNT} ${COUNT * 2 * MIB} ${(COUNT - 1) % 10}`);

    // An error result rolls the memory back: with no checkpoint, the whole log is replayed.
    reads.length = 0;
    const bad = await evalLua(h, pid, 'Count = 0; error("boom")');
    expect(String((await resultOf(h, pid, bad.id)).Error)).toMatch(/boom/);
    const replay = [...reads];
    expect((await h.api.status(pid)).stats.rollbacks).toBe(1);
    expect(replay.reduce((n, r) => n + r.entries, 0)).toBeGreaterThanOrEqual(COUNT);
    for (const r of replay) if (r.entries > 1) expect(r.bytes).toBeLessThanOrEqual(BUDGET);
    expect(await run(h, pid, 'return Count .. " " .. Bytes')).toBe(`${COUNT} ${COUNT * 2 * MIB}`);
  });
});
