/**
 * The CU loads a module by id: from its store, from `cu.modulesDir` (`<id>.item`), or from a
 * gateway, as the reference CU loads modules from Arweave (GraphQL for the item's fields,
 * `/raw/<id>` for its data). What it fetches is verified (signature, the id asked for,
 * Type=Module, a Module-Format it runs) and cached in its store. The MU's spawn check means
 * "the CU can load it".
 *
 * The real Arweave network is not reachable from where these tests run (no internet). The
 * gateway here is another aotp node's (its `/graphql` and `/raw/:id`, serving the fields
 * arweave.net serves for them); a second HTTP server in front of it stands in for a gateway
 * that is down or serves other bytes (named `badGateway`).
 */
import { writeFileSync } from 'node:fs';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createDataItemSigner } from '@permaweb/aoconnect';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../../cli/start.js';
import { createDataItem, generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { evalLua, node, post, tempDir } from '../mu/support.js';

const dirs: string[] = [];
const nodes: RunningNode[] = [];
let user: Wallet;
/** The node whose gateway the others fetch from: it has the bundled aos modules. */
let a: RunningNode;
let moduleId: string;

async function start(overrides: Record<string, unknown> = {}, dir = tempDir('aotp-modules-')): Promise<RunningNode> {
  dirs.push(dir);
  const n = await node(dir, overrides);
  nodes.push(n);
  return n;
}

/** A node with no bundled modules (its modules dir has no aos binaries) and these CU settings. */
const bare = (cu: Record<string, unknown>) => {
  const modulesDir = tempDir('aotp-modules-dir-');
  dirs.push(modulesDir);
  return start({ cu: { modulesDir, ...cu } });
};

function spawnItem(n: RunningNode, module: string) {
  return createDataItem(
    {
      data: '',
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: module },
        { name: 'Scheduler', value: n.su.address },
        { name: 'Authority', value: n.mu.address },
      ],
    },
    user,
  );
}

const spawnAt = async (n: RunningNode, module: string) => {
  const item = await spawnItem(n, module);
  const r = await post(`${n.url}/mu/`, item.raw);
  return { id: item.id, status: r.status, body: (await r.json()) as { error?: string } };
};

/** What an aos process prints for `code`, through the node's MU and its CU's /result route. */
async function run(n: RunningNode, processId: string, code: string): Promise<string> {
  const { id } = await evalLua(n, user, processId, code);
  const r = await fetch(`${n.url}/cu/result/${id}?process-id=${processId}`);
  expect(r.status).toBe(200);
  const out = ((await r.json()) as { Output: { data?: string } }).Output;
  return String(out.data ?? '').trim();
}

