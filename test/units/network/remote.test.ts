/**
 * The parts a node uses to reach another operator's node, against a real SU and gateway over
 * real HTTP (LMDB in a temp dir): the gateway client and locator (records found by owner, kept
 * for their TTL), the remote SU client (a log read back item for item, a tampered answer caught),
 * and uploads to the gateway as to a bundler (bad items refused with the reason).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createDataItem, generateWallet, parseDataItem, tagValue } from '../../../units/ans104/index.js';
import { node, spawn, tempDir } from '../mu/support.js';
import { createGateway } from '../../../units/gateway/index.js';
import { uploadRoutes, Uploads } from '../../../units/gateway/uploads.js';
import { GatewayClient, GatewayUnavailable, RemoteSu, SchedulerLocator } from '../../../units/network/index.js';
import { RemoteMismatch, RemoteRefused } from '../../../units/network/remote-su.js';
import { startGateway, type GatewayHarness } from '../gateway/support.js';
import { messageItem, spawnProcess } from '../su/helpers.js';

let g: GatewayHarness;
let processId: string;
const remote = new RemoteSu(5000);

beforeAll(async () => {
  g = await startGateway();
  await g.listen();
  processId = await spawnProcess(g.h);
  // Twelve messages, four with a text anchor (kept whole in the JSON) and the rest without.
  for (let i = 0; i < 12; i++) {
    const m = i % 3 === 0
      ? await createDataItem({ data: `m${i}`, target: processId, anchor: `anchor-${String(i).padStart(25, '0')}`, tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }, await generateWallet('ed25519'))
      : await messageItem(processId);
    const r = await g.h.client.schedule(processId, { op: 'message', id: m.id, raw: m.raw });
    if (!('ok' in r)) throw new Error(r.error);
  }
});
afterAll(async () => g?.stop());

describe('RemoteSu', () => {
  it('reads a log back as the SU holds it, page by page', async () => {
    const local = await g.h.su.reader.read(processId, 0);
    const got = [...(await remote.read(`${g.base}/su`, processId, 0, 4, 5)), ...(await remote.read(`${g.base}/su`, processId, 5, undefined, 100))];
    expect(got.map((e) => e.slot)).toEqual(local.map((e) => e.slot));
    for (const [i, e] of got.entries()) {
      const l = local[i]!;
      expect(Buffer.from(e.message!).equals(Buffer.from(l.message!))).toBe(true);
      expect([e.assignmentId, e.messageId, e.timestamp, e.blockHeight, e.hashChain]).toEqual([l.assignmentId, l.messageId, l.timestamp, l.blockHeight, l.hashChain]);
    }
    const info = await remote.process(`${g.base}/su`, processId);
    expect(Buffer.from(info.spawn).equals(Buffer.from(g.h.su.reader.processSync(processId)!.spawn))).toBe(true);
    expect(info.lastSlot).toBe(12);
  });

  it('an SU whose answer does not match the items\' signatures is caught', async () => {
    const liar = Fastify();
    liar.get('/su/:id', async (req) => {
      const r = await fetch(`${g.base}${req.url}`);
      const page = (await r.json()) as { edges: { node: { message: { tags: { name: string; value: string }[] } } }[] };
      // Slot 4 holds a message with a text anchor: its bytes are all in the JSON, so a changed tag shows.
      for (const e of page.edges) e.node.message.tags.push({ name: 'Injected', value: 'yes' });
      return page;
    });
    const base = await liar.listen({ host: '127.0.0.1', port: 0 });
    try {
      await expect(remote.read(`${base}/su`, processId, 4, 4, 1)).rejects.toThrow(RemoteMismatch);
    } finally {
      await liar.close();
    }
  });

  it('a refusal is RemoteRefused with the SU\'s reason', async () => {
    const other = await messageItem(randomBytes(32).toString('base64url'));
    await expect(remote.post(`${g.base}/su`, other.raw)).rejects.toThrow(RemoteRefused);
    await expect(remote.post(`${g.base}/su`, other.raw)).rejects.toThrow(/Process not found/);
  });
});

describe('answers too large to take', () => {
  it('an SU or gateway that sends without end is cut off, not buffered', async () => {
    // One declares a huge body; the other streams one without declaring it.
    const server = createServer((req, res) => {
      if (req.url!.startsWith('/su')) res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 ** 10) });
      else res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(remote.read(`${base}/su`, processId, 0, undefined, 10)).rejects.toThrow(/more than the \d+ taken/);
      await expect(new GatewayClient(base, 5000).item(processId)).rejects.toThrow(/more than the \d+ bytes taken/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('block height', () => {
  it('a node on a network takes the gateway\'s height for its assignments, and serves it on its own /info', async () => {
    const gateway = Fastify();
    gateway.get('/info', async () => ({ network: 'arweave.N.1', height: 1_234_567 }));
    gateway.post('/graphql', async () => ({ data: { transactions: { edges: [] } } }));
    gateway.post('/tx', async (_req, reply) => reply.code(200).send({ id: 'x' }));
    const url = await gateway.listen({ host: '127.0.0.1', port: 0 });
    const dir = tempDir('aotp-height-');
    const n = await node(dir, { network: { gateway: url, blockHeightEveryMs: 50 } });
    try {
      const timestamp = async () => ((await (await fetch(`${n.url}/su/timestamp`)).json()) as { block_height: string }).block_height;
      const end = Date.now() + 10_000;
      while ((await timestamp()) !== '000001234567' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(await timestamp()).toBe('000001234567');
      expect(((await (await fetch(`${n.url}/info`)).json()) as { height: number }).height).toBe(1_234_567);
      const user = await generateWallet('ed25519');
      const pid = await spawn(n, user);
      expect(tagValue(parseDataItem(n.su.reader.processSync(pid)!.first.assignment).tags, 'Block-Height')).toBe('000001234567');
    } finally {
      await n.stop();
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SchedulerLocator', () => {
  it('finds a process\'s SU through its Scheduler tag and the newest record, and keeps it for the TTL', async () => {
    let now = 1_000;
    const locator = new SchedulerLocator(new GatewayClient(g.base, 5000), () => now);
    expect((await locator.process(processId))?.owner).toBeDefined();
    const location = await locator.locate(g.h.su.address);
    expect(location?.url).toBe(`${g.base}/su`);
    expect(await locator.locate((await generateWallet('ed25519')).address)).toBeUndefined();
    expect(await locator.process('Q'.repeat(43))).toBeUndefined();
    // Kept while the record's TTL runs: answered with the gateway gone; asked again after it.
    const unreachable = new SchedulerLocator(new GatewayClient('http://127.0.0.1:9', 1000), () => now);
    await expect(unreachable.locate(g.h.su.address)).rejects.toThrow(GatewayUnavailable);
    now += 1;
    expect((await locator.locate(g.h.su.address))?.url).toBe(location!.url);
  });
});

describe('Uploads (POST /tx)', () => {
  it('keeps a signed item and serves it by owner; refuses what is not a valid item, with the reason', async () => {
    const uploads = new Uploads(g.h.store);
    const gateway = createGateway({ sources: [uploads] });
    const app = Fastify();
    await app.register(uploadRoutes(uploads), { prefix: '/' });
    await app.register(gateway.routes(), { prefix: '/graphql' });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const w = await generateWallet('ed25519');
      const item = await createDataItem({ data: 'hello', tags: [{ name: 'Type', value: 'Note' }] }, w);
      const up = (raw: Uint8Array) => fetch(`${base}/tx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw) });
      for (let i = 0; i < 2; i++) {
        const r = await up(item.raw);
        expect(r.status).toBe(200);
        expect(await r.json()).toEqual({ id: item.id });
      }
      const found = gateway.transactions({ owners: [w.address] });
      expect(found.edges.map((e) => e.node.id)).toEqual([item.id]);
      const bad = Buffer.from(item.raw);
      bad[bad.length - 1] ^= 1;
      const refused = await up(bad);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(/signature is not valid/);
      const garbage = await up(Buffer.from('not an item'));
      expect(garbage.status).toBe(400);
      expect(((await garbage.json()) as { error: string }).error).toBeTruthy();
    } finally {
      await app.close();
    }
  });
});
