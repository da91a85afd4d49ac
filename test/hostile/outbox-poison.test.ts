/**
 * One Eval that puts an unsignable item in its outbox (a 5,000-byte tag, 200 tags, a Spawn with
 * a 5,000-byte tag, 10 MiB of Data) used to crash its push job on every restart until the MU's
 * supervisors gave up and took the node down, and again at every start. Now the item is left
 * out with its reason, the push ends, no supervisor restarts anything, and a node started on a
 * data dir holding such a job starts and finishes it.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { MU_JOBS } from '../../units/mu/index.js';
import { dryRun, evalLua, log, node, spawn, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
let user: Wallet;
let p: string;

const SINK = `
Got = Got or 0
Handlers.add("sink", Handlers.utils.hasMatchingTag("Action", "Sink"), function (msg) Got = Got + 1 end)
return "ok"`;

beforeAll(async () => {
  dir = tempDir('aotp-poison-');
  user = await generateWallet('ed25519');
  n = await node(dir);
  p = await spawn(n, user);
  await evalLua(n, user, p, SINK);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What a client sees of a push job. */
const trace = async (id: string) => (await (await fetch(`${n.url}/mu/jobs/${id}`)).json()) as { job: { stage: string; reason?: string; children?: string[] }; push: unknown[] };

const CASES: [string, string, RegExp][] = [
  ['a 5,000-byte tag', `Send({ Target = ao.id, Action = "Sink", Big = string.rep("y", 5000) })`, /message 0 to .*: not pushed: tag \d+ \('Big'\): name 3 bytes, value 5000 bytes/],
  ['200 tags', `local m = { Target = ao.id, Action = "Sink" }; for i = 1, 200 do m["T" .. i] = "v" end; Send(m)`, /message 0 to .*: not pushed: \d+ tags; ANS-104 allows at most 128/],
  ['a Spawn with a 5,000-byte tag', `Spawn(ao.env.Module.Id, { Big = string.rep("y", 5000) })`, /spawn 0: not pushed: tag \d+ \('Big'\)/],
  ['10 MiB of Data', `Send({ Target = ao.id, Action = "Sink", Data = string.rep("z", 10 * 1024 * 1024) })`, /message 0 to .*: not pushed: the item is \d+ bytes; the limit is 10485760/],
];

describe('an outbox item that cannot be signed', () => {
  it.each(CASES)('%s: the push ends with the reason, the node and its supervisors are untouched', async (_what, lua, reason) => {
    const jobs = n.node.whereis(MU_JOBS)!;
    const before = (await log(n, p)).length;
    // A good message in the same outbox still goes out.
    const { id } = await evalLua(n, user, p, `${lua}; Send({ Target = ao.id, Action = "Sink", Data = "fine" }); return "sent"`);
    const t = await trace(id);
    expect(t.job.stage).toBe('done');
    expect(t.job.reason).toMatch(reason);
    expect(t.job.children).toHaveLength(1);
    // The Eval and the good message are in the log; the unsignable one never was.
    expect((await log(n, p)).length).toBe(before + 2);
    // The job supervisor was never restarted, and the node still answers.
    expect(n.node.whereis(MU_JOBS)).toEqual(jobs);
    expect(n.node.isAlive(jobs)).toBe(true);
    expect((await fetch(`${n.url}/health`)).status).toBe(200);
  });

  it('every good message was delivered', async () => {
    expect(await dryRun(n, p, user.address, 'return tostring(Got)')).toBe(String(CASES.length));
  });

  it('a node started on a data dir holding such a job (left in its result stage) starts and ends it', async () => {
    const { id } = await evalLua(n, user, p, `${CASES[0]![1]}; return "again"`);
    const done = n.mu.store.job(id)!;
    expect(done.stage).toBe('done');
    // As a node that crash-looped on it would have left it: still waiting to push its outbox.
    await n.mu.store.write({ ...done, stage: 'result', rev: done.rev + 1, children: [], reason: undefined as never });
    await n.stop();
    n = await node(dir);
    const [job] = await n.mu.store.settled(id);
    expect(job!.stage).toBe('done');
    expect(job!.reason).toMatch(CASES[0]![2]);
    expect((await fetch(`${n.url}/health`)).status).toBe(200);
    // And it still evaluates.
    expect(await dryRun(n, p, user.address, 'return "alive"')).toBe('alive');
  });
});
