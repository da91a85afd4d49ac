/**
 * Random aos handlers, generated from a small grammar of what a hostile program can do to the
 * node through its outbox (sends with tags or data past the item limits, many tags, wide
 * fan-out, sends to itself that multiply, spawns, self-assignments, bad targets, errors, loops
 * that never end), each
 * installed in a fresh process and set off by one message through the MU. After each: the push
 * has ended, every job that stopped or left something out says why, the process's log and
 * results are still served, no unit supervisor was restarted, and the node answers.
 *
 * A failing case prints fast-check's seed and path; `FC_SEED=<seed> npx vitest run <this file>`
 * replays it.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { CU_PROCESSES } from '../../units/cu/index.js';
import { SEQUENCERS } from '../../supervisors/su.js';
import { generateWallet, parseDataItem, tagValue, type Wallet } from '../../units/ans104/index.js';
import { isTerminal, MU_JOBS, outboxCount, type JobRecord } from '../../units/mu/index.js';
import { evalLua, messageItem, node, post, spawn, tempDir } from '../units/mu/support.js';

const MAX_PUSH_JOBS = 40;

/** One statement of a handler's body. */
const statement = fc.oneof(
  fc.constantFrom(1, 3072, 3073, 5000).map((n) => `Send({ Target = ao.id, Action = "Echo", Big = string.rep("y", ${n}) })`),
  fc.constantFrom(10, 120, 200).map((k) => `do local m = { Target = ao.id, Action = "Echo" }; for i = 1, ${k} do m["T" .. i] = "v" end; Send(m) end`),
  fc.constantFrom(0, 100_000, 10 * 1024 * 1024 + 1).map((n) => `Send({ Target = ao.id, Action = "Echo", Data = string.rep("z", ${n}) })`),
  fc.constantFrom(10, 5000).map((n) => `Spawn(ao.env.Module.Id, { Note = string.rep("s", ${n}) })`),
  fc.constantFrom(5, 300).map((k) => `for i = 1, ${k} do Send({ Target = ao.id, Action = "Echo" }) end`),
  fc.constant(`Send({ Target = ao.id, Action = "Go" })`),
  fc.constant(`Send({ Target = "not-a-process", Action = "Echo" })`),
  fc.constant(`Send({ Target = string.rep("A", 43), Action = "Echo" })`),
  fc.constant(`Assign({ Processes = { ao.id }, Message = msg.Id })`),
  fc.constant(`error("boom")`),
  fc.constant(`while true do end`),
);

const program = fc.array(statement, { minLength: 1, maxLength: 4 }).map(
  (body) => `
Handlers.add("go", Handlers.utils.hasMatchingTag("Action", "Go"), function (msg)
  ${body.join('\n  ')}
end)
Handlers.add("echo", Handlers.utils.hasMatchingTag("Action", "Echo"), function (msg) end)
return "installed"`,
);

let n: RunningNode;
let dir: string;
let user: Wallet;
let supervisors: Record<string, string>;

const pidsOf = (names: string[]) => Object.fromEntries(names.map((name) => [name, String(n.node.whereis(name))]));
const WATCHED = ['root', SEQUENCERS, CU_PROCESSES, MU_JOBS];

beforeAll(async () => {
  dir = tempDir('aotp-lua-');
  user = await generateWallet('ed25519');
  // A handler that never returns is stopped at the compute time limit (kept short here).
  n = await node(dir, { mu: { maxPushJobs: MAX_PUSH_JOBS }, cu: { maxResident: 4, evalTimeoutMs: 1000 } });
  supervisors = pidsOf(WATCHED);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What a job's evaluation asked to push, when it was followed. */
async function asked(job: JobRecord): Promise<number> {
  if (!job.follow || job.stage !== 'done' || job.kind === 'spawn') return 0;
  const r = await n.cu.api(n.node).result(job.processId, job.messageId, 0);
  return 'result' in r ? outboxCount(r.result) : 0;
}

describe('hostile Lua programs', () => {
  it('never take the node down, never break a log, and every failure is recorded', async () => {
    await fc.assert(
      fc.asyncProperty(program, async (code) => {
        const p = await spawn(n, user);
        await evalLua(n, user, p, code);
        const go = await messageItem(p, user, [{ name: 'Action', value: 'Go' }]);
        expect((await post(`${n.url}/mu/`, go.raw)).status).toBe(202);
        const jobs = await n.mu.store.settled(go.id, 120_000);

        expect(jobs.length).toBeLessThanOrEqual(MAX_PUSH_JOBS);
        for (const j of jobs) {
          expect(isTerminal(j)).toBe(true);
          if (j.stage !== 'done') expect(j.reason, `${j.id} ${j.stage}`).toBeTruthy();
          // Whatever an evaluation asked for and did not get pushed is accounted for.
          if ((j.children?.length ?? 0) < (await asked(j))) expect(j.reason, `${j.id} left outbox items out`).toBeTruthy();
        }

        const page = await fetch(`${n.url}/su/${p}`);
        expect(page.status).toBe(200);
        for (const e of await n.su.reader.read(p, 0)) expect(tagValue(parseDataItem(e.assignment).tags, 'Process')).toBe(p);
        expect((await fetch(`${n.url}/cu/results/${p}?limit=5`)).status).toBe(200);

        expect(pidsOf(WATCHED)).toEqual(supervisors);
        expect((await fetch(`${n.url}/health`)).status).toBe(200);
      }),
      { numRuns: 40, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
  }, 900_000);
});
