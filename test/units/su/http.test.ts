import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDataItem, parseDataItem } from '../../../units/ans104/index.js';
import { loadConfig } from '../../../config/load.js';
import { startNode } from '../../../cli/start.js';
import { messageItem, spawnItem, startSu, tempDir, user, type Harness } from './helpers.js';

let h: Harness;
let app: FastifyInstance;

async function mount(o: Parameters<typeof startSu>[0] = {}) {
  h = await startSu(o);
  app = Fastify();
  await app.register(h.su.routes(h.client), { prefix: '/su' });
  await app.ready();
}

async function unmount() {
  await app?.close();
  await h?.stop();
}

const post = (body: Uint8Array | string | undefined, url = '/su', headers: Record<string, string> = { 'content-type': 'application/octet-stream' }) =>
  app.inject({ method: 'POST', url, payload: body === undefined ? undefined : Buffer.from(body), headers });
const get = (url: string) => app.inject({ method: 'GET', url });

async function spawnHttp(): Promise<string> {
  const s = await spawnItem(h.su.address);
  const r = await post(s.raw);
  expect(r.statusCode, r.body).toBe(200);
  return s.id;
}

async function messageHttp(pid: string, data?: string) {
  const m = await messageItem(pid, data);
  const r = await post(m.raw);
  expect(r.statusCode, r.body).toBe(200);
  return { id: m.id, reply: r.json() as { timestamp: number; id: string } };
}

const keys = (o: object) => Object.keys(o).sort();
const B64 = /^[A-Za-z0-9_-]+$/;

/** Reference shapes (servers/su json.rs), field for field. */
function expectOwner(o: unknown) {
  expect(keys(o as object)).toEqual(['address', 'key']);
  const { address, key } = o as { address: string; key: string };
  expect(address).toMatch(B64);
  expect(address).toHaveLength(43);
  expect(key).toMatch(B64);
}
function expectTags(tags: unknown) {
  expect(Array.isArray(tags)).toBe(true);
  for (const t of tags as object[]) expect(keys(t)).toEqual(['name', 'value']);
}
function expectMessageInner(m: Record<string, unknown>) {
  expect(keys(m)).toEqual(['anchor', 'data', 'id', 'owner', 'signature', 'tags', 'target']);
  expect(m.id).toMatch(B64);
  expectOwner(m.owner);
  expectTags(m.tags);
  expect(typeof m.signature).toBe('string');
  expect(m.data === null || typeof m.data === 'string').toBe(true);
  expect(m.anchor === null || typeof m.anchor === 'string').toBe(true);
  expect(typeof m.target).toBe('string');
}
function expectAssignmentInner(a: Record<string, unknown>) {
  expect(keys(a)).toEqual(['anchor', 'id', 'owner', 'signature', 'tags', 'target']);
  expectOwner(a.owner);
  expectTags(a.tags);
  expect(a.target).toBe('');
  expect((a.tags as { name: string }[]).map((t) => t.name).slice(0, 10)).toEqual([
    'Process', 'Message', 'Epoch', 'Nonce', 'Hash-Chain', 'Block-Height', 'Timestamp', 'Data-Protocol', 'Type', 'Variant',
  ]);
}
function expectMessage(node: Record<string, unknown>) {
  expect(keys(node)).toEqual(['assignment', 'message']);
  if (node.message !== null) expectMessageInner(node.message as Record<string, unknown>);
  expectAssignmentInner(node.assignment as Record<string, unknown>);
}
function expectPage(page: Record<string, unknown>) {
  expect(keys(page)).toEqual(['edges', 'page_info']);
  expect(keys(page.page_info as object)).toEqual(['has_next_page']);
  for (const e of page.edges as Record<string, unknown>[]) {
    expect(keys(e)).toEqual(['cursor', 'node']);
    expect(typeof e.cursor).toBe('string');
    expectMessage(e.node as Record<string, unknown>);
  }
}
const tagOf = (tags: { name: string; value: string }[], name: string) => tags.find((t) => t.name === name)?.value;

