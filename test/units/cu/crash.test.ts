import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createDataItem } from '../../../units/ans104/index.js';
import { MODULES, evalLua, lastLine, printed, resultOf, run, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const waitFor = async (cond: () => Promise<boolean> | boolean, what: string, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

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
