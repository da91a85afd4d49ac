/**
 * CU attestations: a signed ANS-104 item per result, served at GET /cu/attestation/:messageId,
 * naming the process, message, slot, module, the result's hash and the memory hash after it;
 * checked with arbundles, against the result the CU serves, against the memory hash the process
 * had at that slot, and against a second CU that recomputes the same log.
 */
import { createHash } from 'node:crypto';
import { DataItem } from '@dha-team/arbundles';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tagValue, parseDataItem } from '../../../units/ans104/index.js';
import { cuRoutes, readAttestation, resultHash, type EvalOutput } from '../../../units/cu/index.js';
import { MODULES, evalLua, resultOf, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness;
let app: FastifyInstance;
let pid: string;
beforeAll(async () => {
  h = await startCu();
  app = Fastify();
  await app.register(cuRoutes(h.api, { resultWaitMs: 5000 }), { prefix: '/cu' });
  pid = await spawnAos(h, MODULES[0]);
}, 60_000);
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

const attestation = async (messageId: string, processId = pid) => app.inject({ method: 'GET', url: `/cu/attestation/${messageId}?process-id=${processId}` });

/** The canonical encoding, written out again here: sorted keys at every depth, Error null when absent. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}
const hashOf = (r: EvalOutput) =>
  createHash('sha256')
    .update(canonical({ Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments, Output: r.Output, Error: r.Error ?? null }))
    .digest('base64url');

describe('CU attestations', () => {
  const sent: { id: string; slot: number; memoryHash: string }[] = [];

  beforeAll(async () => {
    for (const lua of ['x = 1; return x', 'Send({ Target = "T", Data = "hi" }); x = x + 1; return x', 'x = x * 10; return x']) {
      const m = await evalLua(h, pid, lua);
      await resultOf(h, pid, m.id);
      // The memory hash while the process is at this slot: what the attestation must name later.
      const now = await h.api.hash(pid);
      expect(now.slot).toBe(m.slot);
      sent.push({ ...m, memoryHash: now.memoryHash });
    }
  }, 60_000);

  it('is a signed item of the CU naming process, message, slot, module, result hash and memory hash', async () => {
    const m = sent[2]!;
    const r = await attestation(m.id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const raw = r.rawPayload;
    expect(await DataItem.verify(raw)).toBe(true);
    const item = new DataItem(raw);
    expect(createHash('sha256').update(Buffer.from(item.owner, 'base64url')).digest('base64url')).toBe(h.cu.address);
    const a = await readAttestation(raw);
    expect(a.cu).toBe(h.cu.address);
    const result = (await app.inject({ method: 'GET', url: `/cu/result/${m.id}?process-id=${pid}` })).json() as EvalOutput;
    expect(a).toMatchObject({ processId: pid, messageId: m.id, slot: m.slot, moduleId: h.cu.bundled[MODULES[0]], memoryHash: m.memoryHash });
    expect(a.resultHash).toBe(hashOf(result));
    expect(a.resultHash).toBe(resultHash(result));
    expect(tagValue(parseDataItem(raw).tags, 'Type')).toBe('Attestation');
    // The result itself keeps the reference shape.
    expect(Object.keys(result).sort()).toEqual(['Assignments', 'GasUsed', 'Messages', 'Output', 'Spawns']);
  });

  it('of an earlier message names the memory at its slot (restored), and is kept: asked again, the same bytes', async () => {
    for (const m of sent.slice(0, 2)) {
      const r = await attestation(m.id);
      expect(r.statusCode, r.body).toBe(200);
      const a = await readAttestation(r.rawPayload);
      expect(a.slot).toBe(m.slot);
      expect(a.memoryHash, `memory after slot ${m.slot}`).toBe(m.memoryHash);
      expect((await attestation(m.id)).rawPayload.equals(r.rawPayload)).toBe(true);
    }
    expect(new Set(sent.map((m) => m.memoryHash)).size).toBe(3);
    // The process goes on from there: a new message still evaluates on the right state.
    const next = await evalLua(h, pid, 'return x + 1');
    const out = await resultOf(h, pid, next.id);
    expect(JSON.stringify(out.Output)).toContain('21');
  });

  it('a second CU recomputing the same log attests the same result and memory hashes', async () => {
    const b = await startCu({ name: 'cu-b', reader: h.su.reader });
    try {
      for (const m of sent) {
        const r = await b.api.attestation(pid, m.id, 30_000);
        if (!('attestation' in r)) throw new Error(JSON.stringify(r));
        const theirs = await readAttestation(r.attestation);
        const ours = await readAttestation((await attestation(m.id)).rawPayload);
        expect({ r: theirs.resultHash, m: theirs.memoryHash, s: theirs.slot }).toEqual({ r: ours.resultHash, m: ours.memoryHash, s: ours.slot });
      }
    } finally {
      await b.stop();
    }
  }, 120_000);

  it('unknown messages are 404, bad ids 400', async () => {
    expect((await attestation('q'.repeat(43))).statusCode).toBe(404);
    expect((await attestation(sent[0]!.id, 'not-a-process')).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/cu/attestation/${sent[0]!.id}` })).statusCode).toBe(400);
  });
});
