import { afterAll, describe, expect, it } from 'vitest';
import { generateWallet } from '../../../units/ans104/index.js';
import { CU_MANAGER } from '../../../units/cu/index.js';
import { MODULES, evalLua, resultOf, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

const running: CuHarness[] = [];
afterAll(async () => {
  for (const h of running.reverse()) await h.stop();
});

/** A workload over 200 messages: handlers added by Eval, messages they handle, failures, strangers. */
async function workload(h: CuHarness, pid: string, rounds: number): Promise<string[]> {
  const stranger = await generateWallet('ed25519');
  const ids: string[] = [];
  const push = async (p: Promise<{ id: string }>) => ids.push((await p).id);
  await push(
    evalLua(
      h,
      pid,
      `Balances = Balances or { ["${h.user.address}"] = 1000000 }
       Handlers.add("transfer", Handlers.utils.hasMatchingTag("Action", "Transfer"), function (m)
         local qty = tonumber(m.Tags.Quantity)
         if not qty or (Balances[m.From] or 0) < qty then error("insufficient balance") end
         Balances[m.From] = Balances[m.From] - qty
         Balances[m.Tags.Recipient] = (Balances[m.Tags.Recipient] or 0) + qty
         m.reply({ Action = "Debit-Notice", Quantity = tostring(qty) })
         Send({ Target = m.Tags.Recipient, Action = "Credit-Notice", Quantity = tostring(qty) })
       end)`,
    ),
  );
  for (let i = 0; i < rounds; i++) {
    await push(send(h, pid, { action: 'Transfer', tags: [{ name: 'Recipient', value: `R${i % 7}`.padEnd(43, 'x') }, { name: 'Quantity', value: String(1 + (i % 13)) }] }));
    if (i % 10 === 3) await push(evalLua(h, pid, `log = log or {}; table.insert(log, "${i}:" .. #log); return #log`));
    if (i % 25 === 7) await push(evalLua(h, pid, `Handlers.add("h${i}", Handlers.utils.hasMatchingTag("Action", "H${i}"), function (m) hits = (hits or 0) + ${i} end)`));
    if (i % 25 === 9) await push(send(h, pid, { action: `H${i - 2}` }));
    if (i % 30 === 11) await push(evalLua(h, pid, `junk = string.rep("j", 4096); error("fails on purpose ${i}")`));
    if (i % 40 === 17) await push(send(h, pid, { action: 'Transfer', tags: [{ name: 'Recipient', value: 'S'.repeat(43) }, { name: 'Quantity', value: '99999999999' }] }));
    if (i % 45 === 20) await push(send(h, pid, { action: 'Eval', data: 'Balances = {}', signer: stranger }));
  }
  return ids;
}

describe.each(MODULES)('determinism (%s)', (moduleName) => {
  it('a second CU replaying the log from slot 0 reaches byte-identical memory and identical results after 200+ messages', async () => {
    // CU A checkpoints often, is evicted mid-way, rolls back failing messages and serves dry-runs
    // while it evaluates: none of that may show in its memory.
    const a = await startCu({ name: 'cu-a', config: { checkpointEvery: 40, stepMessages: 16 } });
    running.push(a);
    const pid = await spawnAos(a, moduleName);
    const ids = await workload(a, pid, 100);
    await resultOf(a, pid, ids[60]!);
    const dry = await a.api.dryRun(pid, { Tags: [{ name: 'Action', value: 'Transfer' }, { name: 'Recipient', value: 'D'.repeat(43) }, { name: 'Quantity', value: '5' }], Owner: a.user.address });
    expect(dry.Error).toBeUndefined();
    await a.node.call(CU_MANAGER, { op: 'evict', processId: pid });
    ids.push(...(await workload(a, pid, 60)));
    await resultOf(a, pid, ids[ids.length - 1]!);
    const hashA = await a.api.hash(pid);
    const statusA = await a.api.status(pid);
    expect(hashA.slot).toBeGreaterThanOrEqual(200);
    expect(statusA.stats.rollbacks).toBeGreaterThan(0);

    // CU B: its own store, the same scheduler log, from slot 0 in one go.
    const b = await startCu({ name: 'cu-b', reader: a.su.reader });
    running.push(b);
    // (committed: the results are read below from the store's committed range)
    expect(await b.api.evaluate(pid, undefined, undefined, true)).toBe(hashA.slot);
    const hashB = await b.api.hash(pid);
    expect(hashB).toEqual(hashA);
    const statusB = await b.api.status(pid);
    // Every slot evaluated once (rolling back a failed message replays, it does not evaluate again).
    expect(statusB.stats.evaluated).toBe(hashA.slot + 1);

    // Same results, message by message (outputs include the Lua errors and the untrusted ones).
    await a.api.evaluate(pid, undefined, undefined, true);
    const outA = a.cu.runtime.store.resultRange(pid, { from: -1, to: hashA.slot, limit: 10_000 });
    const outB = b.cu.runtime.store.resultRange(pid, { from: -1, to: hashA.slot, limit: 10_000 });
    expect(outB).toEqual(outA);
    expect(outA.filter((r) => r.discarded).length).toBeGreaterThanOrEqual(6);

    // And the raw memory itself, byte for byte.
    const [memA, memB] = [await a.api.state(pid), await b.api.state(pid)];
    expect(memA.length).toBe(hashA.size);
    expect(Buffer.compare(Buffer.from(memA), Buffer.from(memB))).toBe(0);
  });
});
