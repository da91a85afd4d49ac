import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProcessEngine } from '../../../units/cu/engine.js';
import type { EvaluatorPool } from '../../../units/cu/index.js';
import { createDataItem } from '../../../units/ans104/index.js';
import { MODULES, evalLua, lastLine, printed, resultOf, run, spawnAos, startCu, waitFor, type CuHarness } from './support/harness.js';

let h: CuHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each(MODULES)('crash recovery (%s)', (moduleName) => {
  it('killing the process actor mid-run: its supervisor restarts it, it picks up from its results and checkpoint, nothing is lost or evaluated twice', async () => {
    h = await startCu({ config: { stepMessages: 4, checkpointEvery: 25 } });
    const pid = await spawnAos(h, moduleName);
    const N = 120;
    const ids: string[] = [];
    for (let i = 1; i <= N; i++) ids.push((await evalLua(h, pid, `c = (c or 0) + 1; return c`)).id);
    const running = h.api.evaluate(pid).catch((e: Error) => e);
    // Kill it twice while it evaluates (an untrappable kill runs no terminate: no checkpoint on the way out).
    for (const after of [30, 70]) {
      await waitFor(() => h!.cu.runtime.store.lastResultSlot(pid) >= after, `slot ${after}`);
      expect(h.node.kill(`cu/${pid}`)).toHaveLength(1);
    }
    // The API's call was made again to the restarted actor: the caller only sees the answer.
    expect(await running).toBe(N);
    await waitFor(() => h!.node.whereis(`cu/${pid}`) !== undefined, 'the restarted actor');
    const last = await resultOf(h, pid, ids[N - 1]!);
    expect(lastLine(printed(last))).toBe(String(N));
    for (const [i, id] of ids.entries()) expect(lastLine(printed(h.cu.runtime.store.resultOf(pid, id)!.output))).toBe(String(i + 1));
    expect(await run(h, pid, 'return c')).toBe(String(N));
  });
});

describe('a process actor killed while it waits for a thread', () => {
  it('the thread it gets after the kill is handed back once: the next two processes get threads of their own, each with its own memory', async () => {
    h = await startCu();
    const [a, c] = [await spawnAos(h, MODULES[0]), await spawnAos(h, MODULES[0])];
    // Hold the pool's answers: the first (a's, killed meanwhile) until the kill, the others until
    // the killed incarnation has dealt with the thread it was given.
    const pool = h.cu.runtime.pool as EvaluatorPool;
    const acquire = pool.acquire.bind(pool);
    const gate = () => {
      let resolve!: () => void;
      return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    };
    const [first, rest] = [gate(), gate()];
    let asked = 0;
    pool.acquire = async (key?: string) => {
      await (++asked === 1 ? first.promise : rest.promise);
      return acquire(key);
    };
    // The killed incarnation's failed step ends with `reopen` (after handing its thread back).
    const reopened = vi.spyOn(ProcessEngine.prototype, 'reopen');
    try {
      const evaluated = h.api.evaluate(a).catch((e: Error) => e);
      await waitFor(() => asked === 1, "a's request for a thread");
      expect(h.node.kill(`cu/${a}`)).toHaveLength(1);
      first.resolve();
      await waitFor(() => reopened.mock.calls.length > 0, 'the killed incarnation to give up');
      expect(pool.spares).toBe(1);
      rest.resolve();
      expect(await evaluated).toBeTypeOf("number");
      expect(await run(h, a, 'return ao.id')).toBe(a);
      expect(await run(h, c, 'return ao.id')).toBe(c);
      expect(await run(h, a, 'return ao.id')).toBe(a);
    } finally {
      reopened.mockRestore();
    }
  });
});

describe('a process that cannot be evaluated here', () => {
  it('a spawn naming a module this CU does not have is a clear error (422) for that process, and the node goes on', async () => {
    h = await startCu();
    const item = await createDataItem(
      {
        data: '',
        anchor: randomBytes(32),
        tags: [
          { name: 'Data-Protocol', value: 'ao' },
          { name: 'Type', value: 'Process' },
          { name: 'Module', value: 'M'.repeat(43) },
          { name: 'Scheduler', value: h.su.address },
        ],
      },
      h.user,
    );
    await h.client.schedule(item.id, { op: 'spawn', id: item.id, raw: item.raw });
    const app = Fastify();
    await app.register(h.cu.routes(h.api), { prefix: '/cu' });
    const r = await app.inject({ method: 'GET', url: `/cu/result/${item.id}?process-id=${item.id}` });
    expect(r.statusCode).toBe(422);
    expect(r.json().error).toMatch(/Module not found: M{43} is not known to this CU \(looked in its store\)/);
    // (An id of 43 'Z's is not canonical base64url: it cannot be a message id, a 404 of its own.)
    const unknown = await app.inject({ method: 'GET', url: `/cu/result/${'Q'.repeat(43)}?process-id=${'A'.repeat(43)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/not known to the scheduler/);
    const fine = await spawnAos(h, MODULES[0]);
    expect(await run(h, fine, 'return "fine"')).toBe('fine');
    await app.close();
  });
});
