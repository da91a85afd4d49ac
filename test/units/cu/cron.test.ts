import { afterEach, describe, expect, it } from 'vitest';
import { CU_MANAGER, parseCrons, ticks, type EvalOutput } from '../../../units/cu/index.js';
import { MODULES, lastLine, printed, resultOf, run, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

describe('cron intervals and times', () => {
  it('reads Cron-Interval and the Cron-Tag-* after it; block-based intervals are set aside', () => {
    const { crons, ignored } = parseCrons([
      { name: 'Cron-Interval', value: '2-minutes' },
      { name: 'Cron-Tag-Action', value: 'Slow' },
      { name: 'Cron-Interval', value: '10-blocks' },
      { name: 'Cron-Tag-Action', value: 'Block' },
      { name: 'Cron-Interval', value: '30-seconds' },
      { name: 'Cron-Tag-Action', value: 'Fast' },
      { name: 'Cron-Tag-Extra', value: 'x' },
    ]);
    expect(crons).toEqual([
      { interval: '30-seconds', seconds: 30, index: 2, tags: [{ name: 'Action', value: 'Fast' }, { name: 'Extra', value: 'x' }] },
      { interval: '2-minutes', seconds: 120, index: 0, tags: [{ name: 'Action', value: 'Slow' }] },
    ]);
    expect(ignored).toEqual(['10-blocks']);
    expect(() => parseCrons([{ name: 'Cron-Tag-Action', value: 'x' }])).toThrow(/before any Cron-Interval/);
    expect(() => parseCrons([{ name: 'Cron-Interval', value: '5-fortnights' }])).toThrow(/unknown unit/);
  });

  it('ticks count whole intervals from the spawn second; same time: the more frequent first; bounded', () => {
    const { crons } = parseCrons([
      { name: 'Cron-Interval', value: '2-seconds' },
      { name: 'Cron-Interval', value: '1-second' },
    ]);
    const origin = 1_700_000_000_500;
    const t = (s: number) => 1_700_000_000_000 + s * 1000;
    const got = ticks(crons, origin, origin, t(4) + 1, Number.MAX_SAFE_INTEGER, 100).map((k) => [k.at, k.cron.interval]);
    expect(got).toEqual([
      [t(1), '1-second'],
      [t(2), '1-second'],
      [t(2), '2-seconds'],
      [t(3), '1-second'],
      [t(4), '1-second'],
      [t(4), '2-seconds'],
    ]);
    expect(ticks(crons, origin, t(2) + 1, t(4), Number.MAX_SAFE_INTEGER, 100).map((k) => k.at)).toEqual([t(3)]);
    expect(ticks(crons, origin, origin, t(100), t(2), 100)).toHaveLength(3);
    expect(ticks(crons, origin, origin, t(100), Number.MAX_SAFE_INTEGER, 5)).toHaveLength(5);
  });
});

let h: CuHarness | undefined;
let h2: CuHarness | undefined;
afterEach(async () => {
  await h2?.stop();
  await h?.stop();
  h = h2 = undefined;
});

const T0 = 1_700_000_000_000;
const TICK = `ticks = ticks or {}
Handlers.add("tick", Handlers.utils.hasMatchingTag("Action", "Tick"), function (m)
  if m.Timestamp == ${T0 + 3000} then error("the third tick fails") end
  table.insert(ticks, m.Timestamp)
  Send({ Target = "${'T'.repeat(43)}", Action = "Ticked", Data = tostring(m.Timestamp) })
end)`;

describe.each(MODULES)('cron messages (%s)', (moduleName) => {
  it('are evaluated between slots by time, up to the present after the last one, paged by GET /cron, and replayed identically', async () => {
    let suNow = T0;
    let cuNow = T0;
    h = await startCu({ suNow: () => suNow, cuNow: () => cuNow, config: { cronSafetyMs: 1000 } });
    const pid = await spawnAos(h, moduleName, [
      { name: 'Cron-Interval', value: '1-second' },
      { name: 'Cron-Tag-Action', value: 'Tick' },
    ]);
    suNow = T0 + 100;
    expect(await run(h, pid, `${TICK}; return "ok"`)).toBe('ok');
    // Ticks at +1 s, +2 s, +3 s (which fails) come before a message at +3.5 s.
    suNow = T0 + 3500;
    const count = async () => lastLine(printed(await resultOf(h!, pid, (await send(h!, pid, { action: 'Eval', data: 'return #ticks' })).id)));
    expect(await count()).toBe('2');
    // Asking for a slot the log does not have yet runs crons up to the present (less the margin), no further.
    cuNow = T0 + 5700;
    await h.api.evaluate(pid, 1000);
    expect((await h.api.status(pid)).cron).toBe(T0 + 4000);
    // With no more messages, ticks go on up to the present (less the safety margin).
    cuNow = T0 + 6600;
    await h.api.evaluate(pid);
    const status = await h.api.status(pid);
    expect(status).toMatchObject({ cron: T0 + 5000, crons: ['1-second'] });
    const page = await h.api.cron(pid, {});
    expect(page.edges.map((e) => e.node.Messages.length)).toEqual([1, 1, 0, 1, 1]);
    expect(page.edges.map((e) => (e.node.Error ? 'error' : (e.node.Messages[0] as { Data: string }).Data))).toEqual([
      String(T0 + 1000),
      String(T0 + 2000),
      'error',
      String(T0 + 4000),
      String(T0 + 5000),
    ]);
    const next = await h.api.cron(pid, { from: page.edges[1]!.cursor, limit: 2 });
    expect(next.edges.map((e) => e.node)).toEqual(page.edges.slice(2, 4).map((e) => e.node));
    expect(next.pageInfo.hasNextPage).toBe(true);
    // /results has them in log order with the scheduled messages.
    const all = await h.api.results(pid, { limit: 100 });
    expect(all.edges).toHaveLength(3 + 5);
    expect(all.edges.map((e) => e.node).filter((n: EvalOutput) => n.Messages.some((m) => (m as { Data?: string }).Data === String(T0 + 4000)))).toHaveLength(1);

    // A message at +7.2 s: the ticks at +6 s and +7 s come first; none is evaluated twice.
    suNow = T0 + 7200;
    const last = await send(h, pid, { action: 'Eval', data: 'return #ticks' });
    expect(lastLine(printed(await resultOf(h, pid, last.id)))).toBe('6');

    // Evicted at a cron position and back: same memory, ticks go on without repeats.
    const before = await h.api.hash(pid);
    await h.node.call(CU_MANAGER, { op: 'evict', processId: pid });
    expect(await h.api.hash(pid)).toEqual(before);
    cuNow = T0 + 9600;
    await h.api.evaluate(pid);
    expect(await run(h, pid, 'return table.concat(ticks, ",")')).toBe([1, 2, 4, 5, 6, 7, 8].map((s) => T0 + s * 1000).join(','));

    // Another CU replaying the same log up to that last message reaches the same memory.
    h2 = await startCu({ name: 'cu-b', reader: h.su.reader, cuNow: () => T0 + 100_000 });
    await h2.api.evaluate(pid, last.slot);
    await h.node.call(CU_MANAGER, { op: 'evict', processId: pid });
    const hA = await (async () => {
      // A's memory at that slot: restore it there from its own log and results.
      const { ProcessEngine } = await import('../../../units/cu/engine.js');
      const e = await ProcessEngine.load(pid, h!.cu.runtime, h!.node.log);
      await e.restoreTo({ slot: last.slot, cron: -1 });
      const x = await e.hash();
      await e.close();
      return x;
    })();
    const hB = await h2.api.hash(pid);
    expect(hB).toEqual(hA);
  });
});