/** Stands in for a gateway that is down or serves other bytes than the item's: in front of `target`. */
async function badGateway(target: string) {
  const g = { mode: 'down' as 'down' | 'tamper', requests: 0 };
  const app: FastifyInstance = Fastify();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.post('/graphql', async (req, reply) => {
    g.requests++;
    if (g.mode === 'down') return reply.code(502).send('bad gateway');
    const r = await fetch(`${target}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: req.body as string });
    return reply.code(r.status).type('application/json').send(await r.text());
  });
  app.get<{ Params: { id: string } }>('/raw/:id', async (req, reply) => {
    g.requests++;
    const bytes = Buffer.from(await (await fetch(`${target}/raw/${req.params.id}`)).arrayBuffer());
    bytes[bytes.length >> 1] ^= 1;
    return reply.type('application/octet-stream').send(bytes);
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return Object.assign(g, { url, close: () => app.close() });
}

beforeAll(async () => {
  user = await generateWallet('ed25519');
  a = await start();
  moduleId = a.cu.modules.bundled()['aos-2.0.4-wasm32']!;
  expect(moduleId).toBeDefined();
});

afterAll(async () => {
  for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('from a gateway (another aotp node)', () => {
  let b: RunningNode;
  beforeAll(async () => {
    b = await bare({ gateway: a.url });
  });

  it('a node without the module spawns a process of it: fetched, verified, cached byte for byte; the process runs', async () => {
    expect(b.cu.modules.bundled()).toEqual({});
    expect(b.cu.modules.has(moduleId)).toBe(false);
    const s = await spawnAt(b, moduleId);
    expect(s).toMatchObject({ status: 202 });
    // The signed item put back together from the gateway's GraphQL fields and /raw data.
    expect(Buffer.compare(Buffer.from(b.cu.modules.raw(moduleId)!), Buffer.from(a.cu.modules.raw(moduleId)!))).toBe(0);
    expect(await run(b, s.id, 'return 6 * 7')).toBe('42');
  });

  it('an id the gateway does not know is a 400 naming where the CU looked', async () => {
    const unknown = 'U'.repeat(42) + 'A';
    const s = await spawnAt(b, unknown);
    expect(s.status).toBe(400);
    expect(s.body.error).toBe(`Module not found: ${unknown} is not known to this CU (looked in its store, ${b.cu.runtime.config.modulesDir}/${unknown}.item, gateway ${a.url}) (GET / lists the modules this node bundles)`);
  });

  it('an item that is not a module is refused from its tags', async () => {
    const processOnA = await spawnAt(a, moduleId);
    expect(processOnA.status).toBe(202);
    const s = await spawnAt(b, processOnA.id);
    expect(s.status).toBe(400);
    expect(s.body.error).toMatch(new RegExp(`^item ${processOnA.id} is not a module \\(Type=Process\\)`));
    expect(b.cu.modules.has(processOnA.id)).toBe(false);
  });
});

describe('an AO developer (aoconnect) against a node that fetches its modules', () => {
  it("spawns with a module id the node has never seen: the node's GraphQL answers for it (fetched), the process runs", async () => {
    const d = await bare({ gateway: a.url });
    const wasm64 = a.cu.modules.bundled()['aos-2.0.6-wasm64']!;
    const info = (await (await fetch(`${d.url}/`)).json()) as { mu: string; cu: string; graphql: string; addresses: { su: string; mu: string } };
    expect(d.cu.modules.has(wasm64)).toBe(false);
    const ao = connect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GRAPHQL_URL: info.graphql, noLog: true } as never) as unknown as {
      spawn(a: { module: string; scheduler: string; signer: unknown; tags: { name: string; value: string }[] }): Promise<string>;
      message(a: { process: string; signer: unknown; tags: { name: string; value: string }[]; data: string }): Promise<string>;
      result(a: { message: string; process: string }): Promise<{ Output?: { data?: unknown } }>;
    };
    const wallet = await generateWallet('rsa');
    const signer = createDataItemSigner(wallet.key as never);
    const process = await ao.spawn({ module: wasm64, scheduler: info.addresses.su, signer, tags: [{ name: 'Authority', value: info.addresses.mu }] });
    const message = await ao.message({ process, signer, tags: [{ name: 'Action', value: 'Eval' }], data: 'return "fetched " .. #ao.id' });
    expect(String((await ao.result({ message, process })).Output?.data).trim()).toBe('fetched 43');
    expect(d.cu.modules.has(wasm64)).toBe(true);
  });
});

describe('a gateway that is down, then serves other bytes', () => {
  let c: RunningNode;
  let g: Awaited<ReturnType<typeof badGateway>>;
  beforeAll(async () => {
    g = await badGateway(a.url);
    c = await bare({ gateway: g.url });
  });
  afterAll(() => g.close());

  it('down: 503, try again (not an answer about the module); nothing cached, and it is asked again', async () => {
    const s = await spawnAt(c, moduleId);
    expect(s.status).toBe(503);
    expect(s.body.error).toMatch(/cannot be looked up now, try again: gateway .* answered the GraphQL query with HTTP 502/);
    expect(c.mu.store.job(s.id)).toBeUndefined();

    // Serving tampered data: the signature catches it, and the refusal is final for a while.
    g.mode = 'tamper';
    const before = g.requests;
    const t = await spawnAt(c, moduleId);
    expect(t.status).toBe(400);
    expect(t.body.error).toMatch(new RegExp(`^module ${moduleId}: bad signature`));
    expect(g.requests).toBe(before + 2);
    expect(c.cu.modules.has(moduleId)).toBe(false);
    const again = await spawnAt(c, moduleId);
    expect(again.status).toBe(400);
    expect(g.requests).toBe(before + 2);
  });
});

describe('from cu.modulesDir', () => {
  it('a signed module item in <id>.item is loaded by id; a file holding another item is refused', async () => {
    const modulesDir = tempDir('aotp-modules-dir-');
    dirs.push(modulesDir);
    const other = a.cu.modules.bundled()['aos-2.0.6-wasm64']!;
    writeFileSync(join(modulesDir, `${moduleId}.item`), a.cu.modules.raw(moduleId)!);
    writeFileSync(join(modulesDir, `${other}.item`), a.cu.modules.raw(moduleId)!);
    const e = await start({ cu: { modulesDir } });
    expect(e.cu.modules.bundled()).toEqual({});
    const s = await spawnAt(e, moduleId);
    expect(s.status).toBe(202);
    expect(await run(e, s.id, 'return "from the modules dir"')).toBe('from the modules dir');
    const wrong = await spawnAt(e, other);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(new RegExp(`^module ${other}: the item found is ${moduleId}, another item`));
  });
});

describe('cached', () => {
  it('a module fetched once runs after a restart with its gateway gone', async () => {
    const dir = tempDir('aotp-modules-');
    const modulesDir = tempDir('aotp-modules-dir-');
    dirs.push(modulesDir);
    const gone = await badGateway(a.url);
    await gone.close();
    const first = await start({ cu: { modulesDir, gateway: a.url } }, dir);
    const s = await spawnAt(first, moduleId);
    expect(s.status).toBe(202);
    await first.stop();
    const again = await start({ cu: { modulesDir, gateway: gone.url } }, dir);
    expect(await run(again, s.id, 'return "still here"')).toBe('still here');
  });
});
