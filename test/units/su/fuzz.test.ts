/**
 * Throws random bytes, mutated valid items and validly signed items with random tags at
 * POST /. Every answer is a 200 with an assignment or a 4xx with a reason, never a 5xx; the
 * signed ones are accepted exactly when the rules say so; and afterwards the store holds the
 * accepted items and nothing else.
 */
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDataItem, generateWallet, parseDataItem, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { checkLog, messageItem, spawnItem, startSu, user, type Harness } from './helpers.js';

let h: Harness;
let app: FastifyInstance;
let pid: string;
let rsa: Wallet;
const bases: Uint8Array[] = [];

beforeAll(async () => {
  h = await startSu();
  app = Fastify();
  await app.register(h.su.routes(h.client), { prefix: '/su' });
  await app.ready();
  const s = await spawnItem(h.su.address);
  expect((await app.inject({ method: 'POST', url: '/su', payload: Buffer.from(s.raw) })).statusCode).toBe(200);
  pid = s.id;
  rsa = await generateWallet('rsa');
  for (let i = 0; i < 12; i++) bases.push((await messageItem(pid, `base ${i}`)).raw);
  for (let i = 0; i < 4; i++) bases.push((await spawnItem(h.su.address, [], `base spawn ${i}`)).raw);
  for (let i = 0; i < 4; i++) {
    bases.push((await createDataItem({ data: `rsa ${i}`, target: pid, tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }] }, rsa)).raw);
  }
}, 60_000);

afterAll(async () => {
  await app?.close();
  await h?.stop();
});

type Case =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'mutated'; base: number; op: Mutation }
  | { kind: 'signed'; spec: SignedSpec };

type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'sigType'; value: number }
  | { op: 'presence'; value: number }
  | { op: 'counts'; tagCount: number; tagBytes: number };

interface SignedSpec {
  type: string | undefined;
  protocol: string | undefined;
  module: boolean;
  scheduler: 'mine' | 'other' | 'none';
  target: 'hosted' | 'stranger' | 'none';
  extra: Tag[];
  data: string;
  rsa: boolean;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ op: fc.constant('sigType' as const), value: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ op: fc.constant('presence' as const), value: fc.integer({ min: 2, max: 255 }) }),
  fc.record({ op: fc.constant('counts' as const), tagCount: fc.nat({ max: 1 << 20 }), tagBytes: fc.nat({ max: 1 << 20 }) }),
);

const tagText = fc.string({ minLength: 1, maxLength: 24 });
/** Mostly `likely`, sometimes one of the others: enough valid items to fill the logs. */
function mostly<T>(likely: T, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(likely) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
}

const signedSpec: fc.Arbitrary<SignedSpec> = fc.record({
  type: fc.oneof(mostly<string | undefined>('Message', 'Process'), fc.constantFrom(undefined, 'Module', 'Assignment', 'message')),
  protocol: mostly<string | undefined>('ao', 'ao ', 'other', undefined),
  module: mostly(true, false),
  scheduler: mostly<SignedSpec['scheduler']>('mine', 'other', 'none'),
  target: mostly<SignedSpec['target']>('hosted', 'stranger', 'none'),
  extra: fc.array(fc.record({ name: tagText, value: tagText }), { maxLength: 4 }),
  data: fc.string({ maxLength: 64 }),
  rsa: fc.boolean().map((b) => b && Math.random() < 0.1),
});

const cases: fc.Arbitrary<Case> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ kind: 'random' as const, bytes })) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('mutated' as const), base: fc.nat({ max: 19 }), op: mutation }) },
  { weight: 3, arbitrary: signedSpec.map((spec) => ({ kind: 'signed' as const, spec })) },
);

function mutate(raw: Uint8Array, m: Mutation): Uint8Array {
  const b = Buffer.from(raw);
  switch (m.op) {
    case 'flip':
      b[m.at % b.length]! ^= m.mask;
      return b;
    case 'truncate':
      return b.subarray(0, m.at % b.length);
    case 'insert': {
      const at = m.at % (b.length + 1);
      return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    }
    case 'sigType':
      b.writeUInt16LE(m.value === b.readUInt16LE(0) ? (m.value + 1) % 65536 : m.value, 0);
      return b;
    case 'presence': {
      const sigType = b.readUInt16LE(0);
      const target = 2 + (sigType === 1 ? 512 + 512 : 64 + 32);
      b[target] = m.value;
      return b;
    }
    case 'counts': {
      const sigType = b.readUInt16LE(0);
      let p = 2 + (sigType === 1 ? 1024 : 96);
      p += b[p] === 1 ? 33 : 1; // target
      p += b[p] === 1 ? 33 : 1; // anchor
      b.writeBigUInt64LE(BigInt(m.tagCount), p);
      b.writeBigUInt64LE(BigInt(m.tagBytes), p + 8);
      return b;
    }
  }
}

const STRANGER = 'U'.repeat(43);

