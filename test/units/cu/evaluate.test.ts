import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES, evalLua, lastLine, plain, printed, resultOf, run, send, spawnAos, startCu, type CuHarness } from './support/harness.js';

describe.each(MODULES)('evaluating a real aos process (%s)', (moduleName) => {
  let h: CuHarness;
  let pid: string;
  beforeAll(async () => {
    h = await startCu();
    pid = await spawnAos(h, moduleName);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('evaluates the spawn (slot 0) as the first message, and answers its result by process id', async () => {
    const out = await resultOf(h, pid, pid);
    expect(out.Error).toBeUndefined();
    expect(plain(JSON.stringify(out.Output))).toContain('aos');
    const status = await h.api.status(pid);
    expect(status.slot).toBe(0);
    expect(status.resident).toBe(true);
  });

  it('evaluates Lua sent with Action=Eval, in slot order, keeping state between messages', async () => {
    expect(await run(h, pid, 'counter = 41; return counter')).toBe('41');
    expect(await run(h, pid, 'counter = counter + 1; return counter')).toBe('42');
    expect(await run(h, pid, 'return ao.id')).toBe(pid);
    expect(await run(h, pid, 'return Owner')).toBe(h.user.address);
  });

  it('gives Lua the message fields the reference CU gives (From, Owner, Nonce, Timestamp, Block-Height, tags)', async () => {
    await run(h, pid, `Handlers.add("probe", Handlers.utils.hasMatchingTag("Action", "Probe"), function (m)
      m.reply({ Data = require("json").encode({ From = m.From, Owner = m.Owner, Nonce = m.Nonce, Timestamp = m.Timestamp,
        BlockHeight = m["Block-Height"], Id = m.Id, Target = m.Target, Color = m.Tags.Color, Cron = m.Cron, Epoch = m.Epoch,
        HashChain = m["Hash-Chain"], Spoof = m.Tags.Owner }) })
    end)`);
    const m = await send(h, pid, { action: 'Probe', tags: [{ name: 'Color', value: 'blue' }, { name: 'Owner', value: 'spoofed' }] });
    const out = await resultOf(h, pid, m.id);
    expect(out.Error).toBeUndefined();
    const reply = out.Messages[0] as { Target: string; Data: string; Tags: { name: string; value: string }[] };
    expect(reply.Target).toBe(h.user.address);
    const seen = JSON.parse(reply.Data);
    const entry = h.su.reader.find(m.id, pid)!;
    expect(seen).toMatchObject({
      From: h.user.address,
      Owner: h.user.address,
      Nonce: m.slot,
      Timestamp: entry.timestamp,
      BlockHeight: entry.blockHeight,
      Id: m.id,
      Target: pid,
      Color: 'blue',
      Cron: false,
      Epoch: 0,
      HashChain: entry.hashChain,
    });
    // A tag named Owner does not reach the process (it would spoof the field).
    expect(seen.Spoof).toBeUndefined();
    expect(reply.Tags).toEqual(expect.arrayContaining([{ name: 'Reference', value: expect.any(String) }]));
  });

  it('runs handlers added by Eval, and their outbox is the result (Messages, Spawns, Assignments)', async () => {
    await run(h, pid, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (m)
      pings = (pings or 0) + 1
      m.reply({ Data = "pong " .. pings })
      Spawn(ao.env.Module.Id, { Data = "child", Tags = { Purpose = "test" } })
      Assign({ Processes = { "${'P'.repeat(43)}" }, Message = m.Id })
    end)`);
    const first = await resultOf(h, pid, (await send(h, pid, { action: 'Ping' })).id);
    const second = await resultOf(h, pid, (await send(h, pid, { action: 'Ping' })).id);
    expect(first.Error).toBeUndefined();
    expect((first.Messages[0] as { Data: string }).Data).toBe('pong 1');
    expect((second.Messages[0] as { Data: string }).Data).toBe('pong 2');
    expect(second.Spawns).toHaveLength(1);
    expect((second.Spawns[0] as { Tags: { name: string; value: string }[] }).Tags).toEqual(
      expect.arrayContaining([{ name: 'Purpose', value: 'test' }, { name: 'Type', value: 'Process' }]),
    );
    expect(second.Assignments).toEqual([{ Processes: ['P'.repeat(43)], Message: expect.any(String) }]);
    expect(second.GasUsed).toBe(0);
  });

  it('an Eval that fails gives an Error result, and its changes to the state are discarded', async () => {
    const bad = await evalLua(h, pid, 'counter = 1000; error("boom")');
    const out = await resultOf(h, pid, bad.id);
    expect(String(out.Error)).toContain('boom');
    // As the reference CU: the memory from before the failing message is kept.
    expect(await run(h, pid, 'return counter')).toBe('42');
    const status = await h.api.status(pid);
    expect(status.stats.rollbacks).toBeGreaterThanOrEqual(1);
  });

  it('does not trust a message signed by a wallet that is not an Authority', async () => {
    const { generateWallet } = await import('../../../units/ans104/index.js');
    const stranger = await generateWallet('ed25519');
    const m = await send(h, pid, { action: 'Eval', data: 'counter = -1', signer: stranger });
    const out = await resultOf(h, pid, m.id);
    expect(out.Error).toBeUndefined();
    expect(await run(h, pid, 'return counter')).toBe('42');
  });

  it('dry-runs a message against the latest state without keeping anything', async () => {
    const before = await h.api.status(pid);
    const out = await h.api.dryRun(pid, { Tags: [{ name: 'Action', value: 'Eval' }], Data: 'counter = counter + 100; return counter', Owner: h.user.address });
    expect(lastLine(printed(out))).toBe('142');
    // The Ping handler assigns the message by its Id: a dry-run message may claim one.
    const ping = await h.api.dryRun(pid, { Id: 'D'.repeat(43), Tags: [{ name: 'Action', value: 'Ping' }], Owner: h.user.address });
    expect(ping.Error).toBeUndefined();
    expect((ping.Messages[0] as { Data: string }).Data).toMatch(/^pong \d+$/);
    // Nothing was assigned, nothing kept.
    expect(await run(h, pid, 'return counter')).toBe('42');
    const after = await h.api.status(pid);
    expect(after.slot).toBe(before.slot + 1);
    expect(h.su.reader.latest(pid)!.slot).toBe(after.slot);
  });

  it('a dry-run that allocates a lot and fails leaves the memory byte for byte as it was', async () => {
    const before = await h.api.hash(pid);
    const out = await h.api.dryRun(pid, { Tags: [{ name: 'Action', value: 'Eval' }], Data: 'big = string.rep("x", 64 * 1024 * 1024); error("nope")', Owner: h.user.address });
    expect(String(out.Error)).toContain('nope');
    const after = await h.api.hash(pid);
    expect(after).toEqual(before);
  });

  it('pages results as the reference CU does (cursor, from exclusive, to inclusive, sort, limit)', async () => {
    const all = await h.api.results(pid, { limit: 1000 });
    const slots = h.su.reader.latest(pid)!.slot + 1;
    expect(all.edges).toHaveLength(slots);
    expect(all.pageInfo.hasNextPage).toBe(false);
    const page1 = await h.api.results(pid, { limit: 3 });
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect(page1.edges.map((e) => e.node)).toEqual(all.edges.slice(0, 3).map((e) => e.node));
    const page2 = await h.api.results(pid, { limit: 3, from: page1.edges[2]!.cursor });
    expect(page2.edges.map((e) => e.node)).toEqual(all.edges.slice(3, 6).map((e) => e.node));
    const desc = await h.api.results(pid, { limit: 2, sort: 'DESC' });
    expect(desc.edges.map((e) => e.node)).toEqual(all.edges.slice(-2).reverse().map((e) => e.node));
    const upTo = await h.api.results(pid, { to: page1.edges[1]!.cursor, limit: 100 });
    expect(upTo.edges).toHaveLength(2);
  });
});
