/**
 * Dry-runs are unsigned and free, so they are bounded: a body over cu.dryRunBodyBytes is a 413
 * with the reason, and at most cu.maxDryRunsPerProcess dry-runs of one process wait at once (the
 * rest are 503s at once, not requests held in a queue that grows with the flood). The process
 * answers normally afterwards.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuRoutes } from '../../../units/cu/index.js';
import { lastLine, printed, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness;
let app: FastifyInstance;
let pid: string;

beforeAll(async () => {
  h = await startCu({ config: { maxDryRunsPerProcess: 2 } });
  app = Fastify();
  await app.register(cuRoutes(h.api, { resultWaitMs: 3000, dryRunBodyBytes: h.cu.runtime.config.dryRunBodyBytes }), { prefix: '/cu' });
  pid = await spawnAos(h, 'aos-2.0.4-wasm32');
});
afterAll(async () => {
  await app?.close();
  await h?.stop();
});

const dryRun = (lua: string, data?: string) =>
  app.inject({
    method: 'POST',
    url: `/cu/dry-run?process-id=${pid}`,
    payload: { Owner: h.user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: data ?? lua },
  });

describe('dry-run limits', () => {
  it('a body over the limit (1 MiB by default) is a 413 with the reason', async () => {
    expect(h.cu.runtime.config.dryRunBodyBytes).toBe(1024 * 1024);
    const r = await dryRun('', 'x'.repeat(1024 * 1024 + 1));
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatch(/larger than 1048576 bytes/);
  });

  it('a flood of dry-runs of one process: two wait, the rest are 503s at once; the process answers after', async () => {
    const slow = 'local x = 0; for i = 1, 3e7 do x = x + 1 end; return x';
    const answers = await Promise.all(Array.from({ length: 8 }, () => dryRun(slow)));
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(2);
    expect(codes.filter((c) => c === 503).length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    for (const r of answers) if (r.statusCode === 503) expect(r.json().error).toMatch(/already waiting; try again/);
    const after = await dryRun('return 6 * 7');
    expect(after.statusCode).toBe(200);
    expect(lastLine(printed(after.json()))).toBe('42');
  });
});
