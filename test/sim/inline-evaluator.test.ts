/**
 * The inline evaluator (a simulation's) runs the same instance operations as the evaluator
 * thread (production's): the same aos messages give the same results and the same memory,
 * byte for byte, on both. And it puts the caller's Date.now and Math.random back after the
 * module ran, whatever the emscripten glue installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDataItem, generateWallet, parseDataItem, type Tag } from '../../units/ans104/index.js';
import { Evaluator, InlineEvaluator, prepareBinary, processEnv, type AoMessage, type EvalOutput } from '../../units/cu/index.js';
import { shapeMessage } from '../../units/cu/message.js';
import { bundledDir } from '../../units/cu/modules.js';
import type { EvalValue } from '../../units/cu/worker/protocol.js';

const user = await generateWallet('ed25519');
const tags = (type: string, extra: Tag[] = []): Tag[] => [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: type }, ...extra];
const spawn = await createDataItem({ data: '', tags: tags('Process', [{ name: 'Module', value: 'm'.repeat(43) }, { name: 'Authority', value: user.address }]) }, user);
const processId = spawn.id;
const env = processEnv(processId, parseDataItem(spawn.raw), { id: 'm'.repeat(43), owner: user.address, tags: [] });
const shaped = (raw: Uint8Array, i: number): AoMessage =>
  shapeMessage(parseDataItem(raw), { processId, message: parseDataItem(raw).id, epoch: 0, nonce: i, timestamp: 1_700_000_000_000 + i, blockHeight: 0, hashChain: 'h'.repeat(43) });
const send = async (i: number, action: string, data: string) =>
  shaped((await createDataItem({ data, target: processId, tags: tags('Message', [{ name: 'Action', value: action }]) }, user)).raw, i);

const msgs = [
  shaped(spawn.raw, 0),
  await send(1, 'Eval', 'Counter = 0; Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Inc"), function(m) Counter = Counter + 1; print(Counter); ao.send({ Target = m.From, Data = tostring(Counter) }) end)'),
  await send(2, 'Inc', ''),
  await send(3, 'Inc', ''),
  await send(4, 'Eval', 'local t = {} for i = 1, 50 do t["k" .. i] = i end local s = "" for k, v in pairs(t) do s = s .. k end return s'),
  await send(5, 'Eval', 'error("boom")'),
];

const format = 'wasm32-unknown-emscripten4';
const module = new WebAssembly.Module(prepareBinary(readFileSync(join(bundledDir()!, 'aos2_0_4_32.wasm')), format, 2 ** 30) as Uint8Array<ArrayBuffer>);

async function evaluate(e: Evaluator | InlineEvaluator): Promise<{ results: EvalOutput[]; memoryHash: string }> {
  await e.call('instantiate', { module, format, computeLimit: 9e12, env });
  const values: EvalValue[] = [];
  // One at a time: a message whose memory is discarded ends a batch.
  for (const msg of msgs) await e.call('evalBatch', { msgs: [msg] }, { onItem: (vs) => values.push(...vs) });
  const { memoryHash } = await e.call('hash', {});
  return { results: values.map((v) => ('result' in v ? v.result : ({ trap: v.trap } as never))), memoryHash };
}

const threads: Evaluator[] = [];
afterAll(async () => {
  for (const t of threads) await t.terminate();
});

describe('the inline evaluator', () => {
  it('computes what the evaluator thread computes: the same results and the same memory', async () => {
    const thread = new Evaluator();
    threads.push(thread);
    await thread.ready;
    const real = await evaluate(thread);
    const inline = await evaluate(new InlineEvaluator(() => 0));
    expect(inline.results).toEqual(real.results);
    expect(inline.memoryHash).toBe(real.memoryHash);
    // Not vacuous: the messages did things (an outbox, an error, a table walked in hash order).
    expect(real.results[3]!.Messages).toHaveLength(1);
    expect(JSON.stringify(real.results[4]!.Output)).toContain("k50");
    expect(real.results[5]!.Error).toBeDefined();
  });

  it("puts the caller's Date.now and Math.random back after the module ran", async () => {
    const dateNow = Date.now;
    const random = Math.random;
    const e = new InlineEvaluator(() => 0);
    await e.call('instantiate', { module, format, computeLimit: 9e12, env });
    expect(Date.now).toBe(dateNow);
    expect(Math.random).toBe(random);
    await e.call('evalBatch', { msgs: msgs.slice(0, 2) }, { onItem: () => undefined });
    expect(Date.now).toBe(dateNow);
    expect(Math.random).toBe(random);
  });
});