describe('SU routes: reference shapes', () => {
  beforeAll(() => mount());
  afterAll(unmount);

  it('GET / answers the timestamp (a string of ms) and this SU address', async () => {
    const r = await get('/su');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(keys(body)).toEqual(['address', 'timestamp']);
    expect(body.address).toBe(h.su.address);
    expect(body.timestamp).toMatch(/^\d{13}$/);
  });

  it('GET /timestamp answers the timestamp and a 12-digit block height, both strings', async () => {
    const body = (await get('/su/timestamp')).json();
    expect(keys(body)).toEqual(['block_height', 'timestamp']);
    expect(body.timestamp).toMatch(/^\d{13}$/);
    expect(body.block_height).toBe('000000000000');
  });

  it('GET /health is an empty 200', async () => {
    const r = await get('/su/health');
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('');
  });

  it('POST / answers { timestamp: number, id }: the process id for a spawn, the message id for a message', async () => {
    const s = await spawnItem(h.su.address);
    const r = await post(s.raw);
    expect(r.statusCode).toBe(200);
    expect(keys(r.json())).toEqual(['id', 'timestamp']);
    expect(r.json().id).toBe(s.id);
    expect(typeof r.json().timestamp).toBe('number');
    const m = await messageItem(s.id);
    const rm = await post(m.raw, '/su', {}); // no content type at all
    expect(rm.statusCode, rm.body).toBe(200);
    expect(rm.json().id).toBe(m.id);
    // The same item again: the same answer, nothing new in the log.
    expect((await post(m.raw)).json()).toEqual(rm.json());
    expect(h.su.log.process(s.id)!.nextSlot).toBe(2);
  });

  it('GET /processes/:id answers ProcessInner (what aoconnect and the CU read)', async () => {
    const pid = await spawnHttp();
    const r = await get(`/su/processes/${pid}`);
    expect(r.statusCode).toBe(200);
    const p = r.json();
    expect(keys(p)).toEqual(['anchor', 'block', 'data', 'owner', 'process_id', 'signature', 'tags', 'target', 'timestamp']);
    expect(p.process_id).toBe(pid);
    expect(p.block).toBe('000000000000');
    expect(typeof p.timestamp).toBe('number');
    expect(p.timestamp).toBe(h.su.log.slot(pid, 0)!.timestamp);
    expectOwner(p.owner);
    expect(p.owner.address).toBe((await user()).address);
    expect(p.data).toMatch(/^spawn /);
    expect(p.target).toBeNull();
    expect(tagOf(p.tags, 'Type')).toBe('Process');
    expect(tagOf(p.tags, 'Module')).toBeDefined();
    expect(tagOf(p.tags, 'Data-Protocol')).toBe('ao');
    expect(p.signature).toBe(parseDataItem(h.su.log.item(pid)!).signature);
  });

  it('GET /:processId pages messages with their assignments; the process is the first edge', async () => {
    const pid = await spawnHttp();
    const sent: Awaited<ReturnType<typeof messageHttp>>[] = [];
    for (let i = 0; i < 3; i++) sent.push(await messageHttp(pid, `hello ${i}`));
    const r = await get(`/su/${pid}`);
    expect(r.statusCode).toBe(200);
    const page = r.json();
    expectPage(page);
    expect(page.page_info.has_next_page).toBe(false);
    expect(page.edges).toHaveLength(4);
    const [first, ...rest] = page.edges;
    expect(first.node.message.id).toBe(pid);
    expect(tagOf(first.node.assignment.tags, 'Nonce')).toBe('0');
    rest.forEach((e: { node: { message: { id: string; data: string; target: string }; assignment: { tags: [] } }; cursor: string }, i: number) => {
      expect(e.node.message.id).toBe(sent[i]!.id);
      expect(e.node.message.data).toBe(`hello ${i}`);
      expect(e.node.message.target).toBe(pid);
      expect(tagOf(e.node.assignment.tags, 'Nonce')).toBe(String(i + 1));
      expect(tagOf(e.node.assignment.tags, 'Process')).toBe(pid);
      expect(tagOf(e.node.assignment.tags, 'Message')).toBe(sent[i]!.id);
      expect(e.cursor).toBe(tagOf(e.node.assignment.tags, 'Timestamp'));
      expect(Number(e.cursor)).toBe(sent[i]!.reply.timestamp);
    });
  });

  it('GET /:messageId?process-id= and GET /:assignmentId answer one Message', async () => {
    const pid = await spawnHttp();
    const { id } = await messageHttp(pid);
    const r = await get(`/su/${id}?process-id=${pid}`);
    expect(r.statusCode).toBe(200);
    const node = r.json();
    expectMessage(node);
    expect(node.message.id).toBe(id);
    const assignmentId = node.assignment.id;
    expect((await get(`/su/${assignmentId}`)).json()).toEqual(node);
    expect((await get(`/su/${id}`)).json()).toEqual(node);
    const latest = await get(`/su/${pid}/latest`);
    expect(latest.json()).toEqual(node);
    const wrongProcess = await get(`/su/${id}?process-id=${'Q'.repeat(43)}`);
    expect(wrongProcess.statusCode).toBe(400);
    expect(wrongProcess.json()).toEqual({ error: 'Message or Process not found' });
  });

  it('POST /?process-id=&assign= assigns a message this SU holds: the answer is the assignment id, the node has message null', async () => {
    const pid = await spawnHttp();
    const other = await spawnHttp();
    const { id } = await messageHttp(other);
    const r = await post(undefined, `/su?process-id=${pid}&assign=${id}&exclude=Data,Anchor`);
    expect(r.statusCode, r.body).toBe(200);
    const { id: assignmentId } = r.json();
    const node = (await get(`/su/${assignmentId}`)).json();
    expectMessage(node);
    expect(node.message).toBeNull();
    expect(node.assignment.id).toBe(assignmentId);
    expect(tagOf(node.assignment.tags, 'Message')).toBe(id);
    expect(tagOf(node.assignment.tags, 'Process')).toBe(pid);
    expect(node.assignment.tags.filter((t: { name: string }) => t.name === 'Exclude').map((t: { value: string }) => t.value)).toEqual(['Data', 'Anchor']);
    expect((await post(undefined, `/su?process-id=${pid}&assign=${id}`)).json()).toEqual(r.json());
  });
});

