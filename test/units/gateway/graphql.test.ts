/** The gateway's GraphQL endpoint and data routes, through fastify.inject. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, parseDataItem, verifyDataItem, type Wallet } from '../../../units/ans104/index.js';
import { BUNDLED, moduleTags } from '../../../units/cu/index.js';
import { createGateway, itemList, schedulerLocation } from '../../../units/gateway/index.js';
import { messageItem, spawnProcess, user } from '../su/helpers.js';
import { LOCATION_TTL, QUERIES, startGateway, type GatewayHarness } from './support.js';

let g: GatewayHarness;
let processId: string;
let message: { id: string; raw: Uint8Array };

interface Edge {
  cursor: string;
  node: Record<string, any>;
}
type Answer = { data?: { transactions?: { pageInfo?: { hasNextPage: boolean }; edges: Edge[] }; transaction?: any }; errors?: { message: string }[] };

async function gql(query: string, variables?: Record<string, unknown>, status = 200): Promise<Answer> {
  const r = await g.app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  expect(r.statusCode, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  return r.json();
}

const tagsOf = (node: { tags: { name: string; value: string }[] }) => Object.fromEntries(node.tags.map((t) => [t.name, t.value]));

beforeAll(async () => {
  g = await startGateway();
  await g.listen();
  processId = await spawnProcess(g.h);
  message = await messageItem(processId, 'hello', [{ name: 'Content-Type', value: 'text/plain' }, { name: 'Action', value: 'Eval' }]);
  const r = await g.h.client.schedule(processId, { op: 'message', id: message.id, raw: message.raw });
  if (!('ok' in r)) throw new Error(r.error);
});

afterAll(async () => {
  await g?.stop();
});

describe('the queries ao tools send', () => {
  it("aoconnect's module lookup (GetTransactions) answers the module's tags and owner, no block", async () => {
    const a = await gql(QUERIES.aoconnectModule, { transactionIds: [g.moduleId] });
    expect(a.errors).toBeUndefined();
    expect(a.data!.transactions!.edges).toHaveLength(1);
    const node = a.data!.transactions!.edges[0]!.node;
    expect(Object.keys(node).sort()).toEqual(['block', 'owner', 'tags']);
    expect(node.owner).toEqual({ address: g.cuWallet.address });
    expect(node.block).toBeNull();
    expect(node.tags).toEqual(moduleTags(BUNDLED[0]!));
    const tags = tagsOf(node as any);
    // What aoconnect's verifyModule checks.
    expect(tags['Data-Protocol']).toBe('ao');
    expect(tags.Type).toBe('Module');
    for (const t of ['Module-Format', 'Input-Encoding', 'Output-Encoding']) expect(tags[t]).toBeTruthy();
  });

  it("scheduler-utils' process query answers every Transaction field it asks for", async () => {
    const a = await gql(QUERIES.schedulerUtilsProcess, { ids: [processId] });
    expect(a.errors).toBeUndefined();
    const { pageInfo, edges } = a.data!.transactions!;
    expect(pageInfo).toEqual({ hasNextPage: false });
    expect(edges).toHaveLength(1);
    const spawn = parseDataItem(g.h.su.log.item(processId)!);
    expect(typeof edges[0]!.cursor).toBe('string');
    expect(edges[0]!.node).toEqual({
      id: processId,
      anchor: '',
      signature: spawn.signature,
      recipient: '',
      block: null,
      owner: { address: (await user()).address, key: spawn.owner },
      fee: { winston: '0', ar: '0.000000000000' },
      quantity: { winston: '0', ar: '0.000000000000' },
      data: { size: String(spawn.data.length), type: null },
      tags: spawn.tags,
      parent: null,
    });
  });

  it("scheduler-utils' process → Scheduler tag query (Data-Protocol=ao filter) finds the process", async () => {
    const a = await gql(QUERIES.schedulerUtilsProcessScheduler, { transactionIds: [processId] });
    expect(a.errors).toBeUndefined();
    expect(tagsOf(a.data!.transactions!.edges[0]!.node as any).Scheduler).toBe(g.h.su.address);
  });

  it("scheduler-utils' GetSchedulerLocation finds the SU's record: Url and Time-To-Live", async () => {
    const a = await gql(QUERIES.schedulerLocation, { owner: g.h.su.address });
    expect(a.errors).toBeUndefined();
    expect(a.data!.transactions!.edges).toHaveLength(1);
    const tags = tagsOf(a.data!.transactions!.edges[0]!.node as any);
    expect(tags).toMatchObject({ 'Data-Protocol': 'ao', Type: 'Scheduler-Location', Url: `${g.base}/su`, 'Time-To-Live': String(LOCATION_TTL) });
  });

  it('GetSchedulerLocation for a wallet with no record, and unknown ids, answer no edges', async () => {
    const other = await generateWallet('ed25519');
    expect((await gql(QUERIES.schedulerLocation, { owner: other.address })).data!.transactions!.edges).toEqual([]);
    expect((await gql(QUERIES.aoconnectModule, { transactionIds: ['x'.repeat(43)] })).data!.transactions!.edges).toEqual([]);
    expect((await gql(QUERIES.schedulerUtilsProcess, { ids: [] })).data!.transactions).toEqual({ pageInfo: { hasNextPage: false }, edges: [] });
  });

  it('the same queries over GET with query and variables parameters', async () => {
    const qs = new URLSearchParams({ query: QUERIES.aoconnectModule, variables: JSON.stringify({ transactionIds: [g.moduleId] }) });
    const r = await g.app.inject({ method: 'GET', url: `/graphql?${qs}` });
    expect(r.statusCode, r.body).toBe(200);
    expect(tagsOf(r.json().data.transactions.edges[0].node).Type).toBe('Module');
    const slash = await g.app.inject({ method: 'POST', url: '/graphql/', payload: { query: '{ transaction(id: "' + processId + '") { id } }' } });
    expect(slash.json()).toEqual({ data: { transaction: { id: processId } } });
  });
});

describe('filters, as Arweave applies them', () => {
  const ids = (a: Answer) => a.data!.transactions!.edges.map((e) => e.node.id);

  it('transaction(id): the node, or null for an unknown id', async () => {
    const a = await gql(`{ transaction(id: "${message.id}") { id recipient data { size type } tags { name value } } }`);
    expect(a.data!.transaction).toMatchObject({ id: message.id, recipient: processId, data: { size: '5', type: 'text/plain' } });
    expect((await gql(`{ transaction(id: "${'y'.repeat(43)}") { id } }`)).data).toEqual({ transaction: null });
  });

  it('ids with owners, recipients and tags (EQ: any of the values; NEQ: none of them; every filter holds)', async () => {
    const all = [processId, message.id, g.moduleId];
    const q = `query ($ids: [ID!], $owners: [String!], $recipients: [String!], $tags: [TagFilter!]) {
      transactions(ids: $ids, owners: $owners, recipients: $recipients, tags: $tags) { edges { node { id } } } }`;
    expect(ids(await gql(q, { ids: all }))).toEqual(all);
    expect(ids(await gql(q, { ids: all, owners: [(await user()).address] }))).toEqual([processId, message.id]);
    expect(ids(await gql(q, { ids: all, owners: [g.cuWallet.address, g.h.su.address] }))).toEqual([g.moduleId]);
    expect(ids(await gql(q, { ids: all, recipients: [processId] }))).toEqual([message.id]);
    expect(ids(await gql(q, { ids: all, tags: [{ name: 'Type', values: ['Process', 'Module'] }] }))).toEqual([processId, g.moduleId]);
    expect(ids(await gql(q, { ids: all, tags: [{ name: 'Type', values: ['Process'], op: 'NEQ' }] }))).toEqual([message.id, g.moduleId]);
    expect(ids(await gql(q, { ids: all, tags: [{ name: 'Data-Protocol', values: ['ao'] }, { name: 'Action', values: ['Eval'] }] }))).toEqual([message.id]);
    expect(ids(await gql(q, { ids: all, tags: [{ name: 'type', values: ['Process'] }] }))).toEqual([]);
    // Without ids: listed items (modules, locations) and the SU's processes (by its index); its messages only by id.
    expect(ids(await gql(q, { tags: [{ name: 'Type', values: ['Module'] }] }))).toEqual([g.moduleId]);
    expect(ids(await gql(q, { tags: [{ name: 'Type', values: ['Process'] }] }))).toContain(processId);
    expect(ids(await gql(q, { tags: [{ name: 'Action', values: ['Eval'] }] }))).toEqual([]);
  });

  it('bundledIn and block ranges match nothing (these items are in no bundle and no block)', async () => {
    const q = (args: string) => `{ transactions(ids: ["${processId}"] ${args}) { edges { node { id } } } }`;
    expect(ids(await gql(q('bundledIn: []')))).toEqual([processId]);
    expect(ids(await gql(q(`bundledIn: ["${processId}"]`)))).toEqual([]);
    expect(ids(await gql(q('block: { min: 0 }')))).toEqual([]);
  });

  it('first / after page through the results; sort orders unlisted-by-id results newest first by default', async () => {
    // Three more Scheduler-Location records from one wallet (a restarted SU), oldest first.
    const su2 = await generateWallet('ed25519');
    const locations = itemList();
    const made = [];
    for (const port of [1, 2, 3]) made.push(await schedulerLocation(su2, `http://127.0.0.1:${port}/su`, 1000));
    for (const m of made) locations.add(m);
    const gw = createGateway({ sources: [locations] });
    const page = (args: string) => gw.graphql({ query: `{ transactions(owners: ["${su2.address}"] ${args}) { pageInfo { hasNextPage } edges { cursor node { id } } } }` });
    const idsOf = (a: ReturnType<typeof page>) => (a.body as any).data.transactions.edges.map((e: Edge) => e.node.id);
    expect(idsOf(page(''))).toEqual(made.map((m) => m.id).reverse());
    expect(idsOf(page('sort: HEIGHT_ASC'))).toEqual(made.map((m) => m.id));
    const p1 = page('first: 2');
    expect((p1.body as any).data.transactions.pageInfo.hasNextPage).toBe(true);
    expect(idsOf(p1)).toEqual([made[2]!.id, made[1]!.id]);
    const cursor = (p1.body as any).data.transactions.edges[1].cursor;
    const p2 = page(`first: 2, after: "${cursor}"`);
    expect(idsOf(p2)).toEqual([made[0]!.id]);
    expect((p2.body as any).data.transactions.pageInfo.hasNextPage).toBe(false);
    expect(idsOf(page('first: 0'))).toEqual([]);
    // scheduler-utils reads the newest record (HEIGHT_DESC, first: 1).
    const loc = gw.graphql({ query: QUERIES.schedulerLocation, variables: { owner: su2.address } });
    expect((loc.body as any).data.transactions.edges[0].node.tags.find((t: any) => t.name === 'Url').value).toBe('http://127.0.0.1:3/su');
  });
});

describe('bad queries get GraphQL errors, never a 500', () => {
  it('a syntax error → 400 with errors', async () => {
    const a = await gql('{ transactions(ids: ["a"] { edges }', undefined, 400);
    expect(a.errors![0]!.message).toMatch(/Syntax Error/);
    expect(a.data).toBeUndefined();
  });

  it('fields and root queries not in the schema → 400 validation errors', async () => {
    expect((await gql('{ blocks { edges { node { id } } } }', undefined, 400)).errors![0]!.message).toMatch(/Cannot query field "blocks"/);
    expect((await gql('{ transactions { edges { node { nope } } } }', undefined, 400)).errors![0]!.message).toMatch(/nope/);
    expect((await gql('mutation { x }', undefined, 400)).errors![0]!.message).toMatch(/queries only/);
    expect((await gql('query A { transaction(id: "a") { id } } query B { transaction(id: "b") { id } }', undefined, 400)).errors![0]!.message).toMatch(/operationName/);
  });

  it('no query, bad variables, variables of the wrong type, an unknown operation → 400', async () => {
    for (const payload of [{}, { query: '' }, { query: 42 }, { query: '{ transaction(id: "a") { id } }', variables: [1] }]) {
      const r = await g.app.inject({ method: 'POST', url: '/graphql', payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().errors.length).toBeGreaterThan(0);
    }
    const bad = await g.app.inject({ method: 'GET', url: `/graphql?query=${encodeURIComponent('{ transaction(id: "a") { id } }')}&variables=%7Bnope` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].message).toMatch(/variables/);
    expect((await gql(QUERIES.aoconnectModule, { transactionIds: 'not-a-list-of-ids' as any }, 200)).errors).toBeUndefined(); // coerced to [id], as GraphQL does
    expect((await gql(QUERIES.aoconnectModule, { transactionIds: [1.5] }, 400)).errors![0]!.message).toMatch(/transactionIds/);
    expect((await gql(QUERIES.aoconnectModule, {}, 400)).errors![0]!.message).toMatch(/transactionIds/);
    const op = await g.app.inject({ method: 'POST', url: '/graphql', payload: { query: '{ transaction(id: "a") { id } }', operationName: 'Nope' } });
    expect(op.statusCode).toBe(400);
  });

  it('unsupported arguments (tag match other than EXACT, a bad cursor, negative first) → errors, data null', async () => {
    const q = (args: string) => `{ transactions(${args}) { edges { node { id } } } }`;
    for (const args of ['tags: [{ name: "Type", values: ["P*"], match: WILDCARD }]', 'after: "bogus"', 'first: -1']) {
      const a = await gql(q(args));
      expect(a.data).toBeNull();
      expect(a.errors).toHaveLength(1);
    }
  });
});

describe('item data, as arweave.net serves it', () => {
  it('GET /raw/:id and GET /:id answer the data bytes with the Content-Type tag', async () => {
    for (const url of [`/raw/${message.id}`, `/${message.id}`]) {
      const r = await g.app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.body).toBe('hello');
    }
  });

  it("a module's data is its WebAssembly binary, as application/octet-stream", async () => {
    const r = await g.app.inject({ method: 'GET', url: `/raw/${g.moduleId}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(r.rawPayload, Buffer.from(g.modules.get(g.moduleId).binary))).toBe(0);
    expect(r.rawPayload.subarray(0, 4).toString('hex')).toBe('0061736d');
  });

  it('unknown ids → 404 with an error; the node root stays the root route', async () => {
    for (const url of [`/raw/${'z'.repeat(43)}`, `/${'z'.repeat(43)}`, '/favicon.ico']) {
      const r = await g.app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error).toMatch(/not known/);
    }
    expect((await g.app.inject({ method: 'GET', url: '/' })).json()).toEqual({ node: 'gateway-test' });
    expect((await g.app.inject({ method: 'GET', url: '/su' })).json()).toMatchObject({ address: g.h.su.address });
  });
});

describe('schedulerLocation', () => {
  let wallet: Wallet;
  beforeAll(async () => {
    wallet = await generateWallet('ed25519');
  });

  it('is an item signed by the SU wallet with the tags ao tools read', async () => {
    const item = await schedulerLocation(wallet, 'http://10.0.0.1:8080/su', 86_400_000);
    expect(await verifyDataItem(item.raw)).toBe(true);
    const p = parseDataItem(item.raw);
    expect(p.id).toBe(item.id);
    expect(p.tags).toEqual([
      { name: 'Data-Protocol', value: 'ao' },
      { name: 'Variant', value: 'ao.TN.1' },
      { name: 'Type', value: 'Scheduler-Location' },
      { name: 'Url', value: 'http://10.0.0.1:8080/su' },
      { name: 'Time-To-Live', value: '86400000' },
    ]);
  });

  it('refuses a URL that is not http(s) and a Time-To-Live that is not a positive integer', async () => {
    await expect(async () => schedulerLocation(wallet, 'not a url', 1)).rejects.toThrow(/not a URL/);
    await expect(async () => schedulerLocation(wallet, 'ftp://x/su', 1)).rejects.toThrow(/http/);
    for (const ttl of [0, -1, 1.5, Number.NaN]) await expect(async () => schedulerLocation(wallet, 'http://x/su', ttl)).rejects.toThrow(/Time-To-Live/);
  });

  it('an item from a source whose bytes are not that id is not served', async () => {
    const other = await createDataItem({ data: 'x' }, wallet);
    const gw = createGateway({ sources: [{ item: () => other.raw }] });
    expect(gw.transaction('q'.repeat(43))).toBeUndefined();
    expect(gw.transaction(other.id)?.id).toBe(other.id);
  });
});

describe('the ids a request asks for by id (what a node fetches before answering)', () => {
  it('transactions(ids) and transaction(id), literal or from variables; not owners, recipients or tag values', async () => {
    const { requestedIds } = await import('../../../units/gateway/requested-ids.js');
    const [a, b, c, d] = ['A', 'B', 'C', 'D'].map((x) => x.repeat(43));
    expect(requestedIds({ query: `query ($ids: [ID!]) { transactions(ids: $ids, owners: ["${c}"], recipients: ["${d}"]) { edges { node { id } } } }`, variables: { ids: [a, b] } })).toEqual([a, b]);
    expect(requestedIds({ query: `{ x: transaction(id: "${c}") { id } transactions(ids: ["${d}"], tags: [{ name: "Process", values: ["${a}"] }]) { edges { node { id } } } }` })).toEqual([c, d]);
    expect(requestedIds({ query: 'query ($id: ID!) { transaction(id: $id) { id } }', variables: JSON.stringify({ id: b }) })).toEqual([b]);
    expect(requestedIds({ query: '{ transactions(ids: ["short"]) { edges { node { id } } } }' })).toEqual([]);
    expect(requestedIds({ query: '{ not graphql' })).toEqual([]);
  });
});
