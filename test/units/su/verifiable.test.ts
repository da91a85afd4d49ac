/**
 * Every assignment of a `GET /su/:processId` page checks from its JSON alone, with arbundles
 * and nothing of ours: the item's signature data is rebuilt from the owner key, tags, anchor and
 * target, the signature verified over its deep hash, and the id is sha256(signature).
 */
import { createHash } from 'node:crypto';
import { deepHash, indexToType, serializeTags, SIG_CONFIG } from '@dha-team/arbundles';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { messageItem, spawnItem, startSu, type Harness } from './helpers.js';

interface AssignmentJson {
  id: string;
  owner: { address: string; key: string };
  tags: { name: string; value: string }[];
  signature: string;
  anchor: string | null;
  target: string | null;
}

/** The signature type whose signature and owner lengths these are (ANS-104 has no other hint in JSON). */
function signatureType(signature: Buffer, owner: Buffer): number {
  for (const [type, c] of Object.entries(SIG_CONFIG)) if (c.sigLength === signature.length && c.pubLength === owner.length) return Number(type);
  throw new Error(`no signature type with ${signature.length}-byte signatures and ${owner.length}-byte keys`);
}

/** Whether the JSON is a genuine item: signature over the deep hash, id and address from it. */
async function verifyJson(a: AssignmentJson): Promise<boolean> {
  const signature = Buffer.from(a.signature, 'base64url');
  const owner = Buffer.from(a.owner.key, 'base64url');
  const type = signatureType(signature, owner);
  // The JSON serves the anchor as its text; null is no anchor (or bytes that are not text, which
  // then fail the signature).
  const anchor = a.anchor === null ? Buffer.alloc(0) : Buffer.from(a.anchor);
  const target = a.target ? Buffer.from(a.target, 'base64url') : Buffer.alloc(0);
  const message = await deepHash([
    Buffer.from('dataitem'),
    Buffer.from('1'),
    Buffer.from(String(type)),
    owner,
    target,
    anchor,
    a.tags.length ? serializeTags(a.tags) : Buffer.alloc(0),
    Buffer.alloc(0),
  ]);
  const ok = await indexToType[type]!.verify(owner, message, signature);
  return (
    ok &&
    a.id === createHash('sha256').update(signature).digest('base64url') &&
    a.owner.address === createHash('sha256').update(owner).digest('base64url')
  );
}

let h: Harness | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await h?.stop();
  app = h = undefined;
});

describe.each([
  ['ed25519', 0],
  ['ed25519', 2],
  ['rsa', 0],
  ['rsa', 2],
] as const)('%s SU (signing threads: %s)', (kind, signers) => {
  it('every assignment of a log page verifies from the JSON; a changed field does not', async () => {
    h = await startSu({ kind, signers });
    app = Fastify();
    await app.register(h.su.routes(h.client), { prefix: '/su' });
    await app.ready();
    const post = (body: Uint8Array | undefined, url = '/su') =>
      app!.inject({ method: 'POST', url, payload: body && Buffer.from(body), headers: { 'content-type': 'application/octet-stream' } });

    const spawn = await spawnItem(h.su.address);
    expect((await post(spawn.raw)).statusCode).toBe(200);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const m = await messageItem(spawn.id);
      expect((await post(m.raw)).statusCode).toBe(200);
      ids.push(m.id);
    }
    // The assign flow too (its assignments carry Exclude tags): a message of another process here.
    const other = await spawnItem(h.su.address);
    expect((await post(other.raw)).statusCode).toBe(200);
    const elsewhere = await messageItem(other.id);
    expect((await post(elsewhere.raw)).statusCode).toBe(200);
    const assigned = await post(undefined, `/su?process-id=${spawn.id}&assign=${elsewhere.id}&exclude=Data,Anchor`);
    expect(assigned.statusCode, assigned.body).toBe(200);

    const page = (await app.inject({ method: 'GET', url: `/su/${spawn.id}` })).json() as { edges: { node: { assignment: AssignmentJson } }[] };
    expect(page.edges).toHaveLength(8);
    for (const [slot, e] of page.edges.entries()) {
      const a = e.node.assignment;
      expect(a.tags.find((t) => t.name === 'Nonce')!.value).toBe(String(slot));
      expect(a.owner.address).toBe(h.su.address);
      expect(await verifyJson(a), `assignment at slot ${slot}`).toBe(true);
    }
    const a = page.edges[3]!.node.assignment;
    const tampered = (f: (x: AssignmentJson) => void) => {
      const x = structuredClone(a);
      f(x);
      return verifyJson(x);
    };
    expect(await tampered((x) => (x.tags[3]!.value = '4'))).toBe(false); // another nonce
    expect(await tampered((x) => (x.tags[1]!.value = ids[5]!))).toBe(false); // another message
    expect(await tampered((x) => (x.anchor = 'a'.repeat(32)))).toBe(false);
    expect(await tampered((x) => (x.target = spawn.id))).toBe(false);
    expect(await tampered((x) => (x.id = ids[1]!))).toBe(false);
    expect(await tampered((x) => (x.signature = page.edges[2]!.node.assignment.signature))).toBe(false);
  }, 120_000);
});
