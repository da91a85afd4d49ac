/**
 * Evaluator threads handed from one process to the next (worker/client.ts): real threads, the
 * real aos module.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../runtime/clock.js';
import { bundledDir } from '../../../units/cu/modules.js';
import { prepareBinary } from '../../../units/cu/wasm.js';
import { EvaluatorPool, EvaluatorTimeout, type EvaluatorHandle, type AoEnv, type AoMessage } from '../../../units/cu/index.js';
import { lastLine, printed } from './support/harness.js';

const FORMAT = 'wasm32-unknown-emscripten4';
const OWNER = 'o'.repeat(43);
let compiled: Promise<WebAssembly.Module> | undefined;
const aos = () => (compiled ??= WebAssembly.compile(prepareBinary(readFileSync(join(bundledDir()!, 'aos2_0_4_32.wasm')), FORMAT, 2 ** 30) as Uint8Array<ArrayBuffer>));

const env = (id: string): AoEnv =>
  ({ Process: { Id: id, Owner: OWNER, Tags: [{ name: 'Authority', value: OWNER }] }, Module: { Id: 'm'.repeat(43), Owner: OWNER, Tags: [] } }) as unknown as AoEnv;
const message = (id: string, n: number, fields: { Tags: { name: string; value: string }[]; Data?: string }): AoMessage =>
  ({ Id: n === 0 ? id : `${n}`.padStart(43, 'n'), Target: id, Owner: OWNER, From: OWNER, 'Block-Height': '1', Timestamp: '1', Module: 'm'.repeat(43), Data: '', Nonce: n, ...fields }) as unknown as AoMessage;

/** A fresh instance of process `id` in `ev`, with its spawn message evaluated. */
async function spawn(ev: EvaluatorHandle, id: string): Promise<void> {
  await ev.call('instantiate', { module: await aos(), format: FORMAT, computeLimit: 9e12, env: env(id) });
  const v = await ev.call('eval', { msg: message(id, 0, { Tags: [{ name: 'Type', value: 'Process' }] }) });
  if ('trap' in v || v.result.Error) throw new Error(`spawn failed: ${JSON.stringify(v)}`);
}

async function lua(ev: EvaluatorHandle, id: string, n: number, code: string, timeoutMs?: number): Promise<string> {
  const v = await ev.call('eval', { msg: message(id, n, { Tags: [{ name: 'Action', value: 'Eval' }], Data: code }) }, timeoutMs ? { timeoutMs } : {});
  if ('trap' in v) throw new Error(v.trap);
  return lastLine(printed(v.result));
}

let pool: EvaluatorPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('evaluator threads handed from process to process', () => {
  it('the next process gets the same thread, with no instance, and nothing of the previous process in it: its memory is what a new thread makes', async () => {
    pool = new EvaluatorPool(0, { keep: 2 });
    const a = await pool.acquire();
    await spawn(a, 'A'.repeat(43));
    expect(await lua(a, 'A'.repeat(43), 1, 'Secret = "only-A"; return Secret')).toBe('only-A');
    await pool.release(a);

    const b = await pool.acquire();
    expect(b).toBe(a);
    // The previous instance is gone before the next process asks for anything.
    await expect(b.call('hash', {})).rejects.toMatchObject({ code: 'no-instance' });
    await spawn(b, 'B'.repeat(43));
    const reused = await b.call('hash', {});
    expect(await lua(b, 'B'.repeat(43), 1, 'return tostring(Secret)')).toBe('nil');

    // The same process in a thread that never ran another one: byte for byte the same memory.
    const other = new EvaluatorPool(0);
    try {
      const c = await other.acquire();
      expect(c).not.toBe(a);
      await spawn(c, 'B'.repeat(43));
      expect(await c.call('hash', {})).toEqual(reused);
    } finally {
      await other.close();
    }
  });

  it('a thread stopped at its time limit (a Lua endless loop, the limit on the pool\'s clock) is not handed on', async () => {
    const clock = new SimulatedClock();
    pool = new EvaluatorPool(0, { keep: 2, clock });
    const a = await pool.acquire();
    await spawn(a, 'A'.repeat(43));
    const looping = lua(a, 'A'.repeat(43), 1, 'while true do end', 500);
    looping.catch(() => undefined); // it rejects while the clock moves, before the expectation below looks at it
    await clock.advance(499);
    expect(a.alive).toBe(true);
    await clock.advance(1);
    expect(a.alive).toBe(false);
    await expect(looping).rejects.toBeInstanceOf(EvaluatorTimeout);
    await pool.release(a);
    expect(pool.spares).toBe(0);
    const b = await pool.acquire();
    expect(b).not.toBe(a);
    await spawn(b, 'B'.repeat(43));
    expect(await lua(b, 'B'.repeat(43), 1, 'return 1 + 1')).toBe('2');
  });

  it('a thread with a request still running is not handed on, nor one past its uses', async () => {
    pool = new EvaluatorPool(0, { keep: 4, maxUses: 2 });
    const a = await pool.acquire();
    await spawn(a, 'A'.repeat(43));
    const running = lua(a, 'A'.repeat(43), 1, 'local x = 0; for i = 1, 3e7 do x = x + i end; return x').catch((e: unknown) => e);
    await pool.release(a);
    expect(await running).toBeInstanceOf(Error); // the thread was stopped under it
    expect(a.alive).toBe(false);
    expect(pool.spares).toBe(0);

    const b = await pool.acquire();
    await pool.release(b);
    expect(await pool.acquire()).toBe(b); // its second process
    await pool.release(b);
    expect(b.alive).toBe(false);
    expect(pool.spares).toBe(0);
  });

  it('a thread handed back twice is kept once: it never goes to two processes', async () => {
    pool = new EvaluatorPool(0, { keep: 4 });
    const a = await pool.acquire();
    await pool.release(a);
    await pool.release(a);
    expect(pool.spares).toBe(1);
    expect(await pool.acquire()).toBe(a);
    expect(await pool.acquire()).not.toBe(a);
  });

  it('a thread goes back only to a process of the module it ran last', async () => {
    pool = new EvaluatorPool(0, { keep: 4 });
    const a = await pool.acquire('module-x');
    await pool.release(a);
    const b = await pool.acquire('module-y');
    expect(b).not.toBe(a);
    expect(await pool.acquire('module-x')).toBe(a);
  });
});
