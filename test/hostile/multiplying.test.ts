/**
 * A handler that answers every message with two more used to grow its log without end (and
 * again after a restart): depth and fan-out limits apply to one evaluation only. A push now
 * has a budget of jobs in all, and a process a rate at which the MU pushes what it sends; past
 * either, the outbox is not pushed and the job that stopped says why.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { evalLua, log, node, spawn, tempDir } from '../units/mu/support.js';

const GROW = `
Handlers.add("grow", Handlers.utils.hasMatchingTag("Action", "Grow"), function (msg)
  Send({ Target = ao.id, Action = "Grow" })
  Send({ Target = ao.id, Action = "Grow" })
end)
return "ok"`;

let user: Wallet;
let n: RunningNode | undefined;
let dir: string;
beforeAll(async () => {
  user = await generateWallet('ed25519');
});
afterEach(async () => {
  await n?.stop();
  n = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function grow(mu: Record<string, number>) {
  dir = tempDir('aotp-grow-');
  n = await node(dir, { mu });
  const p = await spawn(n, user);
  await evalLua(n, user, p, GROW);
  const { id, jobs } = await evalLua(n, user, p, `Send({ Target = ao.id, Action = "Grow" }); return "go"`);
  return { p, id, jobs };
}

describe('a message that multiplies', () => {
  it('stops at the push budget, says so, and stays stopped across a restart', async () => {
    const { p, id, jobs } = await grow({ maxPushJobs: 40 });
    expect(jobs.length).toBeLessThanOrEqual(40);
    expect(jobs.length).toBeGreaterThan(20);
    const stopped = jobs.filter((j) => /push budget exhausted/.test(j.reason ?? ''));
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped[0]!.reason).toMatch(/the push has made \d+ of at most 40 jobs; 2 outbox item\(s\) of this message were not pushed/);
    // What a client sees of the push.
    const trace = (await (await fetch(`${n!.url}/mu/jobs/${id}`)).json()) as { push: { reason?: string }[] };
    expect(trace.push.some((j) => /push budget exhausted/.test(j.reason ?? ''))).toBe(true);
    // Nothing is left running that could push more, and nothing to resume after a restart.
    expect(n!.node.actors().filter((a) => a.name?.startsWith('mu/job/'))).toEqual([]);
    const length = (await log(n!, p)).length;
    await n!.stop();
    n = await node(dir, { mu: { maxPushJobs: 40 } });
    expect(n.mu.store.unfinished()).toEqual([]);
    expect((await log(n, p)).length).toBe(length);
  });

  it('stops at the process rate, says so', async () => {
    // A burst of 10 and a refill too slow to matter during the test.
    const { jobs } = await grow({ processRate: 0.01, processBurst: 10 });
    const limited = jobs.filter((j) => /rate limit/.test(j.reason ?? ''));
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.reason).toMatch(/^rate limit: \S+ may push 0.01 messages\/s \(bursts of 10\); 2 outbox item\(s\) not pushed$/);
    // The Eval's Send (1) and then pairs until the burst of 10 is spent: 1 + 2 + 2 + 2 + 2 = 9.
    expect(jobs.filter((j) => j.depth > 0).length).toBeLessThanOrEqual(10);
  });
});
