/**
 * The real libraries against the gateway on a listening server (127.0.0.1, no internet):
 * ao-scheduler-utils' validate / locate / raw / getProcess, and aoconnect's legacy spawn (its
 * module lookup goes to the gateway; the SU's own POST stands in for the MU).
 */
import { connect as schedulerUtils, TransactionNotFoundError } from '@permaweb/ao-scheduler-utils';
import { connect as aoconnect, createDataItemSigner } from '@permaweb/aoconnect';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateWallet, parseDataItem, tagValue } from '../../../units/ans104/index.js';
import { spawnProcess } from '../su/helpers.js';
import { startGateway, type GatewayHarness } from './support.js';

let g: GatewayHarness;
let base: string;
let processId: string;
/** A port nothing listens on: the HyperBEAM and su-router lookups fail there, as offline. */
let closed: string;

beforeAll(async () => {
  g = await startGateway();
  base = await g.listen();
  processId = await spawnProcess(g.h);
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closed = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  await new Promise((r) => s.close(r));
});

afterAll(async () => {
  await g?.stop();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

// HB_GRAPHQL_URL is read by the library but missing from its ConnectParams type.
const utils = () => schedulerUtils({ GRAPHQL_URL: `${base}/graphql`, HB_GRAPHQL_URL: closed, cacheSize: 0 } as Parameters<typeof schedulerUtils>[0]);
const legacy = () => aoconnect({ MODE: 'legacy', GRAPHQL_URL: `${base}/graphql`, MU_URL: `${base}/su`, CU_URL: closed });

describe('ao-scheduler-utils 0.0.29', () => {
  it("validate(SU address) is true: the SU's Scheduler-Location is found and accepted", async () => {
    expect(await utils().validate(g.h.su.address)).toBe(true);
  });

  it('validate(a wallet with no Scheduler-Location) rejects with TransactionNotFound (the library\'s answer to an empty result)', async () => {
    const other = await generateWallet('ed25519');
    await expect(utils().validate(other.address)).rejects.toBeInstanceOf(TransactionNotFoundError);
  });

  it("raw(SU address) answers the SU's URL", async () => {
    expect(await utils().raw(g.h.su.address)).toEqual({ url: `${base}/su` });
  });

  it('locate(process, scheduler hint) answers the SU URL and address', async () => {
    expect(await utils().locate(processId, g.h.su.address)).toEqual({ url: `${base}/su`, address: g.h.su.address });
  });

  it('locate(process) with no hint: process → Scheduler tag → Scheduler-Location, through the gateway', async () => {
    // The library first asks https://su-router.ao-testnet.xyz; offline that fetch would reject
    // and fail the whole locate, so answer it as a router that does not know the process.
    const real = globalThis.fetch;
    vi.stubGlobal('fetch', (input: string | URL | Request, init?: RequestInit) =>
      String(input).startsWith('https://su-router.ao-testnet.xyz') ? Promise.resolve(new Response('not found', { status: 404 })) : real(input, init),
    );
    expect(await utils().locate(processId)).toEqual({ url: `${base}/su`, address: g.h.su.address });
  });

  it('getProcess(process) falls back to the gateway and answers the process node', async () => {
    const p = (await utils().getProcess(processId)) as { id: string; tags: { name: string; value: string }[] };
    expect(p.id).toBe(processId);
    expect(tagValue(p.tags, 'Scheduler')).toBe(g.h.su.address);
  });

  it('the located URL is a working SU: GET <url> answers its address', async () => {
    const { url } = await utils().locate(processId, g.h.su.address);
    expect(await (await fetch(url)).json()).toMatchObject({ address: g.h.su.address });
  });
});

describe('@permaweb/aoconnect 0.0.85, legacy mode', () => {
  let wallet: Awaited<ReturnType<typeof generateWallet>>;
  beforeAll(async () => {
    wallet = await generateWallet('rsa');
  });

  it('spawn: the module is looked up on the gateway; the process item lands in the SU and is then found by the gateway', async () => {
    const ao = legacy();
    const id = await ao.spawn({
      module: g.moduleId,
      scheduler: g.h.su.address,
      signer: createDataItemSigner(wallet.key),
      tags: [{ name: 'Name', value: 'gateway-test' }],
    });
    const item = parseDataItem(g.h.su.log.item(id)!);
    expect(tagValue(item.tags, 'Module')).toBe(g.moduleId);
    expect(tagValue(item.tags, 'Scheduler')).toBe(g.h.su.address);
    expect(g.gateway.transaction(id)?.owner.address).toBe(wallet.address);
    expect(await utils().locate(id, g.h.su.address)).toEqual({ url: `${base}/su`, address: g.h.su.address });
  });

  it('spawn with a module id the gateway does not know fails in the module check', async () => {
    const ao = legacy();
    await expect(ao.spawn({ module: 'm'.repeat(43), scheduler: g.h.su.address, signer: createDataItemSigner(wallet.key) })).rejects.toThrow(/Invalid Return 'undefined'/); // the library's zod check on an empty result
  });
});
