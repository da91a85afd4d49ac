/**
 * GraphQL finds processes by owner and by tags, as AO developers' tools ask: aos reconnects to
 * a wallet's process by its Name (`transactions(owners: [wallet, ''], tags: [Data-Protocol=ao,
 * Type=Process, Name=…])`, the query copied from aos' register.js), explorers list processes by
 * tags. Answers come from the SU's process index; messages stay found by id only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { createGateway, logSource } from '../../../units/gateway/index.js';
import { messageItem } from '../su/helpers.js';
import { startGateway, type GatewayHarness } from './support.js';

let g: GatewayHarness;
let alice: Wallet;
let bob: Wallet;
/** Process ids by what they are, in spawn order. */
const p: Record<string, string> = {};

/** aos 2.x register.js `queryForAOS(name)`, as it sends it. */
const aosQuery = (name: string) => `query ($owners: [String!]!) {
    transactions(
      first: 10,
      owners: $owners,
      tags: [
        { name: "Data-Protocol", values: ["ao"] },
        { name: "Type", values: ["Process"]},
        { name: "Name", values: ["${name}"]}
      ]
    ) {
      edges {
        node {
          id
          tags {
            name
            value
          }
        }
      }
    }
  }`;

type Answer = { data?: { transactions: { pageInfo?: { hasNextPage: boolean }; edges: { cursor: string; node: { id: string; tags?: Tag[] } }[] } }; errors?: { message: string }[] };

async function gql(query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const r = await g.app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}
const ids = (a: Answer) => {
  expect(a.errors).toBeUndefined();
  return a.data!.transactions.edges.map((e) => e.node.id);
};

let n = 0;
async function spawn(owner: Wallet, name: string, extra: Tag[] = []): Promise<string> {
  const item = await createDataItem(
    {
      data: `spawn ${++n}`,
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: g.moduleId },
        { name: 'Scheduler', value: g.h.su.address },
        { name: 'App-Name', value: 'aos' },
        { name: 'Name', value: name },
        ...extra,
      ],
    },
    owner,
  );
  const r = await g.h.client.schedule(item.id, { op: 'spawn', id: item.id, raw: item.raw });
  if (!('ok' in r)) throw new Error(r.error);
  return item.id;
}

beforeAll(async () => {
  // A clock that moves a millisecond per reading: every spawn has its own time, so the order is known.
  let t = Date.now();
  g = await startGateway({ now: () => ++t });
  [alice, bob] = await Promise.all([generateWallet('ed25519'), generateWallet('rsa')]);
  p.aliceOne = await spawn(alice, 'one');
  p.aliceTwo = await spawn(alice, 'two');
  p.bobOne = await spawn(bob, 'one');
  p.aliceOneAgain = await spawn(alice, 'one');
  p.aliceOne2 = await spawn(alice, 'one2');
  p.long = await spawn(alice, 'long', [{ name: 'Description', value: 'd'.repeat(2000) }]);
  const m = await messageItem(p.aliceOne, 'hello', [{ name: 'Name', value: 'one' }]);
  const r = await g.h.client.schedule(p.aliceOne, { op: 'message', id: m.id, raw: m.raw });
  if (!('ok' in r)) throw new Error(r.error);
});

afterAll(async () => {
  await g?.stop();
});

