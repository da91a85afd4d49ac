/**
 * `GET /cu/results` pages are bounded in bytes as well as in results: outputs of 1.5 MiB each
 * come a few per page, `hasNextPage` says more follow, and cursors and timestamp bounds page
 * through all of them once. Before, a page held `limit` results (up to 10 000) whatever their size.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuRoutes } from '../../../units/cu/index.js';
import { evalLua, lastLine, printed, resultOf, spawnAos, startCu, type CuHarness } from './support/harness.js';

const MIB = 1024 * 1024;
const BIG = 1.5 * MIB;
const COUNT = 12;

let h: CuHarness;
let app: FastifyInstance;
let pid: string;
/** The SU's clock: one second per message, so that timestamps tell the slots apart. */
let clock = Date.UTC(2030, 0, 1);
const ids: string[] = [];

beforeAll(async () => {
  h = await startCu({ suNow: () => (clock += 1000) });
  app = Fastify();
  await app.register(cuRoutes(h.api, { resultWaitMs: 3000 }), { prefix: '/cu' });
  pid = await spawnAos(h, 'aos-2.0.4-wasm32');
  for (let i = 0; i < COUNT; i++) {
    const m = await evalLua(h, pid, `return string.rep("${i % 10}", ${BIG})`);
    ids.push(m.id);
  }
  expect(lastLine(printed(await resultOf(h, pid, ids[COUNT - 1]!)))).toHaveLength(BIG);
});
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

interface Page {
  pageInfo: { hasNextPage: boolean };
  edges: { node: { Output: unknown }; cursor: string }[];
}

async function page(query: string): Promise<{ body: Page; bytes: number }> {
  const r = await app.inject({ method: 'GET', url: `/cu/results/${pid}?${query}` });
  expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
  return { body: r.json() as Page, bytes: r.rawPayload.length };
}

const lastChar = (node: { Output: unknown }) => lastLine(printed(node as Parameters<typeof printed>[0])).slice(-1);

describe('CU results pages have a byte budget', () => {
  it('a page stops at cu.pageBytes (one result at least) and says more follow; cursors read everything once', async () => {
    const budget = 8 * MIB;
    expect(budget).toBe(h.cu.runtime.config.pageBytes);
    const seen: string[] = [];
    let query = 'limit=1000';
    let pages = 0;
    for (;;) {
      const { body, bytes } = await page(query);
      pages++;
      expect(body.edges.length).toBeGreaterThan(0);
      if (body.edges.length > 1) expect(bytes).toBeLessThanOrEqual(budget + 64 * 1024);
      seen.push(...body.edges.map((e) => lastChar(e.node)));
      if (!body.pageInfo.hasNextPage) break;
      query = `limit=1000&from=${encodeURIComponent(body.edges[body.edges.length - 1]!.cursor)}`;
    }
    expect(pages).toBeGreaterThanOrEqual(Math.ceil((COUNT * BIG) / budget));
    // The spawn, the loaded-handlers line of aos... then the 12 evaluations in order.
    expect(seen.slice(-COUNT)).toEqual(Array.from({ length: COUNT }, (_, i) => String(i % 10)));
  });

  it('descending, and between timestamps: bounded pages, none skipped', async () => {
    const first = await page('limit=1000&sort=DESC');
    expect(first.body.pageInfo.hasNextPage).toBe(true);
    expect(first.bytes).toBeLessThanOrEqual(h.cu.runtime.config.pageBytes + 64 * 1024);
    expect(first.body.edges.map((e) => lastChar(e.node))).toEqual(['1', '0', '9', '8', '7'].slice(0, first.body.edges.length));

    // Timestamps (a second apart): evaluation i is at slot i + 1; from is exclusive, to inclusive.
    const ts = (i: number) => h.su.log.slot(pid, i + 1)!.timestamp;
    expect(ts(5) - ts(4)).toBe(1000);
    const asc = await page(`limit=2&from=${ts(4)}&to=${ts(8)}`);
    expect(asc.body.edges.map((e) => lastChar(e.node))).toEqual(['5', '6']);
    expect(asc.body.pageInfo.hasNextPage).toBe(true);
    const desc = await page(`limit=100&sort=DESC&from=${ts(4)}&to=${ts(8)}`);
    const got = desc.body.edges.map((e) => lastChar(e.node));
    expect(got.length).toBeLessThan(4); // 4 outputs of 1.5 MiB, each twice in aos's Output: past 8 MiB
    expect(got).toEqual(['8', '7', '6', '5'].slice(0, got.length));
    expect(desc.body.pageInfo.hasNextPage).toBe(true);
    const rest = await page(`limit=100&sort=DESC&from=${ts(4)}&to=${ts(8 - got.length)}`);
    expect(rest.body.edges.map((e) => lastChar(e.node))).toEqual(['8', '7', '6', '5'].slice(got.length).slice(0, rest.body.edges.length));
  });
});
