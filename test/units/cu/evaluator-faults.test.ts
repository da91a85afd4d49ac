/**
 * Evaluator threads killed under load (worker/client.ts, evaluator-owner.ts, process.ts): the
 * real aos 2.0.4 module, processes fed through the node's SU, threads terminated from outside
 * while they evaluate. The owner of the pool sees each death and starts spares again; each
 * process actor that held a killed thread is restarted by its supervisor, hydrates again and
 * evaluates on in another thread; every message has one result, and the counter says none was
 * lost or applied twice.
 */
import { afterEach, expect, it } from 'vitest';
import { CU_EVALUATORS, EvaluatorPool, type Evaluator } from '../../../units/cu/index.js';
import { evalLua, lastLine, printed, run, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const MODULE = 'aos-2.0.4-wasm32';
const SPARES = 2;
/** The thread's worker, reached as the signing pool's fault test reaches its workers. */
const kill = (t: Evaluator) => (t as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
const turn = () => new Promise((r) => setImmediate(r));

it('evaluator threads killed while 4 processes evaluate 40 messages each: their actors restart and hydrate, every message has one right result, the warm pool refills', async () => {
  h = await startCu({ config: { spareEvaluators: SPARES, stepMessages: 4, checkpointEvery: 15 } });
  const pool = h.cu.runtime.pool as EvaluatorPool;
  const deaths = () => h!.node.call(CU_EVALUATORS, { op: 'deaths' });
  const P = 4;
  const N = 40;
  const pids = await Promise.all(Array.from({ length: P }, () => spawnAos(h!, MODULE)));
  const ids = new Map<string, string[]>(pids.map((p) => [p, []]));
  // A counter whose every message does some work, so that the threads are busy long enough to be killed under a message.
  for (let i = 0; i < N; i++) {
    for (const p of pids) ids.get(p)!.push((await evalLua(h, p, 'for i = 1, 200000 do end; c = (c or 0) + 1; return c')).id);
  }
  // The actors started (a status asks nothing of the thread), to tell the restarted ones later.
  for (const p of pids) await h.api.status(p);
  const actorsBefore = new Map(pids.map((p) => [p, h!.node.whereis(`cu/${p}`)]));
  const running = Promise.all(pids.map((p) => h!.api.evaluate(p)));

  // Fault injection: once results are being written, terminate two threads that are under a request.
  const killed: number[] = [];
  const exits: Promise<unknown>[] = [];
  while (killed.length < 2) {
    const busy = pool.threads().filter((t) => t.busy && !killed.includes(t.threadId));
    const evaluating = pids.some((p) => h!.cu.runtime.store.lastResultSlot(p) >= 3);
    if (evaluating && busy.length > 0) {
      const t = busy[0]!;
      killed.push(t.threadId);
      exits.push(t.died);
      await kill(t);
    } else await turn();
  }
  // The exits were seen as deaths (not stops asked for), and by the pool's owner.
  const died = (await Promise.all(exits)) as { threadId: number; busy: boolean; crashed: boolean }[];
  expect(died.map((d) => d.threadId)).toEqual(killed);
  expect(died.every((d) => d.busy && !d.crashed)).toBe(true);
  expect(await deaths()).toBe(2);

  // The API's calls were made again to the restarted actors: the callers only see the answers.
  expect(await running).toEqual(pids.map(() => N));
  const restarted = pids.filter((p) => h!.node.whereis(`cu/${p}`) !== undefined && !h!.node.whereis(`cu/${p}`)!.equals(actorsBefore.get(p)!));
  expect(restarted).toHaveLength(2);
  for (const p of pids) {
    for (const [i, id] of ids.get(p)!.entries()) {
      const r = h.cu.runtime.store.resultOf(p, id);
      expect(r, `result of message ${i + 1} of ${p}`).toBeDefined();
      expect(r!.output.Error).toBeUndefined();
      expect(lastLine(printed(r!.output))).toBe(String(i + 1));
    }
  }
  // Later messages evaluate in threads that are not the killed ones.
  for (const p of restarted) expect(await run(h, p, 'c = c + 1; return c')).toBe(String(N + 1));
  expect(pool.threads().some((t) => killed.includes(t.threadId))).toBe(false);

  // A thread killed under an idle process: its actor (linked to it) restarts too, and the process's next message is right.
  const held = pool.threads().find((t) => t.uses > 0 && !t.busy)!;
  const actorsNow = new Map(pids.map((p) => [p, h!.node.whereis(`cu/${p}`)!]));
  const idleExit = held.died;
  await kill(held);
  expect((await idleExit).busy).toBe(false);
  expect(await deaths()).toBe(3);
  for (const p of pids) expect(await run(h, p, 'c = c + 1; return c')).toBe(String(restarted.includes(p) ? N + 2 : N + 1));
  expect(pids.filter((p) => !h!.node.whereis(`cu/${p}`)!.equals(actorsNow.get(p)!))).toHaveLength(1);

  // A spare killed while nobody needs it: the owner starts another in its place.
  await pool.warm();
  const spare = pool.threads().find((t) => t.uses === 0 && !t.busy)!;
  expect(spare).toBeDefined();
  const exit = spare.died;
  await kill(spare);
  expect((await exit).busy).toBe(false);
  expect(await deaths()).toBe(4);
  expect(pool.warmThreads).toBe(SPARES);
  await pool.warm();
  expect(pool.threads().some((t) => t.threadId === spare.threadId)).toBe(false);
}, 180_000);

it('the pool\'s owner killed: the tree restarts it and the process actors after it, which hydrate again; stopped with the node, it closes the pool', async () => {
  h = await startCu({ config: { spareEvaluators: SPARES } });
  const pool = h.cu.runtime.pool as EvaluatorPool;
  const p = await spawnAos(h, MODULE);
  expect(await run(h, p, 'c = 1; return c')).toBe('1');
  const owner = h.node.whereis(CU_EVALUATORS)!;
  const actor = h.node.whereis(`cu/${p}`)!;
  expect(h.node.kill('cu.evaluators')).toEqual([owner]);
  // rest_for_one: the process actors (after it) are stopped, writing their checkpoints, and it starts again.
  while (h.node.whereis(CU_EVALUATORS) === undefined || h.node.whereis(CU_EVALUATORS)!.equals(owner)) await turn();
  expect(h.node.whereis(`cu/${p}`)?.equals(actor) ?? false).toBe(false);
  expect(await run(h, p, 'c = c + 1; return c')).toBe('2');
  expect(h.node.whereis(`cu/${p}`)!.equals(actor)).toBe(false);
  expect(pool.threads().length).toBeGreaterThan(0);
  // The node's shutdown stops the process actors, then the owner, which stops every thread left.
  await h.node.stop(30_000);
  expect(pool.threads()).toEqual([]);
}, 120_000);

it('threads dying faster than the owner tolerates: it stops and closes the pool, the tree restarts it (a fresh pool) and the process actors after it', async () => {
  h = await startCu({ config: { spareEvaluators: SPARES }, threadDeaths: { max: 1, periodMs: 60_000 } });
  const pool = h.cu.runtime.pool as EvaluatorPool;
  const p = await spawnAos(h, MODULE);
  expect(await run(h, p, 'c = 1; return c')).toBe('1');
  const owner = h.node.whereis(CU_EVALUATORS)!;
  const actor = h.node.whereis(`cu/${p}`)!;
  await pool.warm();
  const before = pool.threads().map((t) => t.threadId);
  const spares = pool.threads().filter((t) => t.uses === 0 && !t.busy);
  expect(spares).toHaveLength(SPARES);
  for (const t of spares) await kill(t);
  while (h.node.whereis(CU_EVALUATORS) === undefined || h.node.whereis(CU_EVALUATORS)!.equals(owner)) await turn();
  // Every thread of the old pool was stopped (the process's own when it was stopped and handed it back).
  expect(pool.threads().some((t) => before.includes(t.threadId))).toBe(false);
  expect(await run(h, p, 'c = c + 1; return c')).toBe('2');
  expect(h.node.whereis(`cu/${p}`)!.equals(actor)).toBe(false);
  expect(await h.node.call(CU_EVALUATORS, { op: 'deaths' })).toBe(0);
}, 120_000);
