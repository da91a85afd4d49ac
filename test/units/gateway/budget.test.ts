/**
 * A GraphQL answer is bounded in bytes, however the query multiplies what it selects: a page of
 * heavy items ends at the budget (hasNextPage, and `after` reads on), a query that repeats a
 * heavy field through aliases ends early or gets an error with the reason instead of an answer
 * of tens of megabytes, and root fields and filter lists are capped.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, DEFAULT_ANSWER_BYTES, MAX_FILTER_VALUES, MAX_ROOT_FIELDS } from '../../../units/gateway/index.js';
import { messageItem, spawnProcess } from '../su/helpers.js';
import { startGateway, type GatewayHarness } from './support.js';

let g: GatewayHarness;
/** Items whose tags fill ANS-104's 4 KiB tag block (a 3,072-byte value). */
const heavy: string[] = [];
const HEAVY = 40;
/** The same sources, with a 64 KiB answer budget. */
const SMALL = 64 * 1024;
let small: FastifyInstance;

beforeAll(async () => {
  g = await startGateway();
  const pid = await spawnProcess(g.h);
  for (let i = 0; i < HEAVY; i++) {
    const m = await messageItem(pid, `heavy ${i}`, [{ name: 'Big', value: String.fromCharCode(65 + (i % 26)).repeat(3072) }]);
    const r = await g.h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
    if (!('ok' in r)) throw new Error(r.error);
    heavy.push(m.id);
  }
  small = Fastify();
  await small.register(createGateway({ sources: [g.h.su.log], maxAnswerBytes: SMALL }).routes(), { prefix: '/graphql' });
}, 120_000);
afterAll(async () => {
  await small?.close();
  await g?.stop();
});

async function gql(query: string, variables?: Record<string, unknown>, app: FastifyInstance = g.app) {
  const r = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  return { status: r.statusCode, bytes: r.rawPayload.length, body: r.json() as { data?: any; errors?: { message: string }[] } };
}

const PAGE = `query ($ids: [ID!], $after: String) {
  transactions(ids: $ids, first: 100, after: $after) { pageInfo { hasNextPage } edges { cursor node { id tags { name value } } } }
}`;

describe('GraphQL answers have a byte budget', () => {
  it('a page of heavy items ends at the budget and says so; after reads every item once', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const r = await gql(PAGE, { ids: heavy, ...(after ? { after } : {}) }, small);
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.bytes).toBeLessThanOrEqual(SMALL);
      const t = r.body.data.transactions;
      expect(t.edges.length).toBeGreaterThan(0);
      seen.push(...t.edges.map((e: { node: { id: string } }) => e.node.id));
      pages++;
      if (!t.pageInfo.hasNextPage) break;
      after = t.edges[t.edges.length - 1].cursor;
    }
    expect(seen).toEqual(heavy);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil((HEAVY * 3072) / SMALL));
  });

  it('a field repeated through aliases: a page that ends early, or an error with the reason, not an answer of 30 MB', async () => {
    // 40 items × 2 edges × 120 selections of their 3 KB tag: ~29 MB of JSON before the budget.
    const fragment = `fragment F on Transaction { ${Array.from({ length: 120 }, (_, i) => `t${i}: tags { value }`).join(' ')} }`;
    const r = await gql(`query ($ids: [ID!]) { transactions(ids: $ids, first: 100) { a: edges { node { ...F } } b: edges { node { ...F } } } } ${fragment}`, {
      ids: heavy,
    });
    expect(r.status).toBe(200);
    expect(r.bytes).toBeLessThanOrEqual(DEFAULT_ANSWER_BYTES);
    // Each node weighs ~740 KB as selected: the page ends at the budget.
    const page = r.body.data.transactions;
    expect(page.a.length).toBeGreaterThan(0);
    expect(page.a.length).toBeLessThan(HEAVY);
    // A node that alone does not fit is an error.
    const one = await gql(`query ($id: ID!) { transaction(id: $id) { id ...F } } ${fragment}`, { id: heavy[0] }, small);
    expect(one.bytes).toBeLessThan(4096);
    expect(one.body.data).toEqual({ transaction: null });
    expect(one.body.errors?.[0]?.message).toMatch(/answer would be larger than 65536 bytes: select fewer fields/);
  });

  it('root fields share one budget: aliases of one heavy page end early or fail, never pass it', async () => {
    const aliases = Array.from({ length: 8 }, (_, i) => `a${i}: transactions(ids: $ids) { edges { node { tags { value } } } }`).join(' ');
    const r = await gql(`query ($ids: [ID!]) { ${aliases} }`, { ids: heavy.slice(0, 10) }, small);
    expect(r.bytes).toBeLessThanOrEqual(SMALL);
    expect(r.body.errors?.[0]?.message).toMatch(/answer would be larger/);
  });

  it('too many root fields or filter values: 400 with the reason', async () => {
    const many = Array.from({ length: MAX_ROOT_FIELDS + 1 }, (_, i) => `a${i}: transaction(id: "${heavy[0]}") { id }`).join(' ');
    const r = await gql(`{ ${many} }`);
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.message).toMatch(/root fields/);
    const ids = Array.from({ length: MAX_FILTER_VALUES + 1 }, (_, i) => `${String(i).padStart(43, 'x')}`);
    const r2 = await gql(`query ($ids: [ID!]) { transactions(ids: $ids) { edges { node { id } } } }`, { ids });
    expect(r2.body.errors?.[0]?.message).toMatch(/ids has 1001 entries/);
  });

  it('ordinary queries are untouched: one heavy item, all its tags', async () => {
    const r = await gql(`query ($id: ID!) { transaction(id: $id) { id tags { name value } } }`, { id: heavy[1] });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.transaction.tags.find((t: { name: string }) => t.name === 'Big').value).toHaveLength(3072);
  });
});
