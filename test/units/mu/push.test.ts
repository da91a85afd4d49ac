import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../../cli/start.js';
import { generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { dryRun, evalLua, log, messageItem, node, post, spawn, tempDir } from './support.js';

let n: RunningNode;
let dir: string;
let user: Wallet;
let a: string;
let b: string;

const PONG = `
Pongs = Pongs or {}
Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg)
  table.insert(Pongs, msg.From .. "|" .. (msg.Data or ""))
  if Loop then Send({ Target = msg.From, Action = "Ping", Data = "again" }) end
end)
Handlers.add("spawned", Handlers.utils.hasMatchingTag("Action", "Spawned"), function (msg)
  Children = Children or {}
  table.insert(Children, msg.Process)
end)
return "ok"`;

const PING = `
Pings = Pings or 0
Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg)
  Pings = Pings + 1
  Send({ Target = msg.From, Action = "Pong", Data = "pong:" .. (msg.Data or "") })
end)
return "ok"`;

beforeAll(async () => {
  dir = tempDir('aotp-mu-');
  user = await generateWallet('ed25519');
  n = await node(dir, { mu: { maxDepth: 6 } });
  a = await spawn(n, user);
  b = await spawn(n, user);
  await evalLua(n, user, a, PONG);
  await evalLua(n, user, b, PING);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the MU pushes outboxes until there is nothing left to push', () => {
  it('a message to A makes A ping B, and B pong A: three jobs, each process gets its message once', async () => {
    const { id, jobs } = await evalLua(n, user, a, `Send({ Target = "${b}", Action = "Ping", Data = "1" }); return "sent"`);
    expect(jobs.map((j) => [j.depth, j.processId, j.stage])).toEqual(
      expect.arrayContaining([
        [0, a, 'done'],
        [1, b, 'done'],
        [2, a, 'done'],
      ]),
    );
    expect(jobs).toHaveLength(3);
    expect(jobs.every((j) => j.root === id)).toBe(true);
    expect(await dryRun(n, a, user.address, 'return Pongs[#Pongs]')).toBe(`${b}|pong:1`);
    expect(await dryRun(n, b, user.address, 'return Pings')).toBe('1');
  });

  it('signs pushed messages with the MU wallet and tags them as the reference MU does', async () => {
    const { id } = await evalLua(n, user, a, `Send({ Target = "${b}", Action = "Ping", Data = "tags" }); return "sent"`);
    const entries = await log(n, b);
    const ping = entries.find((e) => e.tags['Pushed-For'] === id)!;
    expect(ping).toBeDefined();
    expect(ping.owner).toBe(n.mu.address);
    expect(ping.tags).toMatchObject({
      'Data-Protocol': 'ao',
      Type: 'Message',
      Action: 'Ping',
      'From-Process': a,
      'From-Module': n.cu.modules.bundled()['aos-2.0.4-wasm32'],
      'Pushed-For': id,
    });
    const pong = (await log(n, a)).find((e) => e.tags['Pushed-For'] === id && e.tags.Action === 'Pong')!;
    expect(pong.tags['From-Process']).toBe(b);
  });

  it('pushes a cast but does not follow its result', async () => {
    const before = await dryRun(n, a, user.address, 'return #Pongs');
    const { jobs } = await evalLua(n, user, a, `Send({ Target = "${b}", Action = "Ping", Cast = "true", Data = "cast" }); return "sent"`);
    const cast = jobs.find((j) => j.depth === 1)!;
    expect(cast.follow).toBe(false);
    expect(cast.stage).toBe('done');
    expect(cast.slot).toBeGreaterThan(0);
    expect(jobs).toHaveLength(2);
    // B evaluated it (the CU computes the log), but its Pong was not pushed.
    expect(await dryRun(n, a, user.address, 'return #Pongs')).toBe(before);
  });

  it('spawns the processes an outbox asks for, and tells the spawner with Action=Spawned', async () => {
    const module = n.cu.modules.bundled()['aos-2.0.4-wasm32'];
    const { jobs } = await evalLua(n, user, a, `Spawn("${module}", { Data = "", Authority = "${n.mu.address}", Name = "child" }); return "spawning"`);
    const spawned = jobs.find((j) => j.kind === 'spawn')!;
    expect(spawned.stage).toBe('done');
    expect(spawned.slot).toBe(0);
    expect(n.su.reader.hosts(spawned.processId)).toBe(true);
    const told = jobs.find((j) => j.parent === spawned.id)!;
    expect(told).toMatchObject({ processId: a, stage: 'done' });
    expect(await dryRun(n, a, user.address, 'return Children[#Children]')).toBe(spawned.processId);
    // The child runs, and trusts what the MU pushes to it.
    await evalLua(n, user, a, `Send({ Target = "${spawned.processId}", Action = "Eval", Data = "Hello = 'from child'" }); return 1`);
    const info = n.su.reader.processSync(spawned.processId)!;
    expect(info.lastSlot).toBeGreaterThan(0);
  });

  it('stops a push at the depth limit and says so on the job where it stopped', async () => {
    // With Loop set, A answers every Pong with another Ping: an endless conversation.
    const { jobs } = await evalLua(n, user, a, `Loop = true; Send({ Target = "${b}", Action = "Ping", Data = "loop" }); return 1`);
    expect(Math.max(...jobs.map((j) => j.depth))).toBe(6);
    const last = jobs.find((j) => j.depth === 6)!;
    expect(last.reason).toMatch(/depth limit 6 reached/);
    expect(jobs.every((j) => j.stage === 'done')).toBe(true);
    await evalLua(n, user, a, `Loop = false; return 1`);
  });
});

describe('POST /mu/ refuses bad input with a reason and keeps nothing', () => {
  it('garbage, an unsigned or unknown-process message, a wrong Type', async () => {
    const garbage = await post(`${n.url}/mu/`, new Uint8Array([1, 2, 3, 4]));
    expect(garbage.status).toBe(400);
    expect((await garbage.json()).error).toMatch(/ANS-104/);

    const empty = await post(`${n.url}/mu/`, new Uint8Array());
    expect(empty.status).toBe(400);

    const unknown = await messageItem(randomBytes(32).toString('base64url'), user, [{ name: 'Action', value: 'Eval' }], '1');
    const r = await post(`${n.url}/mu/`, unknown.raw);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/Process not found/);
    expect(n.mu.store.job(unknown.id)).toBeUndefined();

    const tampered = await messageItem(a, user, [{ name: 'Action', value: 'Eval' }], 'return 1');
    const bytes = Buffer.from(tampered.raw);
    bytes[bytes.length - 1] ^= 1;
    const t = await post(`${n.url}/mu/`, bytes);
    expect(t.status).toBe(400);
    expect((await t.json()).error).toMatch(/signature/i);

    const assignHalf = await fetch(`${n.url}/mu/?process-id=${a}`, { method: 'POST' });
    expect(assignHalf.status).toBe(400);
  });

  it('the same item twice is one job and one slot', async () => {
    const item = await messageItem(b, user, [{ name: 'Action', value: 'Ping' }], 'twice');
    const [r1, r2] = await Promise.all([post(`${n.url}/mu/`, item.raw), post(`${n.url}/mu/`, item.raw)]);
    expect([r1.status, r2.status]).toEqual([202, 202]);
    expect((await r1.json()).id).toBe(item.id);
    await n.mu.store.settled(item.id);
    expect((await log(n, b)).filter((e) => e.id === item.id)).toHaveLength(1);
  });
});

