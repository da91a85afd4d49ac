import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateWallet, parseDataItem, verifyDataItem, type Wallet } from '../../../units/ans104/index.js';
import { outboxJobs, type OutboxSource } from '../../../units/mu/index.js';

const id = () => randomBytes(32).toString('base64url');
let mu: Wallet;
beforeAll(async () => {
  mu = await generateWallet('ed25519');
});

const src = (over: Partial<OutboxSource> = {}): OutboxSource => ({ fromProcess: id(), fromModule: id(), root: 'root', pushedFor: id(), parent: 'parent', depth: 0, ...over });
const out = (o: { Messages?: unknown[]; Spawns?: unknown[]; Assignments?: unknown[] }) => ({ Output: '', Messages: [], Spawns: [], Assignments: [], ...o });
const limits = { maxDepth: 4, maxFanOut: 3 };

describe('outbox → child jobs', () => {
  it('a message: signed by the MU, its own protocol tags replaced, From-Process, From-Module and Pushed-For added', async () => {
    const s = src();
    const target = id();
    const { jobs, notes } = await outboxJobs(
      out({ Messages: [{ Target: target, Anchor: '00000000000000000000000000000007', Data: 'hi', Tags: [{ name: 'Action', value: 'Ping' }, { name: 'From-Process', value: 'forged' }, { name: 'Type', value: 'Process' }] }] }),
      s,
      mu,
      limits,
      'su',
    );
    expect(notes).toEqual([]);
    const [j] = jobs;
    expect(j).toMatchObject({ kind: 'message', processId: target, depth: 1, parent: 'parent', root: 'root', follow: true, stage: 'schedule', rev: 0 });
    const item = parseDataItem(j!.raw!);
    expect(await verifyDataItem(item)).toBe(true);
    expect(item.id).toBe(j!.id);
    expect(item.target).toBe(target);
    expect(item.anchor).toBe('00000000000000000000000000000007');
    expect(item.tags).toEqual([
      { name: 'Action', value: 'Ping' },
      { name: 'Data-Protocol', value: 'ao' },
      { name: 'Type', value: 'Message' },
      { name: 'From-Process', value: s.fromProcess },
      { name: 'From-Module', value: s.fromModule },
      { name: 'Pushed-For', value: s.pushedFor },
    ]);
  });

  it('a spawn gets Type=Process, this SU as Scheduler when none is named, and remembers its spawner', async () => {
    const s = src();
    const { jobs } = await outboxJobs(out({ Spawns: [{ Data: 'x', Tags: [{ name: 'Module', value: 'm' }, { name: 'Variant', value: 'other' }] }] }), s, mu, limits, 'my-su');
    const tags = Object.fromEntries(parseDataItem(jobs[0]!.raw!).tags.map((t) => [t.name, t.value]));
    expect(tags).toMatchObject({ Module: 'm', Type: 'Process', Variant: 'ao.TN.1', Scheduler: 'my-su', 'From-Process': s.fromProcess });
    expect(jobs[0]).toMatchObject({ kind: 'spawn', follow: false, spawnedBy: { processId: s.fromProcess } });
    expect(jobs[0]!.processId).toBe(jobs[0]!.id);
  });

  it('assignments become one job per process; malformed entries are noted, not pushed', async () => {
    const [m, p1, p2] = [id(), id(), id()];
    const { jobs, notes } = await outboxJobs(out({ Assignments: [{ Processes: [p1, p2], Message: m }, { Processes: 'no', Message: m }], Messages: [{ Target: 'not-an-id' }] }), src(), mu, limits, 'su');
    expect(jobs.map((j) => [j.kind, j.id, j.processId, j.messageId])).toEqual([
      ['assign', `${m}@${p1}`, p1, m],
      ['assign', `${m}@${p2}`, p2, m],
    ]);
    expect(notes).toHaveLength(2);
  });

  it('past the fan-out or depth limit nothing of the outbox is pushed, and the reason says which', async () => {
    const four = out({ Messages: [1, 2, 3, 4].map(() => ({ Target: id() })) });
    const wide = await outboxJobs(four, src(), mu, limits, 'su');
    expect(wide.jobs).toEqual([]);
    expect(wide.notes[0]).toMatch(/fan-out limit 3 exceeded: the outbox has 4 items/);
    const deep = await outboxJobs(out({ Messages: [{ Target: id() }] }), src({ depth: 4 }), mu, limits, 'su');
    expect(deep.jobs).toEqual([]);
    expect(deep.notes[0]).toMatch(/depth limit 4 reached/);
    const cast = await outboxJobs(out({ Messages: [{ Target: id(), Tags: [{ name: 'Cast', value: 'True' }] }] }), src(), mu, limits, 'su');
    expect(cast.jobs[0]!.follow).toBe(false);
  });
});
