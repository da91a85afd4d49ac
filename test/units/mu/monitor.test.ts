/** aoconnect's monitor / unmonitor: a monitored process's cron results are pushed. */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../../cli/start.js';
import { generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { isTerminal, monitorName, type JobRecord } from '../../../units/mu/index.js';
import { evalLua, messageItem, node, spawn, tempDir } from './support.js';

let n: RunningNode;
let dir: string;
let user: Wallet;
beforeAll(async () => {
  dir = tempDir('aotp-mu-cron-');
  user = await generateWallet('ed25519');
  n = await node(dir, { mu: { cronPollMs: 50 }, cu: { cronSafetyMs: 100 } });
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const monitorItem = (processId: string) => messageItem(processId, user, [{ name: 'Action', value: 'Monitor' }]);

/** Resolves with the first ended job that `match` accepts. */
const nextJob = (match: (j: JobRecord) => boolean) =>
  new Promise<JobRecord>((resolve) => {
    const off = n.mu.store.onJob((j) => {
      if (isTerminal(j) && match(j)) {
        off();
        resolve(j);
      }
    });
  });

describe('cron monitors', () => {
  it('POST /monitor/:id pushes the outboxes of cron ticks; DELETE stops it; bad requests get reasons', async () => {
    const ticker = await spawn(n, user, [
      { name: 'Cron-Interval', value: '1-second' },
      { name: 'Cron-Tag-Action', value: 'Tick' },
    ]);
    const sink = await spawn(n, user);
    await evalLua(n, user, sink, `Got = 0; Handlers.add("tock", Handlers.utils.hasMatchingTag("Action", "Tock"), function (msg) Got = Got + 1 end); return 1`);
    await evalLua(n, user, ticker, `Handlers.add("tick", Handlers.utils.hasMatchingTag("Action", "Tick"), function (msg) Send({ Target = "${sink}", Action = "Tock" }) end); return 1`);

    const tock = nextJob((j) => j.processId === sink && j.root.startsWith(`cron/${ticker}/`));
    const r = await fetch(`${n.url}/mu/monitor/${ticker}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from((await monitorItem(ticker)).raw) });
    expect(r.status).toBe(200);
    const job = await tock;
    expect(job.stage).toBe('done');
    expect(job.depth).toBe(1);
    expect(n.node.whereis(monitorName(ticker))).toBeDefined();
    expect(n.mu.store.monitor(ticker)!.cursor).not.toBe('');

    // The monitor survives a node restart: it is started again from its record, and goes on
    // from its cursor.
    await n.stop();
    n = await node(dir, { mu: { cronPollMs: 50 }, cu: { cronSafetyMs: 100 } });
    const after = nextJob((j) => j.processId === sink && j.root.startsWith(`cron/${ticker}/`) && j.root !== job.root);
    expect((await after).stage).toBe('done');
    expect(n.node.whereis(monitorName(ticker))).toBeDefined();

    const del = await fetch(`${n.url}/mu/monitor/${ticker}`, { method: 'DELETE', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from((await monitorItem(ticker)).raw) });
    expect(del.status).toBe(200);
    expect(n.mu.store.monitor(ticker)).toBeUndefined();
    expect(n.node.whereis(monitorName(ticker))).toBeUndefined();

    const again = await fetch(`${n.url}/mu/monitor/${ticker}`, { method: 'DELETE', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from((await monitorItem(ticker)).raw) });
    expect(again.status).toBe(404);
    const unsigned = await fetch(`${n.url}/mu/monitor/${ticker}`, { method: 'POST', body: 'nope' });
    expect(unsigned.status).toBe(400);
  });
});
