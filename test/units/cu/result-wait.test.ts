/**
 * `GET /cu/result/:id` waits only for what is on its way: a message assigned but not evaluated
 * yet, or one this node has accepted and not yet handed to the SU (an MU push job). An id that
 * cannot be a message id, or a message never assigned to the process, is a 404 at once. Before,
 * each of those held the request for cu.resultWaitMs (30 s) and then answered 404.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem } from '../../../units/ans104/index.js';
import { cuRoutes } from '../../../units/cu/index.js';
import { evalLua, lastLine, printed, resultOf, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness;
let app: FastifyInstance;
let pid: string;
/** Ids this node "has accepted" (as the MU's pending push jobs would say). */
const accepted = new Set<string>();
/** Called when the API asks whether an id is on its way. */
let asked: ((id: string) => void) | undefined;
const WAIT = 30_000;

beforeAll(async () => {
  // On demand only: an idle process would otherwise evaluate its messages as the SU commits them
  // (cu.speculate), and "assigned but not evaluated yet" would not last.
  h = await startCu({ config: { speculate: false } });
  app = Fastify();
  const api = h.cu.api(h.node, {
    pending: (processId, messageId) => {
      asked?.(messageId);
      return processId === pid && accepted.has(messageId);
    },
  });
  await app.register(cuRoutes(api, { resultWaitMs: WAIT }), { prefix: '/cu' });
  pid = await spawnAos(h, 'aos-2.0.4-wasm32');
  await resultOf(h, pid, pid);
});
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

const result = async (id: string) => {
  const t0 = Date.now();
  const r = await app.inject({ method: 'GET', url: `/cu/result/${id}?process-id=${pid}` });
  return { status: r.statusCode, body: r.json(), ms: Date.now() - t0 };
};

const evalItem = (lua: string) =>
  createDataItem(
    { data: lua, target: pid, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }] },
    h.user,
  );

describe('GET /cu/result/:id', () => {
  it('an id that cannot be a message id: 404 at once, with the reason', async () => {
    for (const id of ['q'.repeat(43), 'short', '%25'.repeat(20)]) {
      const r = await result(id);
      expect(r.status, id).toBe(404);
      expect(r.body.error).toMatch(/cannot be a message id/);
      expect(r.ms).toBeLessThan(5_000);
    }
  });

  it('a message never assigned to the process: 404 at once', async () => {
    const never = await evalItem('return 1');
    const r = await result(never.id);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/never assigned/);
    expect(r.ms).toBeLessThan(5_000);
    // Assigned to another process: still never assigned to this one.
    const other = await spawnAos(h, 'aos-2.0.4-wasm32');
    const sent = await evalLua(h, other, 'return 2');
    expect((await result(sent.id)).status).toBe(404);
  });

  it('a message assigned but not evaluated yet is waited for, and answered', async () => {
    const queued = await evalLua(h, pid, 'return "queued"');
    // The CU evaluates on demand: nothing has asked for this slot yet.
    expect((await h.api.status(pid)).stored.slot).toBeLessThan(queued.slot);
    const r = await result(queued.id);
    expect(r.status).toBe(200);
    expect(lastLine(printed(r.body))).toBe('queued');
  });

  it('a message this node accepted but has not handed to the SU yet is waited for', async () => {
    const item = await evalItem('return "late"');
    accepted.add(item.id);
    const waiting = new Promise<void>((resolve) => (asked = (id) => id === item.id && resolve()));
    const pending = result(item.id);
    // Assigned once the request has found it missing and is waiting: the answer is its result, not a 404.
    await waiting;
    const s = await h.client.schedule(pid, { op: 'message', id: item.id, raw: item.raw });
    expect('ok' in s).toBe(true);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(lastLine(printed(r.body))).toBe('late');
  });

  it('the waiting request is woken by the assignment, not by a timer: the log is looked at once more, not polled', async () => {
    const item = await evalItem('return "woken"');
    accepted.add(item.id);
    let looks = 0;
    const waiting = new Promise<void>((resolve) => (asked = (id) => id === item.id && (looks++, resolve())));
    const pending = result(item.id);
    await waiting;
    // Long enough for a 100 ms poll to have looked several times.
    await new Promise((r) => setTimeout(r, 600));
    expect(looks).toBe(1);
    expect('ok' in (await h.client.schedule(pid, { op: 'message', id: item.id, raw: item.raw }))).toBe(true);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(lastLine(printed(r.body))).toBe('woken');
  });
});
