import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuRoutes } from '../../../units/cu/index.js';
import { MODULES, evalLua, lastLine, printed, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness;
let app: FastifyInstance;
let pid: string;
beforeAll(async () => {
  h = await startCu();
  app = Fastify();
  await app.register(cuRoutes(h.api, { resultWaitMs: 3000 }), { prefix: '/cu' });
  pid = await spawnAos(h, MODULES[0]);
});
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

describe('the CU routes, as the reference CU answers them', () => {
  it('GET / names the CU (its address) and the bundled modules', async () => {
    const r = await app.inject({ method: 'GET', url: '/cu/' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ address: h.su.address, timestamp: expect.any(Number), modules: h.cu.bundled });
    expect(Object.keys(h.cu.bundled)).toEqual(['aos-2.0.4-wasm32', 'aos-2.0.6-wasm64', 'aos-2.0.4-wasm32-metering']);
  });

  it('GET /result/:messageId?process-id= answers the evaluation output', async () => {
    const m = await evalLua(h, pid, 'Send({ Target = "T", Data = "hello" }); return 7 * 6');
    const r = await app.inject({ method: 'GET', url: `/cu/result/${m.id}?process-id=${pid}` });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(Object.keys(body).sort()).toEqual(['Assignments', 'GasUsed', 'Messages', 'Output', 'Spawns']);
    expect(lastLine(printed(body))).toBe('42');
    expect(body.Messages[0]).toMatchObject({ Target: 'T', Data: 'hello' });
  });

  it('bad requests are 400s (the waiting and the 404s are in result-wait.test.ts)', async () => {
    expect((await app.inject({ method: 'GET', url: `/cu/result/${'q'.repeat(43)}` })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/cu/result/x?process-id=not-an-id` })).statusCode).toBe(400);
  });

  it('GET /results/:processId pages with pageInfo.hasNextPage and cursors', async () => {
    for (let i = 0; i < 3; i++) await send(h, pid, { action: 'Nothing' });
    const first = (await app.inject({ method: 'GET', url: `/cu/results/${pid}?limit=2` })).json();
    expect(first.pageInfo).toEqual({ hasNextPage: true });
    expect(first.edges).toHaveLength(2);
    expect(first.edges[0]).toEqual({ node: expect.objectContaining({ Messages: expect.any(Array) }), cursor: expect.any(String) });
    const next = (await app.inject({ method: 'GET', url: `/cu/results/${pid}?limit=100&from=${encodeURIComponent(first.edges[1].cursor)}` })).json();
    const all = (await app.inject({ method: 'GET', url: `/cu/results/${pid}?limit=100` })).json();
    expect(next.edges.map((e: { node: unknown }) => e.node)).toEqual(all.edges.slice(2).map((e: { node: unknown }) => e.node));
    const desc = (await app.inject({ method: 'GET', url: `/cu/results/${pid}?limit=1&sort=DESC` })).json();
    expect(desc.edges[0].node).toEqual(all.edges[all.edges.length - 1].node);
    expect((await app.inject({ method: 'GET', url: `/cu/results/${pid}?sort=UP` })).statusCode).toBe(400);
  });

  it('POST /dry-run?process-id= answers the output of the body message, keeping nothing', async () => {
    const r = await app.inject({
      method: 'POST',
      url: `/cu/dry-run?process-id=${pid}`,
      payload: { Target: pid, Owner: h.user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'dry = true; return "dry"' },
    });
    expect(r.statusCode).toBe(200);
    expect(lastLine(printed(r.json()))).toBe('dry');
    const after = await h.api.dryRun(pid, { Owner: h.user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'return tostring(dry)' });
    expect(lastLine(printed(after))).toBe('nil');
    const bad = await app.inject({ method: 'POST', url: `/cu/dry-run?process-id=${pid}`, payload: { Tags: 'Action=Eval' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/Tags/);
  });

  it('GET /state/:processId answers the memory as octet-stream; GET /cron/:processId a page', async () => {
    const { size } = await h.api.hash(pid);
    const r = await app.inject({ method: 'GET', url: `/cu/state/${pid}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.rawPayload.length).toBe(size);
    const cron = await app.inject({ method: 'GET', url: `/cu/cron/${pid}` });
    expect(cron.json()).toEqual({ pageInfo: { hasNextPage: false }, edges: [] });
  });
});
