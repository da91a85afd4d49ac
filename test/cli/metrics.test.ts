/**
 * /metrics after real traffic (the quickstart: two aos processes, one asking the other, through
 * aoconnect): messages accepted, assigned, evaluated and pushed, evaluation and commit time,
 * restarts by supervisor after a kill, mailboxes, members, lag, push jobs — every name aotp_.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { until } from '../cluster/support.js';
import { node, tempDir } from '../units/mu/support.js';

let n: RunningNode;
const dir = tempDir('aotp-metrics-');
beforeAll(async () => {
  n = await node(dir);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The samples of the exposition text: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('/metrics', () => {
  it('counts what the units did, by unit, with aotp_ names only', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['examples/quickstart.mjs'], { env: { ...process.env, AOTP_URL: `${n.url}/` }, timeout: 90_000 });
    expect(stdout).toMatch(/^B: pong/m);
    // The push from A to B settles after the client has its result.
    await until(async () => ((await scrape()).get('aotp_messages_total{unit="mu",event="pushed"}') ?? 0) >= 1, 30_000, 200);
    const m = await scrape();
    for (const name of m.keys()) expect(name).toMatch(/^aotp_/);
    // Two spawns and A's message from the client; A's message to B (and B's answer) pushed.
    expect(m.get('aotp_messages_total{unit="mu",event="accepted"}')).toBeGreaterThanOrEqual(3);
    expect(m.get('aotp_messages_total{unit="mu",event="pushed"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('aotp_messages_total{unit="su",event="assigned"}')).toBeGreaterThanOrEqual(4);
    expect(m.get('aotp_messages_total{unit="cu",event="evaluated"}')).toBeGreaterThanOrEqual(4);
    expect(m.get('aotp_cu_evaluation_seconds_count')).toBeGreaterThanOrEqual(4);
    // Idle, resident processes evaluate their messages while the SU commits them (cu.speculate).
    expect(m.get('aotp_cu_ahead_total{outcome="evaluated"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('aotp_cu_ahead_total{outcome="abandoned"}')).toBe(0);
    expect(m.get('aotp_su_commit_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(m.get('aotp_members{state="up"}')).toBe(1);
    expect(m.get('aotp_leases_held')).toBe(0); // no cluster, no leases
    expect(m.has('aotp_mailbox_depth{stat="max"}')).toBe(true);
    expect(m.get('aotp_cu_lag_slots{stat="max"}')).toBe(0); // both processes evaluated to their last slot
    expect(m.has('aotp_push_jobs{stage="schedule"}')).toBe(true);
    expect(m.has('aotp_nodejs_eventloop_lag_seconds')).toBe(true);

    // A killed sequencer is restarted by its supervisor, and counted there.
    const seq = n.node.actors().find((a) => a.name?.startsWith('su/'))!;
    expect(seq).toBeDefined();
    n.node.kill(seq.pid);
    await until(async () => ((await scrape()).get('aotp_actor_restarts_total{supervisor="su.sequencers"}') ?? 0) === 1, 10_000, 100);
  }, 120_000);
});
