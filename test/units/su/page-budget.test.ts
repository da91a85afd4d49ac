/**
 * An SU page is bounded in bytes: a log of messages near the 10 MiB item limit is served page by
 * page (each page at most the budget, or one entry), `has_next_page` says more follow, and paging
 * by either cursor reads every slot once. Before the budget, one `GET /su/P` put all of them in
 * one JSON string: past V8's longest string it answered 500 (`RangeError: Invalid string length`).
 *
 * The data is bytes 0x01: valid UTF-8 that JSON escapes as `\u0001` (6 characters per byte), so
 * 10 messages of 9.5 MB are enough to pass that length (60 plain ones do the same).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_BYTES } from '../../../units/su/reader.js';
import { messageItem, spawnProcess, startSu, type Harness } from './helpers.js';

const BIG = 9.5 * 1024 * 1024;
const COUNT = 10;
const MB3 = 3 * 1024 * 1024;

let h: Harness;
let app: FastifyInstance;
/** The SU's clock: the wall clock, or frozen to put several slots in one millisecond. */
let frozen: number | undefined;
/** 10 messages of 9.5 MB of 0x01. */
let pid: string;
let ids: string[];

async function schedule(processId: string, data: string): Promise<string> {
  const m = await messageItem(processId, data);
  const r = await h.client.schedule(processId, { op: 'message', id: m.id, raw: m.raw });
  if (!('ok' in r)) throw new Error(r.error);
  return m.id;
}

beforeAll(async () => {
  h = await startSu({ now: () => frozen ?? Date.now() });
  app = Fastify();
  await app.register(h.su.routes(h.client), { prefix: '/su' });
  await app.ready();
  pid = await spawnProcess(h);
  ids = [pid];
  for (let i = 0; i < COUNT; i++) ids.push(await schedule(pid, '\u0001'.repeat(BIG - 1) + String(i)));
}, 120_000);
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

interface PageBody {
  page_info: { has_next_page: boolean };
  edges: { node: { message: { id: string; data: string } | null; assignment: { id: string } }; cursor: string }[];
}

/** Reads every page of `processId`, following cursors in one mode; checks each page's size as it goes. */
async function readAll(processId: string, mode: 'nonce' | 'timestamp') {
  const seen: string[] = [];
  let url = mode === 'nonce' ? `/su/${processId}?from-nonce=-1` : `/su/${processId}`;
  const sizes: number[] = [];
  for (;;) {
    const r = await app.inject({ method: 'GET', url });
    expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
    const body = r.json() as PageBody;
    expect(body.edges.length).toBeGreaterThan(0);
    sizes.push(body.edges.reduce((n, e) => n + (e.node.message?.data.length ?? 0), 0));
    seen.push(...body.edges.map((e) => e.node.message!.id));
    if (!body.page_info.has_next_page) break;
    const cursor = body.edges[body.edges.length - 1]!.cursor;
    url = mode === 'nonce' ? `/su/${processId}?from-nonce=${cursor}` : `/su/${processId}?from=${cursor}`;
    expect(sizes.length).toBeLessThan(100);
  }
  return { seen, sizes };
}

describe('SU pages have a byte budget', () => {
  it('GET /su/P over 10 messages of 9.5 MB answers a bounded first page that says more follow', async () => {
    const r = await app.inject({ method: 'GET', url: `/su/${pid}` });
    expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
    const body = r.json() as PageBody;
    expect(body.page_info.has_next_page).toBe(true);
    expect(body.edges.length).toBeLessThan(COUNT + 1);
    expect(body.edges[0]!.node.message!.id).toBe(pid);
    expect(r.rawPayload.length).toBeLessThan(8 * DEFAULT_PAGE_BYTES);
  });

  it('paging by nonce and by timestamp reads every slot exactly once, in order, a budget at a time', async () => {
    const other = await spawnProcess(h);
    const all = [other];
    for (let i = 0; i < 8; i++) all.push(await schedule(other, String(i).repeat(MB3)));
    for (const mode of ['nonce', 'timestamp'] as const) {
      const { seen, sizes } = await readAll(other, mode);
      expect(seen, mode).toEqual(all);
      // 3 MB messages, 8 MiB a page: two a page (the spawn rides with the first two).
      expect(sizes.map((n) => Math.round(n / MB3)), mode).toEqual([2, 2, 2, 2]);
    }
  });

  it('slots sharing a millisecond: a timestamp page ends before their run, or takes all of it', async () => {
    const other = await spawnProcess(h);
    const all = [other, await schedule(other, 'a'.repeat(MB3))];
    const at = Date.now() + 1000;
    frozen = at;
    try {
      for (let i = 0; i < 4; i++) all.push(await schedule(other, String(i).repeat(MB3)));
      frozen = at + 1;
      all.push(await schedule(other, 'z'.repeat(MB3)));
    } finally {
      frozen = undefined;
    }
    const { seen, sizes } = await readAll(other, 'timestamp');
    expect(seen).toEqual(all);
    // [spawn, a] | the run of four (12 MB, past the budget: not split) | [z]
    expect(sizes.map((n) => Math.round(n / MB3))).toEqual([1, 4, 1]);
    // By nonce the same slots are two a page.
    expect((await readAll(other, 'nonce')).sizes.map((n) => Math.round(n / MB3))).toEqual([2, 2, 2]);
  });

  it('a single entry larger than the budget is still served, alone', async () => {
    const r = await app.inject({ method: 'GET', url: `/su/${pid}?from-nonce=0&limit=5` });
    const body = r.json() as PageBody;
    expect(body.edges.map((e) => e.node.message!.id)).toEqual([ids[1]]);
    expect(body.edges[0]!.node.message!.data).toHaveLength(BIG);
    expect(body.page_info.has_next_page).toBe(true);
  });

  it('small messages still fill a page up to its limit', async () => {
    const small = await spawnProcess(h);
    for (let i = 0; i < 30; i++) {
      const m = await messageItem(small);
      await h.client.schedule(small, { op: 'message', id: m.id, raw: m.raw });
    }
    const body = (await app.inject({ method: 'GET', url: `/su/${small}?limit=20` })).json() as PageBody;
    expect(body.edges).toHaveLength(20);
    expect(body.page_info.has_next_page).toBe(true);
  });
});
