/** one_for_one, one_for_all, rest_for_one, simple_one_for_one; restart intensity and escalation. */
import { expect, it } from 'vitest';
import { deleteChild, startChild, terminateChild, type Pid } from '../../../runtime/index.js';
import { counts, okPid, same, shape, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

/** A child that starts once, then refuses every restart. */
const FAILS_RESTART = { init: 'script' } as const;
const failRestarts = (h: Harness, id: string) => h.plan(id, ['ok'], { error: 'cannot_restart' });

export function strategyCases(s: Suite): void {
  it('one_for_one: only the failed child is restarted; the third restart within the period escalates', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000 })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 1000 })));
    expect(await h.crashed(c1, 'died')).toBe('died');
    const which = await h.which(sup);
    expect(which).toHaveLength(2);
    expect(same(which.find((c) => c.id === 'child2')!.child, c2)).toBe(true);
    expect(same(which.find((c) => c.id === 'child1')!.child, c1)).toBe(false);
    expect(await h.count(sup)).toEqual(counts(2, 2, 0, 2));

    expect(await h.crashed(c2, 'died')).toBe('died');
    const [newest] = await h.which(sup);
    expect(await h.crashed(newest!.child as Pid, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('intensity N allows N restarts in the period; the (N+1)th escalates untried, stopping children newest first', async () => {
    const h = await s.setup();
    const sup = await h.sup({
      strategy: 'one_for_one',
      intensity: 3,
      period: 3600,
      children: [h.child('a', { trap: true }), h.child('b'), h.child('c', { trap: true })],
    });
    let b = await h.started('b');
    for (let i = 0; i < 3; i++) {
      expect(await h.crashed(b, 'died')).toBe('died');
      b = await h.started('b');
    }
    await h.dropEvents();
    expect(await h.crashed(b, 'died')).toBe('died');
    expect(await h.eventFrom('terminate', ['a', 'c'])).toMatchObject({ id: 'c', reason: 'shutdown' });
    expect(await h.eventFrom('terminate', ['a', 'c'])).toMatchObject({ id: 'a', reason: 'shutdown' });
    expect(await h.exitOf(sup)).toBe('shutdown');
    await h.sync();
    await h.noEvent('init', 'b');
  });

  it('the restart count is per supervisor, shared by its children', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [h.child('a'), h.child('b')] });
    expect(await h.crashed(await h.pidOf(sup, 'a'), 'died')).toBe('died');
    expect(await h.crashed(await h.pidOf(sup, 'b'), 'died')).toBe('died');
    expect(await h.crashed(await h.pidOf(sup, 'a'), 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('multiple_restarts: restarts spaced beyond the period never add up (sliding window)', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 1, period: 1, children: [] });
    let pid = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 'brutal_kill' })));
    expect(await h.crashed(pid, 'died')).toBe('died');
    for (let i = 0; i < 3; i++) {
      await h.advance(2100);
      pid = await h.pidOf(sup, 'child1');
      expect(await h.crashed(pid, 'died')).toBe('died');
    }
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(await deleteChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    await h.noExit(sup);
  });

  it('the intensity window counts whole seconds with both ends included', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({ intensity: 1, period: 5, children: [h.child('c')] });
    expect(await h.crashed(await h.pidOf(sup, 'c'), 'died')).toBe('died'); // t = 0 s
    await h.advance(6000);
    expect(await h.crashed(await h.pidOf(sup, 'c'), 'died')).toBe('died'); // t = 6 s: the restart at 0 s has left the window
    await h.advance(5000);
    expect(await h.crashed(await h.pidOf(sup, 'c'), 'died')).toBe('died'); // t = 11 s: the restart at 6 s is still in it
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('one_for_one_escalation: failed restarts are retried and counted until the supervisor gives up', async () => {
    const h = await s.setup();
    await failRestarts(h, 'child1');
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 4, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { ...FAILS_RESTART, shutdown: 1000 })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 1000 })));
    const ref2 = h.watch(c2);
    expect(await h.crashed(c1, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
    expect(await h.down(ref2)).toBe('shutdown');
    // The first start, then four failed restarts; the fifth is not tried.
    expect(await h.attempts('child1')).toBe(5);
  });

  it('one_for_all: all children are stopped and restarted when one fails', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'one_for_all', intensity: 2, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000 })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 1000, trap: true })));
    await h.started('child1');
    await h.started('child2');
    expect(await h.crashed(c1, 'died')).toBe('died');
    expect(await h.terminated('child2')).toBe('shutdown');
    expect(await h.event('started')).toMatchObject({ id: 'child1' });
    expect(await h.event('started')).toMatchObject({ id: 'child2' });
    const which = await h.which(sup);
    expect(shape(which)).toEqual([
      ['child2', 'pid'],
      ['child1', 'pid'],
    ]);
    expect(which.some((c) => same(c.child, c1) || same(c.child, c2))).toBe(false);
    expect(await h.count(sup)).toEqual(counts(2, 2, 0, 2));

    expect(await h.crashed(which[0]!.child as Pid, 'died')).toBe('died');
    expect(await h.crashed((await h.which(sup))[0]!.child as Pid, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('one_for_all_escalation: a sibling that cannot restart makes the supervisor give up', async () => {
    const h = await s.setup();
    await failRestarts(h, 'child2');
    const sup = await h.sup({ strategy: 'one_for_all', intensity: 4, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000 })));
    okPid(await startChild(h.inbox, sup, h.child('child2', { ...FAILS_RESTART, shutdown: 1000 })));
    expect(await h.crashed(c1, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
    expect(await h.attempts('child2')).toBe(5);
  });

  it('one_for_all_other_child_fails_restart: the whole group is stopped and retried when a later child fails', async () => {
    const h = await s.setup();
    await h.plan('child2', ['ok', { error: 'normal' }], 'ok');
    const sup = await h.sup({
      strategy: 'one_for_all',
      intensity: 3,
      period: 3600,
      children: [h.child('child1', { trap: true }), h.child('child2', { init: 'script' })],
    });
    const c1 = await h.started('child1');
    await h.started('child2');
    h.crash(c1, 'die');
    expect(await h.terminated('child1')).toBe('die');
    const c1g2 = await h.started('child1');
    expect(await h.event('refused', 'child2')).toMatchObject({ how: 'error' });
    const t = await h.event('terminate', 'child1');
    expect(same(t.pid, c1g2)).toBe(true);
    expect(t).toMatchObject({ reason: 'shutdown' });
    const c1g3 = await h.started('child1');
    const c2g3 = await h.started('child2');
    const which = await h.which(sup);
    expect(same(which.find((c) => c.id === 'child1')!.child, c1g3)).toBe(true);
    expect(same(which.find((c) => c.id === 'child2')!.child, c2g3)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(2, 2, 0, 2));
  });

  it('one_for_all also restarts a sibling that was stopped by terminateChild', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'one_for_all', intensity: 2, period: 3600, children: [h.child('a'), h.child('b')] });
    expect(await terminateChild(h.inbox, sup, 'b')).toEqual({ ok: true });
    expect(shape(await h.which(sup))).toEqual([
      ['b', undefined],
      ['a', 'pid'],
    ]);
    expect(await h.crashed(await h.pidOf(sup, 'a'), 'died')).toBe('died');
    expect(shape(await h.which(sup))).toEqual([
      ['b', 'pid'],
      ['a', 'pid'],
    ]);
  });

  it('simple_one_for_one: a dynamic child is restarted with its own args; intensity escalates', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child', { shutdown: 1000 })] });
    const c1 = okPid(await startChild(h.inbox, sup, { id: 'd1' }));
    const c2 = okPid(await startChild(h.inbox, sup, { id: 'd2' }));
    await h.started('d1');
    await h.started('d2');
    expect(await h.crashed(c1, 'died')).toBe('died');
    const d1again = await h.started('d1');
    const which = await h.which(sup);
    expect(which).toHaveLength(2);
    expect(which.some((c) => same(c.child, c2))).toBe(true);
    expect(which.some((c) => same(c.child, d1again))).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 2, 0, 2));

    expect(await h.crashed(c2, 'died')).toBe('died');
    await h.started('d2');
    expect(await h.crashed((await h.which(sup))[0]!.child as Pid, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('simple_one_for_one_escalation: a dynamic child that cannot restart makes the supervisor give up', async () => {
    const h = await s.setup();
    await failRestarts(h, 'd1');
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 4, period: 3600, children: [h.child('child', { shutdown: 1000 })] });
    const c1 = okPid(await startChild(h.inbox, sup, { id: 'd1', init: 'script' }));
    const c2 = okPid(await startChild(h.inbox, sup, { id: 'd2' }));
    const ref2 = h.watch(c2);
    expect(await h.crashed(c1, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
    expect(await h.down(ref2)).toBe('shutdown');
    expect(await h.attempts('d1')).toBe(5);
  });

  it('simple_one_for_one_shutdown: dynamic children are stopped together, each within its shutdown time', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 2,
      period: 3600,
      children: [h.child('child', { shutdown: 2000, trap: true })],
    });
    const refs = new Map<string, string>();
    for (const [id, terminate] of [
      ['d1', { delay: 1000 }],
      ['d2', { delay: 1000 }],
      ['d3', 'hang'],
    ] as const) {
      refs.set(h.watch(okPid(await startChild(h.inbox, sup, { id, terminate }))), id);
    }
    h.inbox.exit(sup, 'shutdown');
    const terminating = new Set<string>();
    for (let i = 0; i < 3; i++) terminating.add((await h.event('terminate')).id);
    expect(terminating).toEqual(new Set(['d1', 'd2', 'd3']));
    await h.advance(1000);
    const first = await h.downs(new Map([...refs].filter(([, id]) => id !== 'd3')));
    expect(first.map((d) => d.reason)).toEqual(['shutdown', 'shutdown']);
    await h.sync();
    await h.noExit(sup);
    await h.advance(1000);
    expect(await h.downs(new Map([...refs].filter(([, id]) => id === 'd3')))).toEqual([{ name: 'd3', reason: 'killed' }]);
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  for (const restart of ['transient', 'permanent'] as const) {
    it(`simple_one_for_one_restart_ignore (${restart}): a restart that answers ignore removes the child`, async () => {
      const h = await s.setup();
      await h.plan('d1', ['ok', 'ok', 'ignore']);
      const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 10, period: 3600, children: [h.child('child', { restart })] });
      const c1 = okPid(await startChild(h.inbox, sup, { id: 'd1', init: 'script' }));
      const ref1 = h.watch(c1);
      h.kill(c1);
      expect(await h.down(ref1)).toBe('killed');
      const c2 = (await h.which(sup))[0]!.child as Pid;
      expect(same(c2, c1)).toBe(false);
      const ref2 = h.watch(c2);
      h.kill(c2);
      expect(await h.down(ref2)).toBe('killed');
      expect(await h.event('refused', 'd1')).toMatchObject({ how: 'ignore' });
      expect(await h.which(sup)).toEqual([]);
      h.inbox.exit(sup, 'shutdown');
      expect(await h.exitOf(sup)).toBe('shutdown');
    });
  }

  it('rest_for_one: the failed child and those started after it are restarted', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'rest_for_one', intensity: 2, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000 })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 1000 })));
    const c3 = okPid(await startChild(h.inbox, sup, h.child('child3', { shutdown: 1000 })));
    expect(await h.count(sup)).toEqual(counts(3, 3, 0, 3));
    const ref3 = h.watch(c3);
    expect(await h.crashed(c2, 'died')).toBe('died');
    expect(await h.down(ref3)).toBe('shutdown');
    const which = await h.which(sup);
    expect(shape(which)).toEqual([
      ['child3', 'pid'],
      ['child2', 'pid'],
      ['child1', 'pid'],
    ]);
    expect(same(which[2]!.child, c1)).toBe(true);
    expect(same(which[1]!.child, c2) || same(which[0]!.child, c3)).toBe(false);
    expect(await h.count(sup)).toEqual(counts(3, 3, 0, 3));

    expect(await h.crashed(which[0]!.child as Pid, 'died')).toBe('died');
    expect(await h.crashed((await h.which(sup))[1]!.child as Pid, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('rest_for_one_escalation: a later child that cannot restart makes the supervisor give up', async () => {
    const h = await s.setup();
    await failRestarts(h, 'child2');
    const sup = await h.sup({ strategy: 'rest_for_one', intensity: 4, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000 })));
    okPid(await startChild(h.inbox, sup, h.child('child2', { ...FAILS_RESTART, shutdown: 1000 })));
    expect(await h.crashed(c1, 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
    expect(await h.attempts('child2')).toBe(5);
  });

  it('rest_for_one_other_child_fails_restart: the retry starts from the failed child, not from the first', async () => {
    const h = await s.setup();
    await h.plan('child2', ['ok', { error: 'normal' }], 'ok');
    const sup = await h.sup({
      strategy: 'rest_for_one',
      intensity: 3,
      period: 3600,
      children: [h.child('child1', { trap: true }), h.child('child2', { init: 'script' })],
    });
    const c1 = await h.started('child1');
    await h.started('child2');
    h.crash(c1, 'die');
    expect(await h.terminated('child1')).toBe('die');
    const c1g2 = await h.started('child1');
    expect(await h.event('refused', 'child2')).toMatchObject({ how: 'error' });
    const c2g3 = await h.started('child2');
    const which = await h.which(sup);
    expect(same(which.find((c) => c.id === 'child1')!.child, c1g2)).toBe(true);
    expect(same(which.find((c) => c.id === 'child2')!.child, c2g3)).toBe(true);
    await h.sync();
    await h.noEvent('terminate', 'child1');
    await h.noEvent('started', 'child1');
  });

  it('order_of_children: started in spec order, stopped in reverse, rest_for_one restarts in order', async () => {
    const h = await s.setup();
    const ids = ['ch7', 'ch3', 'ch10', 'ch2', 'ch5'];
    const sup = await h.sup({ strategy: 'rest_for_one', intensity: 2, period: 3600, children: ids.map((id) => h.child(id, { trap: true })) });
    for (const id of ids) expect(await h.event('started')).toMatchObject({ id });

    h.crash(await h.pidOf(sup, 'ch10'));
    expect(await h.event('terminate')).toMatchObject({ id: 'ch10', reason: 'died' });
    expect(await h.event('terminate')).toMatchObject({ id: 'ch5', reason: 'shutdown' });
    expect(await h.event('terminate')).toMatchObject({ id: 'ch2', reason: 'shutdown' });
    for (const id of ['ch10', 'ch2', 'ch5']) expect(await h.event('started')).toMatchObject({ id });

    h.inbox.exit(sup, 'shutdown');
    for (const id of [...ids].reverse()) expect(await h.event('terminate')).toMatchObject({ id, reason: 'shutdown' });
    expect(await h.exitOf(sup)).toBe('shutdown');
  });
}