describe('assignments and the node map', () => {
  it('POST /mu/?process-id=&assign= assigns an existing message and pushes what its evaluation sends', async () => {
    // A message that went to A, assigned to B as well: B answers its sender (a wallet).
    const item = await messageItem(a, user, [{ name: 'Action', value: 'Ping' }], 'assigned');
    expect((await post(`${n.url}/mu/`, item.raw)).status).toBe(202);
    await n.mu.store.settled(item.id);
    const r = await fetch(`${n.url}/mu/?process-id=${b}&assign=${item.id}`, { method: 'POST' });
    expect(r.status).toBe(202);
    const body = await r.json();
    expect(body.message).toBe('Processing Assignment');
    const jobs = await n.mu.store.settled(`${item.id}@${b}`);
    const assigned = jobs.find((j) => j.kind === 'assign')!;
    expect(body.id).toBe(assigned.assignmentId);
    expect((await log(n, b)).some((e) => e.id === item.id)).toBe(true);
    // The Pong goes to the user's wallet, which no SU here hosts: recorded, not pushed.
    const pong = jobs.find((j) => j.parent === assigned.id)!;
    expect(pong).toMatchObject({ processId: user.address, stage: 'skipped' });
    expect(pong.reason).toMatch(/not a process/);
  });

  it('GET / tells a client the units\' URLs, wallet addresses and bundled modules', async () => {
    const info = await (await fetch(`${n.url}/`)).json();
    const base = n.url;
    expect(info).toMatchObject({
      mu: `${base}/mu`,
      cu: `${base}/cu`,
      su: `${base}/su`,
      graphql: `${base}/graphql`,
      addresses: { mu: n.mu.address, su: n.su.address, cu: n.cu.address },
    });
    expect(info.modules['aos-2.0.4-wasm32']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(info.modules['aos-2.0.6-wasm64']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
