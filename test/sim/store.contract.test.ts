/**
 * The simulated disk against LMDB: one script of writes, transactions and range reads runs on
 * both, and what each observes must be the same (so the simulation's disk cannot drift from the
 * real one); then what only a simulation can do: crash a node between a batch's callbacks and
 * its commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimDisk, SimStore } from '../../runtime/sim/disk.js';
import { SimScheduler } from '../../runtime/sim/scheduler.js';
import { Store as Lmdb, type Store } from '../../runtime/store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** What a store shows a script; every line is compared between the two stores. */
async function script(store: Store): Promise<string[]> {
  const out: string[] = [];
  const log = (what: string, v: unknown) => out.push(`${what}: ${JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `bytes(${Buffer.from(x).toString('hex')}) ${x.constructor.name}` : x === undefined ? '<undefined>' : x))}`);
  const a = store.db('a');
  let ran = false;
  const t1 = store.transact(() => {
    ran = true;
    void a.put('k', 1);
    return a.get('k');
  });
  log('callback ran synchronously', ran);
  void a.put('k2', 2);
  log('put visible before commit', a.get('k2'));
  log('transaction result', await t1);
  log('put visible after commit', a.get('k2'));

  const first = store.transact(() => {
    void a.put('x', 'A');
    return 'first';
  });
  const second = store.transact(() => a.get('x'));
  log('second callback of a turn sees the first', [await first, await second]);

  const throwing = store.transact(() => {
    void a.put('y', 'Y');
    throw new Error('boom');
  });
  log('a throwing callback rejects', await throwing.then(() => 'resolved', (e: Error) => e.message));
  log('its writes before the throw', a.get('y'));

  const r = store.db('r');
  await store.transact(() => {
    for (const s of ['p', 'q']) for (let i = 0; i < 5; i++) void r.put([s, i], `${s}${i}`);
    void r.put(['p', -1], 'neg');
    void r.put(['p', 2.5], 'half');
    void r.put(['p', 'str'], 'string');
    void r.put(['p'], 'bare');
    void r.put(['p', 'é😀'], 'astral');
    void r.put(['p', 'ｚ'], 'fullwidth');
  });
  const ranges = [
    { start: ['p', 1], end: ['p', 3] },
    { start: ['p', 3], end: ['p', 1], reverse: true },
    { start: ['p', 2.7], end: ['p', 0], reverse: true },
    { start: ['p', Number.MAX_SAFE_INTEGER], end: ['p', -1], reverse: true, limit: 2 },
    { start: ['p'], end: ['p', '\uffff'] },
    { start: ['p'], limit: 20 },
    {},
    { reverse: true, limit: 3 },
    { start: ['q', 9], reverse: true },
    { limit: 0 },
  ];
  for (const q of ranges) log(`range ${JSON.stringify(q)}`, [...r.getRange(q)].map((e) => e.value));
  log('keys', [...r.getKeys({ start: ['q', 3], end: ['q', -1], reverse: true })]);
  // Inside a transaction, ranges see its writes merged with what is committed.
  log(
    'range inside a transaction',
    await store.transact(() => {
      void r.put(['q', 1.5], 'new');
      void r.remove(['q', 2]);
      return [[...r.getRange({ start: ['q'], end: ['q', '\uffff'] })].map((e) => e.value), [...r.getKeys({ start: ['q', 9], end: ['q', 0], reverse: true })]];
    }),
  );
  log('remove of a missing key', await r.remove(['zz']));
  log('remove of a present key', await r.remove(['q', 4]));
  log('remove inside a transaction', await store.transact(() => [r.remove(['q', 3]) !== undefined, r.get(['q', 3])]));

  const v = store.db('v');
  const value = { raw: new Uint8Array([1, 2, 3]), n: 1, u: undefined, nested: { list: [1, 'a', null] } };
  const put = v.put('b', value);
  value.n = 99;
  await put;
  const got = v.get('b');
  log('value read back', got);
  log('bytes come back as Buffer', Buffer.isBuffer(got.raw));
  log('a later change of the object is not stored', got.n);
  got.n = 5;
  log('a change of what was read is not stored', v.get('b').n);
  const bin = store.db('bin', { encoding: 'binary' });
  await bin.put('z', Buffer.from([9, 9]));
  log('binary table', bin.get('z'));
  void a.put('late', 1);
  await store.committed();
  log('committed() waits for writes issued before it', a.get('late'));
  return out;
}

describe('the simulated disk keeps LMDB semantics', () => {
  it('the same script observes the same on LMDB and on the simulated disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aotp-store-'));
    dirs.push(dir);
    const lmdb = Lmdb.open(join(dir, 'lmdb'));
    const real = await script(lmdb);
    await lmdb.close();

    const sched = new SimScheduler();
    const sim = new SimStore(new SimDisk(), { sched, owner: 'n1', latency: () => 3 });
    let done = false;
    const p = script(sim).finally(() => (done = true));
    await sched.run({ stop: () => done });
    const simulated = await p;

    expect(simulated).toEqual(real);
    // The script is not vacuous: these are what LMDB does.
    expect(real).toContain('callback ran synchronously: false');
    expect(real).toContain('put visible before commit: "<undefined>"');
    expect(real).toContain('its writes before the throw: "Y"');
    expect(real.find((l) => l.startsWith('range {"start":["p",3]'))).toBe('range {"start":["p",3],"end":["p",1],"reverse":true}: ["p3","half","p2"]');
  });

  it('a crash keeps exactly what was committed', async () => {
    const sched = new SimScheduler();
    const disk = new SimDisk();
    const s1 = new SimStore(disk, { sched, owner: 'n1#1', latency: () => 10 });
    const t = s1.db('t');
    const committed = t.put('a', 1);
    let settled = false;
    const run = sched.run({ stop: () => settled });
    await committed;
    settled = true;
    await run;
    // A batch whose callbacks ran, crashed before its commit (which takes 10 ms).
    let ran = false;
    const lost = s1.transact(() => {
      ran = true;
      void t.put('b', 2);
    });
    let lostSettled = false;
    lost.then(() => (lostSettled = true), () => (lostSettled = true));
    await sched.run({ until: sched.now() + 5 });
    expect(ran).toBe(true);
    s1.crash();
    sched.cancelOwner('n1#1');
    await sched.run();
    expect(lostSettled).toBe(false);
    expect(disk.commits).toBe(1);
    const s2 = new SimStore(disk, { sched, owner: 'n1#2', latency: () => 10 });
    expect(s2.db('t').get('a')).toBe(1);
    expect(s2.db('t').get('b')).toBeUndefined();
    // The crashed incarnation writes nothing more.
    void s1.db('t').put('c', 3);
    await sched.run();
    expect(s2.db('t').get('c')).toBeUndefined();
  });
});