describe('by owner and Name, as aos reconnects', () => {
  it("aos' query finds the wallet's processes of that Name, newest first, with their tags", async () => {
    const a = await gql(aosQuery('one'), { owners: [alice.address, ''] });
    expect(ids(a)).toEqual([p.aliceOneAgain, p.aliceOne]);
    const tags = Object.fromEntries(a.data!.transactions.edges[0]!.node.tags!.map((t) => [t.name, t.value]));
    expect(tags).toMatchObject({ Type: 'Process', Name: 'one', 'App-Name': 'aos' });
    expect(ids(await gql(aosQuery('one'), { owners: [bob.address, ''] }))).toEqual([p.bobOne]);
    // Another wallet's, a prefix of the name, a name never used: nothing.
    expect(ids(await gql(aosQuery('on'), { owners: [alice.address, ''] }))).toEqual([]);
    expect(ids(await gql(aosQuery('three'), { owners: [alice.address, ''] }))).toEqual([]);
    expect(ids(await gql(aosQuery('two'), { owners: [bob.address] }))).toEqual([]);
  });

  it("by owner alone, several owners merged in spawn order, and paged with first / after", async () => {
    const q = `query ($owners: [String!], $after: String, $first: Int, $sort: SortOrder) {
      transactions(owners: $owners, first: $first, after: $after, sort: $sort) { pageInfo { hasNextPage } edges { cursor node { id } } } }`;
    const all = [p.aliceOne, p.aliceTwo, p.bobOne, p.aliceOneAgain, p.aliceOne2, p.long];
    expect(ids(await gql(q, { owners: [alice.address, bob.address], first: 100 }))).toEqual([...all].reverse());
    expect(ids(await gql(q, { owners: [alice.address, bob.address], first: 100, sort: 'HEIGHT_ASC' }))).toEqual(all);
    expect(ids(await gql(q, { owners: [bob.address] }))).toEqual([p.bobOne]);
    const first = await gql(q, { owners: [alice.address], first: 2 });
    expect(ids(first)).toEqual([p.long, p.aliceOne2]);
    expect(first.data!.transactions.pageInfo!.hasNextPage).toBe(true);
    const next = await gql(q, { owners: [alice.address], first: 10, after: first.data!.transactions.edges[1]!.cursor });
    expect(ids(next)).toEqual([p.aliceOneAgain, p.aliceTwo, p.aliceOne]);
    expect(next.data!.transactions.pageInfo!.hasNextPage).toBe(false);
  });
});

describe('by tags', () => {
  it('any owner: every filter holds, EQ any of its values, NEQ none; the messages of a log are not listed', async () => {
    const q = `query ($tags: [TagFilter!]) { transactions(tags: $tags, first: 100) { edges { node { id } } } }`;
    expect(ids(await gql(q, { tags: [{ name: 'Type', values: ['Process'] }, { name: 'Name', values: ['one'] }] }))).toEqual([p.aliceOneAgain, p.bobOne, p.aliceOne]);
    expect(ids(await gql(q, { tags: [{ name: 'Name', values: ['two', 'one2'] }] }))).toEqual([p.aliceOne2, p.aliceTwo]);
    expect(ids(await gql(q, { tags: [{ name: 'Name', values: ['one'] }, { name: 'Name', values: ['one'], op: 'NEQ' }] }))).toEqual([]);
    // A tag value too long to index is still found (the other filters narrow, each candidate is checked).
    expect(ids(await gql(q, { tags: [{ name: 'Description', values: ['d'.repeat(2000)] }] }))).toEqual([p.long]);
  });

  it('a query no index narrows looks at a bounded number of items, then says how to narrow it', () => {
    const gw = createGateway({ sources: [logSource(g.h.su.log)], maxExamined: 3 });
    const run = (query: string) => gw.graphql({ query }).body as Answer;
    // NEQ narrows nothing: every process is a candidate.
    const broad = run(`{ transactions(tags: [{ name: "Name", values: ["x"], op: NEQ }], first: 100) { edges { node { id } } } }`);
    expect(broad.errors![0]!.message).toBe('this query examined 3 items without completing its page: narrow it with owners, or with tag values (first, after and sort do not narrow it)');
    expect(ids(run(`{ transactions(owners: ["${bob.address}"], tags: [{ name: "Name", values: ["x"], op: NEQ }]) { edges { node { id } } } }`))).toEqual([p.bobOne]);
    expect(ids(run(`{ transactions(tags: [{ name: "Name", values: ["two"] }]) { edges { node { id } } } }`))).toEqual([p.aliceTwo]);
  });
});

describe('a log written before the index', () => {
  it('is indexed once at start', async () => {
    const index = g.h.store.db('su.process-index');
    await index.clearAsync();
    const q = `{ transactions(owners: ["${bob.address}"]) { edges { node { id } } } }`;
    expect(ids(await gql(q))).toEqual([]);
    await g.h.su.indexProcesses();
    expect(ids(await gql(q))).toEqual([p.bobOne]);
    expect(ids(await gql(aosQuery('one'), { owners: [alice.address, ''] }))).toEqual([p.aliceOneAgain, p.aliceOne]);
  });
});
