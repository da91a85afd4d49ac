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
const limits = { maxDepth: 4, maxFanOut: 3, maxPushJobs: 10 };

describe('outbox → child jobs', () => {
  it('a message: signed by the MU, its own protocol tags replaced, From-Process, From-Module, Pushed-For and From-Message added', async () => {
    const s = src({ fromMessage: id() });
    const target = id();
    const { jobs, notes } = await outboxJobs(
      out({ Messages: [{ Target: target, Anchor: '00000000000000000000000000000007', Data: 'hi', Tags: [{ name: 'Action', value: 'Ping' }, { name: 'From-Process', value: 'forged' }, { name: 'From-Message', value: 'forged' }, { name: 'Type', value: 'Process' }] }] }),
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
      { name: 'From-Message', value: s.fromMessage },
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

  it('past the push budget nothing of the outbox is pushed', async () => {
    const two = out({ Messages: [{ Target: id() }, { Target: id() }] });
    expect((await outboxJobs(two, src({ pushed: 8 }), mu, limits, 'su')).jobs).toHaveLength(2);
    const over = await outboxJobs(two, src({ pushed: 9 }), mu, limits, 'su');
    expect(over.jobs).toEqual([]);
    expect(over.notes[0]).toMatch(/push budget exhausted: the push has made 9 of at most 10 jobs; 2 outbox item\(s\)/);
  });

  it('an item past the item limits is left out with its reason; the rest is pushed; nothing throws', async () => {
    const target = id();
    const manyTags = Array.from({ length: 200 }, (_, i) => ({ name: `T${i}`, value: 'v' }));
    const r = await outboxJobs(
      out({
        Messages: [
          { Target: target, Tags: [{ name: 'Big', value: 'y'.repeat(5000) }] },
          { Target: target, Tags: manyTags },
          { Target: target, Data: 'z'.repeat(10 * 1024 * 1024) },
          { Target: target, Data: 'fine' },
        ],
        Spawns: [{ Tags: [{ name: 'Module', value: 'm' }, { name: 'Huge', value: 'x'.repeat(5000) }] }],
      }),
      src(),
      mu,
      { ...limits, maxFanOut: 10 },
      'su',
    );
    expect(r.jobs.map((j) => parseDataItem(j.raw!).data.toString())).toEqual(['fine']);
    expect(r.notes).toHaveLength(4);
    expect(r.notes[0]).toMatch(new RegExp(`^message 0 to ${target}: not pushed: tag 0 \\('Big'\\): name 3 bytes, value 5000 bytes`));
    expect(r.notes[1]).toMatch(/^message 1 .*: not pushed: \d+ tags; ANS-104 allows at most 128/);
    expect(r.notes[2]).toMatch(/^message 2 .*: not pushed: the item is \d+ bytes; the limit is 10485760/);
    expect(r.notes[3]).toMatch(/^spawn 0: not pushed: tag 1 \('Huge'\)/);
  });
});