describe('SU routes: paging as the reference CU reads it', () => {
  let clock = 1_700_000_000_000;
  beforeAll(() => mount({ now: () => clock }));
  afterAll(unmount);

  /** The CU's fetchAllPages: next from = last cursor while has_next_page. */
  async function fetchAll(pid: string, limit: number, from?: number, to?: number) {
    const seen: string[] = [];
    let cursor = from;
    let pages = 0;
    for (;;) {
      const qs = new URLSearchParams({ 'process-id': pid, limit: String(limit) });
      if (cursor !== undefined) qs.set('from', String(cursor));
      if (to !== undefined) qs.set('to', String(to));
      const page = (await get(`/su/${pid}?${qs}`)).json();
      pages++;
      for (const e of page.edges) seen.push(e.node.message.id);
      if (!page.page_info.has_next_page) return { seen, pages };
      cursor = Number(page.edges[page.edges.length - 1].cursor);
    }
  }

  it('from is exclusive, to inclusive, limit defaults to 100, has_next_page tells whether more follow', async () => {
    const pid = await spawnHttp(); // at t0
    const ids = [pid];
    for (let i = 1; i <= 120; i++) {
      clock += 10;
      ids.push((await messageHttp(pid)).id);
    }
    const t0 = clock - 1200;
    const all = (await get(`/su/${pid}`)).json();
    expect(all.edges).toHaveLength(100);
    expect(all.page_info.has_next_page).toBe(true);
    const byTime = (await get(`/su/${pid}?from=${t0 + 100}&to=${t0 + 200}`)).json();
    expect(byTime.edges.map((e: { node: { message: { id: string } } }) => e.node.message.id)).toEqual(ids.slice(11, 21));
    expect(byTime.page_info.has_next_page).toBe(false);
    const full = await fetchAll(pid, 25);
    expect(full.seen).toEqual(ids);
    expect(full.pages).toBe(5);
    // Nonce mode: cursor is the Nonce; from-nonce=-1 includes the process.
    const byNonce = (await get(`/su/${pid}?from-nonce=-1&to-nonce=2`)).json();
    expect(byNonce.edges.map((e: { cursor: string }) => e.cursor)).toEqual(['0', '1', '2']);
    const afterNonce = (await get(`/su/${pid}?from-nonce=118&limit=5`)).json();
    expect(afterNonce.edges.map((e: { cursor: string }) => e.cursor)).toEqual(['119', '120']);
    expect((await get(`/su/${pid}?limit=abc`)).statusCode).toBe(400);
  });

  it('slots sharing a millisecond are never split between pages, so paging by cursor skips nothing', async () => {
    clock += 1000;
    const pid = await spawnHttp();
    const ids = [pid];
    for (let i = 0; i < 30; i++) ids.push((await messageHttp(pid)).id); // all in one millisecond
    clock += 1;
    for (let i = 0; i < 5; i++) ids.push((await messageHttp(pid)).id);
    const first = (await get(`/su/${pid}?limit=7`)).json();
    expect(first.edges).toHaveLength(31);
    expect(first.page_info.has_next_page).toBe(true);
    expect((await fetchAll(pid, 7)).seen).toEqual(ids);
  });
});

