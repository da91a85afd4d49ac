import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CuError } from '../../../units/cu/index.js';
import { MODULES, evalLua, resultOf, run, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

let h: CuHarness;
beforeAll(async () => {
  h = await startCu({ config: { evalTimeoutMs: 3000 } });
});
afterAll(async () => {
  await h?.stop();
});

describe.each(MODULES)('Memory-Limit (%s)', (moduleName) => {
  it('a message that needs more memory than the limit gets an error result; the process and node go on', async () => {
    const pid = await spawnAos(h, moduleName, [{ name: 'Memory-Limit', value: '128-mb' }]);
    expect(await run(h, pid, 'keep = "kept"; return keep')).toBe('kept');
    const big = await evalLua(h, pid, 'keep = "lost"; big = string.rep("x", 64 * 1024 * 1024); return #big');
    const out = await resultOf(h, pid, big.id);
    expect(String(out.Error)).toMatch(/not enough memory/);
    // The memory stayed within the limit, and the state from before the message is kept.
    const { size } = await h.api.hash(pid);
    expect(size).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(await run(h, pid, 'return keep')).toBe('kept');
    expect(await run(h, pid, 'small = string.rep("y", 1024 * 1024); return #small')).toBe(String(2 ** 20));
  });

  it('a limit below what the module needs to start, or one that is not a size, is a clear error for that process only', async () => {
    const tooSmall = await spawnAos(h, moduleName, [{ name: 'Memory-Limit', value: '16-mb' }]);
    await expect(h.api.evaluate(tooSmall)).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/starts with 1088/) });
    const notASize = await spawnAos(h, moduleName, [{ name: 'Memory-Limit', value: 'a-lot' }]);
    await expect(h.api.evaluate(notASize)).rejects.toThrow(CuError);
    const tooLarge = await spawnAos(h, moduleName, [{ name: 'Memory-Limit', value: '64-gb' }]);
    await expect(h.api.evaluate(tooLarge)).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/exceeds/) });
    // Others are not affected.
    const fine = await spawnAos(h, moduleName);
    expect(await run(h, fine, 'return 1 + 1')).toBe('2');
  });
});

describe('Compute-Limit', () => {
  it('with a metering module format, gas over the limit is an error result for that message (deterministic); the process goes on', async () => {
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32-metering', [{ name: 'Compute-Limit', value: '20000000000' }]);
    expect(await run(h, pid, 'x = 1; for i = 1, 1e4 do x = x + 1 end; return x')).toBe('10001');
    const heavy = await evalLua(h, pid, 'x = 0; for i = 1, 1e6 do x = x + 1 end; return x');
    const out = await resultOf(h, pid, heavy.id);
    expect(String(out.Error)).toMatch(/out of gas/);
    expect(await run(h, pid, 'return x')).toBe('10001');
    const ok = await resultOf(h, pid, (await evalLua(h, pid, 'return x + 1')).id);
    expect(ok.GasUsed).toBeGreaterThan(0);
    expect(ok.GasUsed).toBeLessThan(20_000_000_000);
  });

  it.each(MODULES)('without metering (%s), a message that runs past the time limit is stopped with an error result; the process goes on', async (moduleName) => {
    const pid = await spawnAos(h, moduleName);
    expect(await run(h, pid, 'state = "before"; return state')).toBe('before');
    const loop = await evalLua(h, pid, 'state = "during"; while true do end');
    const t0 = Date.now();
    const out = await resultOf(h, pid, loop.id);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(String(out.Error)).toMatch(/Compute limit: evaluation exceeded 3000 ms/);
    expect(await run(h, pid, 'return state')).toBe('before');
    // A dry-run that never ends is stopped too, and leaves the state alone.
    const dry = await h.api.dryRun(pid, { Tags: [{ name: 'Action', value: 'Eval' }], Data: 'while true do end', Owner: h.user.address });
    expect(String(dry.Error)).toMatch(/dry-run exceeded/);
    const next = await send(h, pid, { action: 'Eval', data: 'state = state .. " and after"; return state' });
    expect((await resultOf(h, pid, next.id)).Error).toBeUndefined();
    expect(await run(h, pid, 'return state')).toBe('before and after');
  });
});