async function build(spec: SignedSpec): Promise<{ raw: Uint8Array; shouldAccept: boolean }> {
  const tags: Tag[] = [...spec.extra.filter((t) => !['type', 'data-protocol', 'module', 'scheduler'].includes(t.name.toLowerCase()))];
  if (spec.protocol !== undefined) tags.push({ name: 'Data-Protocol', value: spec.protocol });
  if (spec.type !== undefined) tags.push({ name: 'Type', value: spec.type });
  if (spec.module) tags.push({ name: 'Module', value: 'M'.repeat(43) });
  if (spec.scheduler !== 'none') tags.push({ name: 'Scheduler', value: spec.scheduler === 'mine' ? h.su.address : STRANGER });
  const target = spec.target === 'hosted' ? pid : spec.target === 'stranger' ? STRANGER : undefined;
  const { raw } = await createDataItem({ data: `${spec.data} ${Math.random()}`, tags, ...(target ? { target } : {}) }, spec.rsa ? rsa : await user());
  const ao = spec.protocol === 'ao';
  const shouldAccept =
    ao &&
    ((spec.type === 'Process' && spec.module && spec.scheduler === 'mine') || (spec.type === 'Message' && spec.target === 'hosted'));
  return { raw, shouldAccept };
}

const accepted = new Map<string, 'process' | 'message'>();
const rejected = new Set<string>();
const counts = { random: 0, mutated: 0, signed: 0, ok: 0, rejected: 0 };

it('1,200 random, mutated and randomly tagged items: a 200 with an assignment or a 4xx with a reason, never a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      counts[c.kind]++;
      let raw: Uint8Array;
      let oracle: boolean | undefined;
      if (c.kind === 'random') raw = c.bytes;
      else if (c.kind === 'mutated') raw = mutate(bases[c.base]!, c.op);
      else ({ raw, shouldAccept: oracle } = await build(c.spec));
      const r = await app.inject({ method: 'POST', url: '/su', payload: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' } });
      expect(r.statusCode, r.body).toBeLessThan(500);
      const body = r.json();
      let id: string | undefined;
      try {
        id = parseDataItem(raw).id;
      } catch {
        id = undefined;
      }
      if (r.statusCode === 200) {
        counts.ok++;
        expect(Object.keys(body).sort()).toEqual(['id', 'timestamp']);
        expect(typeof body.timestamp).toBe('number');
        expect(body.id).toBe(id);
        const item = parseDataItem(raw);
        const type = item.tags.find((t) => t.name === 'Type')?.value;
        accepted.set(id!, type === 'Process' ? 'process' : 'message');
      } else {
        counts.rejected++;
        expect(r.statusCode).toBeGreaterThanOrEqual(400);
        expect(typeof body.error).toBe('string');
        expect(body.error.length).toBeGreaterThan(0);
        if (id !== undefined && !accepted.has(id)) rejected.add(id);
      }
      if (oracle !== undefined) expect(r.statusCode === 200, `${JSON.stringify(c)} → ${r.body}`).toBe(oracle);
    }),
    { numRuns: 1200 },
  );
  expect(counts.random + counts.mutated + counts.signed).toBeGreaterThanOrEqual(1200);
  expect(counts.ok).toBeGreaterThan(20);
  expect(counts.rejected).toBeGreaterThan(600);

  // The store holds the accepted items and nothing else.
  const stored = new Set<string>();
  for (const { value } of h.store.db('su.slots').getRange()) if (value.item) stored.add(value.messageId);
  expect(stored).toEqual(new Set([pid, ...accepted.keys()]));
  const refs = new Set<string>();
  for (const key of h.store.db('su.refs').getKeys()) refs.add((key as string[])[0]!);
  for (const id of accepted.keys()) expect(refs.has(id)).toBe(true);
  for (const id of rejected) {
    expect(stored.has(id)).toBe(false);
    expect(h.su.log.locate(id)).toBeUndefined();
  }
  const processes = [pid, ...[...accepted].filter(([, k]) => k === 'process').map(([id]) => id)];
  const logged = new Set<string>();
  for (const p of processes) for (const m of (await checkLog(h.su, p)).messages) logged.add(m);
  expect(logged).toEqual(new Set([pid, ...accepted.keys()]));
  expect([...h.store.db('su.processes').getKeys()].sort()).toEqual(processes.sort());
}, 180_000);

it('500 random read requests (ids, process-ids, paging parameters): never a 5xx', async () => {
  const idLike = fc.oneof(fc.constant(pid), fc.string({ maxLength: 120 }), fc.base64String({ minLength: 40, maxLength: 46 }), fc.constant('Q'.repeat(43)));
  const param = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 }), fc.integer({ min: -5, max: 2e13 }).map(String));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('', '/processes', '/latest'),
      idLike,
      fc.record({ 'process-id': fc.option(idLike, { nil: undefined }), from: param, to: param, limit: param, 'from-nonce': param, 'to-nonce': param }),
      async (route, id, query) => {
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
        const path = route === '/processes' ? `/su/processes/${encodeURIComponent(id)}` : `/su/${encodeURIComponent(id)}${route}`;
        const r = await app.inject({ method: 'GET', url: `${path}?${qs}` });
        expect(r.statusCode, `${path}?${qs} → ${r.body}`).toBeLessThan(500);
        if (r.statusCode >= 400) expect(typeof r.json().error).toBe('string');
      },
    ),
    { numRuns: 500 },
  );
});