describe('SU routes: bad input is a 4xx with a reason, and nothing is stored', () => {
  beforeAll(() => mount());
  afterAll(unmount);

  async function expect400(body: Uint8Array | string | undefined, match: RegExp | string, url = '/su') {
    const count = () => h.store.db('su.slots').getKeysCount() + h.store.db('su.refs').getKeysCount() + h.store.db('su.processes').getKeysCount();
    const before = count();
    const r = await post(body, url);
    expect(r.statusCode, r.body).toBe(400);
    expect(keys(r.json())).toEqual(['error']);
    if (typeof match === 'string') expect(r.json().error).toBe(match);
    else expect(r.json().error).toMatch(match);
    expect(count()).toBe(before);
  }

  const signed = async (fields: Parameters<typeof createDataItem>[0]) => (await createDataItem(fields, await user())).raw;

  it('garbage, empty bodies and truncated items', async () => {
    await expect400('not a data item', /^Not a valid ANS-104 data item/);
    await expect400(undefined, /empty/);
    await expect400(new Uint8Array(0), /empty/);
    const pid = await spawnHttp();
    const m = await messageItem(pid);
    await expect400(m.raw.subarray(0, 100), /^Not a valid ANS-104 data item/);
  });

  it('a bad signature', async () => {
    const pid = await spawnHttp();
    const m = Buffer.from((await messageItem(pid, 'original data')).raw);
    m[m.length - 1] ^= 1;
    await expect400(m, /^Invalid signature/);
    const s = Buffer.from((await spawnItem(h.su.address)).raw);
    s[10] ^= 1; // inside the signature
    await expect400(s, /^Invalid signature/);
  });

  it('missing or wrong tags, a Scheduler tag naming another SU, an unknown process', async () => {
    await expect400(await signed({ data: 'x', tags: [{ name: 'Data-Protocol', value: 'ao' }] }), 'Type tag not present');
    await expect400(await signed({ data: 'x', tags: [{ name: 'Type', value: 'Message' }] }), 'Data-Protocol tag not present');
    await expect400(await signed({ data: 'x', tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Module' }] }), /^Unsupported Type tag value 'Module'/);
    await expect400(
      await signed({ data: 'x', tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Process' }, { name: 'Module', value: 'M'.repeat(43) }] }),
      'Required Module and Scheduler tags for Process type not present',
    );
    await expect400((await spawnItem('S'.repeat(43))).raw, /^Process does not belong on this SU/);
    await expect400(await signed({ data: 'x', tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }), /^Message has no target/);
    const unknown = 'U'.repeat(43);
    await expect400((await messageItem(unknown)).raw, `Process not found: ${unknown}`);
  });

  it('assign with one of its two parameters, bad ids, unknown process or transaction', async () => {
    const pid = await spawnHttp();
    await expect400(undefined, 'If sending assign or process-id, you must send both.', `/su?process-id=${pid}`);
    await expect400(undefined, 'If sending assign or process-id, you must send both.', `/su?assign=${pid}`);
    await expect400(undefined, /^assign must be a transaction id/, `/su?process-id=${pid}&assign=nope`);
    await expect400(undefined, /^Process not found/, `/su?process-id=${'U'.repeat(43)}&assign=${pid}`);
    const tx = createHash('sha256').update('a transaction nobody sent here').digest('base64url');
    await expect400(undefined, /^Assigned transaction not found on this SU/, `/su?process-id=${pid}&assign=${tx}`);
    await expect400(undefined, /gateway/, `/su?process-id=${pid}&assign=${tx}&base-layer`);
  });

  it('a body over 10 MiB is a 413 with a reason', async () => {
    const r = await post(Buffer.alloc(10 * 1024 * 1024 + 1, 7));
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatch(/larger than/);
  });

  it('unknown ids on the read routes are 400s with a reason', async () => {
    expect((await get(`/su/${'Q'.repeat(43)}`)).json()).toEqual({ error: 'Message or Process not found' });
    expect((await get(`/su/processes/${'Q'.repeat(43)}`)).statusCode).toBe(400);
    expect((await get(`/su/${'Q'.repeat(43)}/latest`)).statusCode).toBe(400);
    // Ids that are not ids are refused before any lookup.
    for (const url of [`/su/${'A'.repeat(43)}?process-id=${'B'.repeat(5000)}`, `/su/abc`, `/su/processes/abc`, `/su/abc/latest`]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error).toMatch(/must be a transaction id/);
    }
  });
});

describe('the node serves the SU under /su', () => {
  it('aotp start: a wallet is created in the data dir, and a spawn and a message go through a real socket', async () => {
    const dir = tempDir('aotp-node-');
    const lines: string[] = [];
    let spawnId = '';
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const node = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent' }, {}), log);
    expect(existsSync(join(dir, 'su-wallet.json'))).toBe(true);
    expect(lines.some((l) => l.includes('created a new ed25519 SU wallet') && l.includes(node.su.address))).toBe(true);
    try {
      const info = await (await fetch(`${node.url}/su`)).json();
      expect(info.address).toBe(node.su.address);
      const s = await spawnItem(node.su.address);
      spawnId = s.id;
      const r = await fetch(`${node.url}/su`, { method: 'POST', body: Buffer.from(s.raw), headers: { 'content-type': 'application/octet-stream' } });
      expect(await r.json()).toMatchObject({ id: s.id });
      const m = await messageItem(s.id);
      expect((await fetch(`${node.url}/su`, { method: 'POST', body: Buffer.from(m.raw) })).status).toBe(200);
      const page = await (await fetch(`${node.url}/su/${s.id}`)).json();
      expect(page.edges).toHaveLength(2);
    } finally {
      await node.stop();
    }
    // Restarted on the same data dir: the same wallet, the same log.
    lines.length = 0;
    const again = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent' }, {}), log);
    try {
      expect(again.su.address).toBe(node.su.address);
      expect(lines.some((l) => l.includes('created a new'))).toBe(false);
      const page = await (await fetch(`${again.url}/su/${spawnId}`)).json();
      expect(page.edges).toHaveLength(2);
    } finally {
      await again.stop();
    }
  });
});
