/** Starting a supervisor (and failing to), and stopping it with each shutdown kind. */
import { expect, it } from 'vitest';
import { startChild, supervisorSpec, terminateChild } from '../../../runtime/index.js';
import { counts, okPid, same, shape } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

export function startStopCases(s: Suite): void {
  it('sup_start_normal: starts without children, exits with the reason its parent stops it with', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 2, period: 3600, children: [] });
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('sup_start_ignore_child: a child that ignores is kept as a stopped spec', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    expect(await startChild(h.inbox, sup, h.child('child1', { init: 'ignore' }))).toEqual({ ok: undefined });
    const cpid2 = okPid(await startChild(h.inbox, sup, h.child('child2')));
    const which = await h.which(sup);
    expect(shape(which)).toEqual([
      ['child2', 'pid'],
      ['child1', undefined],
    ]);
    expect(same(which[0]!.child, cpid2)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(2, 1, 0, 2));
  });

  it('sup_start_ignore_temporary_child: a temporary child that ignores at supervisor start is forgotten', async () => {
    const h = await s.setup();
    const sup = await h.sup({
      intensity: 2,
      period: 3600,
      children: [h.child('child1', { restart: 'temporary', init: 'ignore' }), h.child('child2', { restart: 'temporary' })],
    });
    expect(shape(await h.which(sup))).toEqual([['child2', 'pid']]);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
  });

  it('sup_start_ignore_temporary_child_start_child: a temporary child that ignores on startChild is forgotten', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    expect(await startChild(h.inbox, sup, h.child('child1', { restart: 'temporary', init: 'ignore' }))).toEqual({ ok: undefined });
    const cpid2 = okPid(await startChild(h.inbox, sup, h.child('child2', { restart: 'temporary' })));
    const which = await h.which(sup);
    expect(shape(which)).toEqual([['child2', 'pid']]);
    expect(same(which[0]!.child, cpid2)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
  });

  for (const restart of ['temporary', 'permanent'] as const) {
    it(`sup_start_ignore_${restart}_child_start_child_simple: simple_one_for_one drops a ${restart} child that ignores`, async () => {
      const h = await s.setup();
      const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child', { restart })] });
      expect(await startChild(h.inbox, sup, { init: 'ignore' })).toEqual({ ok: undefined });
      const cpid2 = okPid(await startChild(h.inbox, sup, {}));
      const which = await h.which(sup);
      expect(shape(which)).toEqual([[undefined, 'pid']]);
      expect(same(which[0]!.child, cpid2)).toBe(true);
      expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
      h.inbox.exit(sup, 'shutdown');
      expect(await h.exitOf(sup)).toBe('shutdown');
    });
  }

  it('sup_start_ignore_init: an init that answers ignore starts nothing, and the parent gets no EXIT', async () => {
    const h = await s.setup();
    expect(await h.inbox.spawnLink(supervisorSpec(() => 'ignore'))).toEqual({ ignore: true });
    expect(await h.inbox.spawnLink(supervisorSpec(async () => 'ignore' as const))).toEqual({ ignore: true });
    expect(await h.inbox.spawnLink(supervisorSpec('ignore'))).toEqual({ ignore: true });
    // Nothing registered either: the name is free for the next start.
    expect(await h.inbox.spawnLink(supervisorSpec('ignore'), { name: 'sup_test' })).toEqual({ ignore: true });
    expect(h.supNode.whereis('sup_test')).toBeUndefined();
    await h.sync();
    await h.noExit();
  });

  it('sup_start_error_return: an init that answers something else than a spec fails with bad_return, and no EXIT', async () => {
    const h = await s.setup();
    for (const invalid of ['invalid', 42, null, undefined]) {
      expect(await h.inbox.spawnLink(supervisorSpec(() => invalid as never)), String(invalid)).toEqual({ error: { bad_return: invalid } });
    }
    await h.sync();
    await h.noExit();
  });

  it('sup_start_fail: an init that throws fails the start with what it threw (kept as is), and the parent gets no EXIT', async () => {
    const h = await s.setup();
    const boom = new Error('boom in init');
    const r = await h.inbox.spawnLink(
      supervisorSpec(() => {
        throw boom;
      }),
    );
    expect(r).toEqual({ error: boom });
    expect((r as { error: unknown }).error).toBe(boom);
    // Any thrown value is the reason, not only an Error's text.
    const reason = { crashed: 'in init', at: [1, 2] };
    const r2 = await h.inbox.spawnLink(
      supervisorSpec(async () => {
        throw reason;
      }),
    );
    expect(r2).toEqual({ error: reason });
    await h.sync();
    await h.noExit();
  });

  it('start failure of a child: the start fails with the reason after stopping the started children in reverse order', async () => {
    const h = await s.setup();
    const r = await h.startSup({
      strategy: 'one_for_one',
      children: [h.child('c1', { trap: true }), h.child('c2', { trap: true }), h.child('c3', { init: { error: 'bad' } })],
    });
    expect(r).toEqual({ error: { shutdown: { failed_to_start_child: { id: 'c3', reason: 'bad' } } } });
    expect(await h.event('terminate')).toMatchObject({ id: 'c2', reason: 'shutdown' });
    expect(await h.event('terminate')).toMatchObject({ id: 'c1', reason: 'shutdown' });
    await h.sync();
    await h.noExit();

    // A child whose init throws: same outcome, the reason is the thrown value.
    const r2 = await h.startSup({ children: [h.child('d1', { trap: true }), h.child('d2', { init: { throw: 'thrown' } })] });
    expect(r2).toEqual({ error: { shutdown: { failed_to_start_child: { id: 'd2', reason: 'thrown' } } } });
    expect(await h.event('terminate', 'd1')).toMatchObject({ reason: 'shutdown' });
  });

  it('sup_stop_infinity: children with shutdown infinity are waited for, however long they take', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const slow = { shutdown: 'infinity', trap: true, terminate: { delay: 60_000 } } as const;
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { ...slow, type: 'supervisor' })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', slow)));
    const ref1 = h.watch(c1);
    const ref2 = h.watch(c2);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.terminated('child2')).toBe('shutdown');
    await h.advance(59_999);
    await h.sync();
    await h.noDown(ref2);
    await h.noEvent('terminate', 'child1');
    await h.advance(1);
    expect(await h.down(ref2)).toBe('shutdown');
    expect(await h.terminated('child1')).toBe('shutdown');
    await h.advance(60_000);
    expect(await h.down(ref1)).toBe('shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('sup_stop_timeout: a child still in terminate at its shutdown timeout is killed', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000, trap: true })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 1000, trap: true, terminate: 'hang' })));
    const ref1 = h.watch(c1);
    const ref2 = h.watch(c2);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.terminated('child2')).toBe('shutdown');
    await h.advance(999);
    await h.sync();
    await h.noDown(ref2);
    await h.advance(1);
    expect(await h.down(ref2)).toBe('killed');
    expect(await h.terminated('child1')).toBe('shutdown');
    expect(await h.down(ref1)).toBe('shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('sup_stop_brutal_kill: a brutal_kill child is killed and runs no terminate', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 1000, trap: true })));
    const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { shutdown: 'brutal_kill', trap: true })));
    const refs = new Map([
      [h.watch(c1), 'child1'],
      [h.watch(c2), 'child2'],
    ]);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.downs(refs)).toEqual([
      { name: 'child2', reason: 'killed' },
      { name: 'child1', reason: 'shutdown' },
    ]);
    expect(await h.exitOf(sup)).toBe('shutdown');
    expect(await h.terminated('child1')).toBe('shutdown');
    await h.sync();
    await h.noEvent('terminate', 'child2');
  });

  it('sup_stop_timeout_dynamic: simple_one_for_one kills a dynamic child still in terminate at the timeout', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 2,
      period: 3600,
      children: [h.child('child', { restart: 'temporary', shutdown: 1000, trap: true })],
    });
    const c1 = okPid(await startChild(h.inbox, sup, { id: 'd1' }));
    const c2 = okPid(await startChild(h.inbox, sup, { id: 'd2', terminate: 'hang' }));
    const ref1 = h.watch(c1);
    const ref2 = h.watch(c2);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.down(ref1)).toBe('shutdown');
    await h.advance(1000);
    expect(await h.down(ref2)).toBe('killed');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('sup_stop_brutal_kill_dynamic: simple_one_for_one kills every brutal_kill child', async () => {
    const h = await s.setup();
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 2,
      period: 3600,
      children: [h.child('child', { restart: 'temporary', shutdown: 'brutal_kill', trap: true })],
    });
    const refs = new Map<string, string>();
    for (let i = 0; i < 10; i++) refs.set(h.watch(okPid(await startChild(h.inbox, sup, { id: `d${i}` }))), `d${i}`);
    h.inbox.exit(sup, 'shutdown');
    const downs = await h.downs(refs);
    expect(downs.map((d) => d.reason)).toEqual(Array(10).fill('killed'));
    expect(await h.exitOf(sup)).toBe('shutdown');
    await h.sync();
    await h.noEvent('terminate');
  });

  it('stopped by its parent with reason R, a supervisor gives its children shutdown (newest first) and exits R', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [h.child('c1', { trap: true }), h.child('c2', { trap: true })] });
    h.inbox.exit(sup, 'because');
    expect(await h.event('terminate')).toMatchObject({ id: 'c2', reason: 'shutdown' });
    expect(await h.event('terminate')).toMatchObject({ id: 'c1', reason: 'shutdown' });
    expect(await h.exitOf(sup)).toBe('because');
  });

  it('a child that does not trap exits dies with shutdown and runs no terminate', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [h.child('c1')] });
    const ref = h.watch(await h.started('c1'));
    expect(await terminateChild(h.inbox, sup, 'c1')).toEqual({ ok: true });
    expect(await h.down(ref)).toBe('shutdown');
    await h.sync();
    await h.noEvent('terminate', 'c1');
  });
}
