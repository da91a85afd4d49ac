/** Supervisors supervising supervisors: escalation, a whole tree, defaults for supervisor children. */
import { expect, it } from 'vitest';
import { restartChild, startChild, supervisorSpec, terminateChild, type ChildSpec, type Pid } from '../../../runtime/index.js';
import { CRASHING_SUPERVISOR, SUPERVISOR } from '../children.js';
import { counts, okPid, same, shape, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

export function treeCases(s: Suite): void {
  it('sup_start_ignore_init in a tree: a child supervisor that answers ignore is kept by its parent as a stopped spec', async () => {
    const h = await s.setup();
    const ignoring = (id: string, restart?: 'temporary'): ChildSpec => ({
      id,
      start: { behaviour: SUPERVISOR, args: 'ignore', options: { node: h.childNode.name } },
      type: 'supervisor',
      ...(restart ? { restart } : {}),
    });
    const top = await h.sup({ intensity: 2, period: 3600, children: [ignoring('sub1'), h.child('w')] });
    expect(shape(await h.which(top))).toEqual([
      ['w', 'pid'],
      ['sub1', undefined],
    ]);
    expect(await h.count(top)).toEqual(counts(2, 1, 1, 1));
    // Started again by hand, it ignores again: still a stopped spec, not an error.
    expect(await restartChild(h.inbox, top, 'sub1')).toEqual({ ok: undefined });
    // Added later: kept as well; a temporary one is forgotten.
    expect(await startChild(h.inbox, top, ignoring('sub2'))).toEqual({ ok: undefined });
    expect(await startChild(h.inbox, top, ignoring('sub3', 'temporary'))).toEqual({ ok: undefined });
    expect(shape(await h.which(top))).toEqual([
      ['sub2', undefined],
      ['w', 'pid'],
      ['sub1', undefined],
    ]);
    await h.sync(top);
    await h.noExit();
  });

  it('a child supervisor whose init crashes fails its parent with the reason it threw, across nodes', async () => {
    const h = await s.setup();
    const reason = { crashed: 'in init', depth: [1, 2] };
    const crashing: ChildSpec = {
      id: 'bad',
      start: { behaviour: CRASHING_SUPERVISOR, args: { throw: reason }, options: { node: h.childNode.name } },
      type: 'supervisor',
    };
    const r = await h.startSup({ children: [h.child('w1', { trap: true }), crashing] });
    expect(r).toEqual({ error: { shutdown: { failed_to_start_child: { id: 'bad', reason } } } });
    expect(await h.event('terminate', 'w1')).toMatchObject({ reason: 'shutdown' });
    // Added to a running supervisor: the reason with the spec.
    const top = await h.sup({ children: [] });
    expect(await startChild(h.inbox, top, crashing)).toEqual({
      error: { reason, childSpec: { ...crashing, restart: 'permanent', shutdown: 'infinity', significant: false } },
    });
    // An Error keeps its kind and message.
    const r2 = await startChild(h.inbox, top, { ...crashing, start: { ...crashing.start, args: { throw: new TypeError('bad init') } } } as ChildSpec);
    const e = (r2 as { error: { reason: Error } }).error.reason;
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('bad init');
    await h.sync(top);
    await h.noExit();
  });

  it('escalation: a child supervisor that gives up exits shutdown and its parent restarts it', async () => {
    const h = await s.setup();
    const top = await h.sup({
      intensity: 3,
      period: 3600,
      children: [h.childSup('inner', { intensity: 1, period: 3600, children: [h.child('w')] })],
    });
    const inner1 = await h.pidOf(top, 'inner');
    const innerRef = h.watch(inner1);
    expect(await h.crashed(await h.started('w'), 'died')).toBe('died');
    expect(await h.crashed(await h.started('w'), 'died')).toBe('died'); // second restart within the period: inner gives up
    expect(await h.down(innerRef)).toBe('shutdown');
    const w3 = await h.started('w');
    const inner2 = await h.pidOf(top, 'inner');
    expect(same(inner2, inner1)).toBe(false);
    expect(same(await h.pidOf(inner2, 'w'), w3)).toBe(true);
    expect(await h.count(top)).toEqual(counts(1, 1, 1, 0));
    await h.noExit(top);
  });

  it('tree: one_for_all over three supervisors; a subtree that gives up restarts all of them, without dynamic children', async () => {
    const h = await s.setup();
    await h.plan('child3', ['ok'], { error: 'cannot_restart' });
    const sup1 = h.childSup('supchild1', { intensity: 4, period: 3600, children: [h.child('child1'), h.child('child2')] });
    const sup2 = h.childSup('supchild2', { intensity: 4, period: 3600, children: [] });
    const sup3 = h.childSup('supchild3', { intensity: 4, period: 3600, children: [] }, { restart: 'transient' });

    const top = await h.sup({ strategy: 'one_for_all', intensity: 4, period: 3600, children: [] });
    const s1 = okPid(await startChild(h.inbox, top, sup1));
    const s2 = okPid(await startChild(h.inbox, top, sup2));
    okPid(await startChild(h.inbox, top, sup3));
    expect(await terminateChild(h.inbox, top, 'supchild3')).toEqual({ ok: true });
    expect(await h.count(top)).toEqual(counts(3, 2, 3, 0));

    const [w2, w1] = (await h.which(s1)).map((c) => c.child as Pid);
    expect(await h.count(s1)).toEqual(counts(2, 2, 0, 2));
    expect(await h.count(s2)).toEqual(counts(0, 0, 0, 0));

    const c3 = okPid(await startChild(h.inbox, s2, h.child('child3', { init: 'script' })));
    const c4 = okPid(await startChild(h.inbox, s2, h.child('child4')));
    expect(await h.count(s1)).toEqual(counts(2, 2, 0, 2));
    expect(await h.count(s2)).toEqual(counts(2, 2, 0, 2));

    // Only the child that died is restarted.
    expect(await h.crashed(c4, 'died')).toBe('died');
    const which1 = await h.which(s1);
    expect(same(which1[0]!.child, w2) && same(which1[1]!.child, w1)).toBe(true);
    const which2 = await h.which(s2);
    expect(shape(which2)).toEqual([
      ['child4', 'pid'],
      ['child3', 'pid'],
    ]);
    expect(same(which2[0]!.child, c4)).toBe(false);
    expect(same(which2[1]!.child, c3)).toBe(true);

    // child3 cannot restart: supchild2 gives up, and the top restarts all three subtrees.
    const ref2 = h.watch(s2);
    expect(await h.crashed(c3, 'died')).toBe('died');
    expect(await h.down(ref2)).toBe('shutdown');
    const top2 = await h.which(top);
    expect(shape(top2)).toEqual([
      ['supchild3', 'pid'],
      ['supchild2', 'pid'],
      ['supchild1', 'pid'],
    ]);
    expect(await h.count(top)).toEqual(counts(3, 3, 3, 0));
    const [n3, n2, n1] = top2.map((c) => c.child as Pid);
    expect(same(n1, s1) || same(n2, s2)).toBe(false);
    expect((await h.which(n1!)).map((c) => c.id)).toEqual(['child2', 'child1']);
    expect(await h.count(n1!)).toEqual(counts(2, 2, 0, 2));
    expect(await h.which(n2!)).toEqual([]);
    expect(await h.count(n2!)).toEqual(counts(0, 0, 0, 0));
    expect(await h.which(n3!)).toEqual([]);
  });

  it('a supervisor child defaults to shutdown infinity: its parent waits for its whole subtree', async () => {
    const h = await s.setup({ simulated: true });
    const inner = h.childSup('inner', {
      children: [h.child('w', { shutdown: 'infinity', trap: true, terminate: { delay: 10_000 } })],
    });
    const top = await h.sup({ children: [inner] });
    expect(shape(await h.which(top))).toEqual([['inner', 'pid']]);
    expect((await h.which(top))[0]).toMatchObject({ type: 'supervisor' });
    expect(await h.count(top)).toEqual(counts(1, 1, 1, 0));
    const innerRef = h.watch(await h.pidOf(top, 'inner'));
    const terminated = terminateChild(h.inbox, top, 'inner');
    expect(await h.terminated('w')).toBe('shutdown');
    await h.advance(6000); // past a worker's 5000 ms default
    await h.sync();
    await h.noDown(innerRef);
    await h.advance(4000);
    expect(await h.down(innerRef)).toBe('shutdown');
    expect(await terminated).toEqual({ ok: true });
  });

  it('a child supervisor given by supervisorSpec (a local behaviour) starts, and is restarted', async () => {
    const h = await s.setup();
    const top = await h.sup({
      children: [{ id: 'inner', start: supervisorSpec({ children: [h.child('w')] }), type: 'supervisor' }],
    });
    await h.started('w');
    const inner = await h.pidOf(top, 'inner');
    const ref = h.watch(inner);
    h.kill(inner);
    expect(await h.down(ref)).toBe('killed');
    await h.started('w');
    expect(same(await h.pidOf(top, 'inner'), inner)).toBe(false);

    // And a supervisor whose init is a function (OTP's init/1).
    const r = await h.inbox.spawnLink(supervisorSpec(() => ({ children: [h.child('x')] })));
    okPid(r);
    await h.started('x');
  });

  it('count_children: simple_one_for_one counts many dynamic workers', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child', { restart: 'temporary' })] });
    for (let i = 0; i < 50; i++) okPid(await startChild(h.inbox, sup, {}));
    const which = await h.which(sup);
    expect(which).toHaveLength(50);
    expect(await h.count(sup)).toEqual(counts(1, 50, 0, 50));
    for (let i = 0; i < 50; i++) okPid(await startChild(h.inbox, sup, {}));
    expect(await h.which(sup)).toHaveLength(100);
    expect(await h.count(sup)).toEqual(counts(1, 100, 0, 100));
    const refs = new Map((await h.which(sup)).map((c, i) => [h.watch(c.child as Pid), `c${i}`]));
    for (const c of await h.which(sup)) h.kill(c.child as Pid);
    await h.downs(refs);
    expect(await h.count(sup)).toEqual(counts(1, 0, 0, 0));
  });

  it('count_children_supervisor: simple_one_for_one counts supervisor-type children as supervisors', async () => {
    const h = await s.setup();
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 2,
      period: 3600,
      children: [h.child('child', { restart: 'temporary', shutdown: 'infinity', type: 'supervisor' })],
    });
    for (let i = 0; i < 20; i++) okPid(await startChild(h.inbox, sup, {}));
    expect(await h.count(sup)).toEqual(counts(1, 20, 20, 0));
    expect((await h.which(sup)).every((c) => c.type === 'supervisor')).toBe(true);
    const refs = new Map((await h.which(sup)).map((c, i) => [h.watch(c.child as Pid), `c${i}`]));
    for (const c of await h.which(sup)) h.kill(c.child as Pid);
    await h.downs(refs);
    expect(await h.count(sup)).toEqual(counts(1, 0, 0, 0));
  });
}
