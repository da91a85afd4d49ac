/**
 * Live policy changes: OTP's supervisor code_change, as a release upgrade applies it (the appup
 * of "Changing a Supervisor": terminate_child + delete_child for dropped children, the update,
 * restart_child for added ones), in one call. After supervisor_SUITE's code_change,
 * code_change_map, code_change_simple(_map) and significant_upgrade_* cases.
 */
import { expect, it } from 'vitest';
import {
  changePolicy,
  changeTreePolicy,
  getChildspec,
  getFlags,
  startChild,
  terminateChild,
  type AutoShutdown,
  type ChildSpec,
  type Pid,
  type SupervisorSpec,
} from '../../../runtime/index.js';
import { counts, okPid, same, shape, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

const ok = (r: unknown) => {
  if (typeof r !== 'object' || r === null || !('ok' in r)) throw new Error(`policy change refused: ${JSON.stringify(r)}`);
  return (r as { ok: { terminated: string[]; started: string[]; failed: { id: string; reason: unknown }[]; changed: boolean } }).ok;
};

export function policyCases(s: Suite): void {
  it('code_change: new flags and specs; added children start, dropped ones stop, running ones keep running', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 0, period: 1, children: [] });
    expect(await getFlags(h.inbox, sup)).toEqual({ strategy: 'one_for_one', intensity: 0, period: 1, autoShutdown: 'never' });

    expect(ok(await changePolicy(h.inbox, sup, { intensity: 1, period: 3, children: [] }))).toEqual({
      changed: true,
      flags: { strategy: 'one_for_one', intensity: 1, period: 3, autoShutdown: 'never' },
      terminated: [],
      started: [],
      failed: [],
    });
    expect(await getFlags(h.inbox, sup)).toMatchObject({ intensity: 1, period: 3 });

    // A faulty spec changes nothing.
    const faulty = { id: 'child1', restart: 'permanent' };
    expect(await changePolicy(h.inbox, sup, { intensity: 5, children: [faulty as never] })).toEqual({
      error: { start_spec: { kind: 'missing_start', value: faulty } },
    });
    expect(await getFlags(h.inbox, sup)).toMatchObject({ intensity: 1, period: 3 });

    const child1 = h.child('child1', { shutdown: 2000, trap: true });
    const child2 = h.child('child2', { shutdown: 'brutal_kill', trap: true });
    expect(ok(await changePolicy(h.inbox, sup, { intensity: 1, period: 3, children: [child1, child2] }))).toMatchObject({
      started: ['child1', 'child2'],
      terminated: [],
    });
    expect(await h.event('started')).toMatchObject({ id: 'child1' });
    expect(await h.event('started')).toMatchObject({ id: 'child2' });
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['child2', 'child1']);
    expect(await getChildspec(h.inbox, sup, 'child1')).toMatchObject({ ok: { shutdown: 2000 } });

    // Change child1, drop child2, add child3.
    await h.dropEvents();
    const c1 = await h.pidOf(sup, 'child1');
    const ref2 = h.watch(await h.pidOf(sup, 'child2'));
    const child11 = h.child('child1', { shutdown: 1000, trap: true });
    const child3 = h.child('child3', { shutdown: 'brutal_kill' });
    expect(ok(await changePolicy(h.inbox, sup, { intensity: 1, period: 3, children: [child11, child3] }))).toMatchObject({
      terminated: ['child2'],
      started: ['child3'],
    });
    expect(await h.down(ref2)).toBe('killed');
    expect(await h.event('started')).toMatchObject({ id: 'child3' });
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['child3', 'child1']);
    expect(same(await h.pidOf(sup, 'child1'), c1)).toBe(true);
    expect(await getChildspec(h.inbox, sup, 'child1')).toMatchObject({ ok: { shutdown: 1000 } });
    await h.sync(sup);
    await h.noEvent('terminate', 'child1');
    await h.noEvent('init', 'child1');

    // ignore: nothing changes.
    expect(ok(await changePolicy(h.inbox, sup, 'ignore'))).toMatchObject({ changed: false, flags: { intensity: 1, period: 3 } });
    // Faulty flags: nothing changes.
    expect(await changePolicy(h.inbox, sup, { intensity: 'faulty' as never, children: [] })).toEqual({
      error: { supervisor_data: { kind: 'invalid_intensity', value: 'faulty' } },
    });
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['child3', 'child1']);
    await h.noExit(sup);
  });

  it('dropped children stop newest first with shutdown, added ones start in start order', async () => {
    const h = await s.setup();
    const ids = ['a', 'b', 'c', 'd'];
    const sup = await h.sup({ intensity: 1, period: 3600, children: ids.map((id) => h.child(id, { trap: true })) });
    const refs = new Map<string, string>();
    for (const id of ['a', 'c', 'd']) refs.set(h.watch(await h.pidOf(sup, id)), id);
    await h.dropEvents();
    const next: SupervisorSpec = { intensity: 1, period: 3600, children: ['b', 'e', 'f'].map((id) => h.child(id, { trap: true })) };
    expect(ok(await changePolicy(h.inbox, sup, next))).toMatchObject({ terminated: ['d', 'c', 'a'], started: ['e', 'f'] });
    for (const id of ['d', 'c', 'a']) expect(await h.event('terminate')).toMatchObject({ id, reason: 'shutdown' });
    expect((await h.downs(refs)).map((d) => d.reason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    expect(await h.event('started')).toMatchObject({ id: 'e' });
    expect(await h.event('started')).toMatchObject({ id: 'f' });
    expect(shape(await h.which(sup))).toEqual([
      ['f', 'pid'],
      ['e', 'pid'],
      ['b', 'pid'],
    ]);
    await h.sync(sup);
    await h.noEvent('terminate', 'b');
  });

  it('children added by startChild are not the policy: a change keeps them (as code_change does)', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [h.child('p1')] });
    const extra = okPid(await startChild(h.inbox, sup, h.child('extra')));
    expect(ok(await changePolicy(h.inbox, sup, { children: [h.child('p2')] }))).toMatchObject({ terminated: ['p1'], started: ['p2'] });
    expect(shape(await h.which(sup))).toEqual([
      ['extra', 'pid'],
      ['p2', 'pid'],
    ]);
    expect(same(await h.pidOf(sup, 'extra'), extra)).toBe(true);
  });

  it('the new intensity counts from the restarts already made', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 0, period: 3600, children: [h.child('w')] });
    ok(await changePolicy(h.inbox, sup, { intensity: 2, period: 3600, children: [h.child('w')] }));
    expect(await h.crashed(await h.pidOf(sup, 'w'), 'died')).toBe('died');
    expect(await h.crashed(await h.started('w').then(() => h.pidOf(sup, 'w')), 'died')).toBe('died');
    await h.sync(sup);
    await h.noExit(sup);
    // Two restarts made; lowering the intensity to 2 again leaves room for none more.
    ok(await changePolicy(h.inbox, sup, { intensity: 2, period: 3600, children: [h.child('w')] }));
    expect(await h.crashed(await h.pidOf(sup, 'w'), 'died')).toBe('died');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('a running child keeps running, and goes by its new spec when it next exits or is stopped', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [h.child('c', { trap: true }), h.child('slow', { trap: true, terminate: 'hang', shutdown: 'infinity' })] });
    const c = await h.pidOf(sup, 'c');
    const slow = await h.pidOf(sup, 'slow');
    ok(
      await changePolicy(h.inbox, sup, {
        children: [h.child('c', { trap: true, restart: 'temporary' }), h.child('slow', { trap: true, terminate: 'hang', shutdown: 'brutal_kill' })],
      }),
    );
    expect(same(await h.pidOf(sup, 'c'), c)).toBe(true);
    // Now temporary: not restarted, and forgotten.
    expect(await h.crashed(c, 'died')).toBe('died');
    expect(shape(await h.which(sup))).toEqual([['slow', 'pid']]);
    // Now brutal_kill: killed at once, its hanging terminate never runs.
    await h.dropEvents();
    const ref = h.watch(slow);
    expect(await terminateChild(h.inbox, sup, 'slow')).toEqual({ ok: true });
    expect(await h.down(ref)).toBe('killed');
    await h.sync(sup);
    await h.noEvent('terminate', 'slow');
  });

  it('an added child that fails to start is reported and kept as a stopped spec', async () => {
    const h = await s.setup();
    await h.plan('x', [{ error: 'nope' }]);
    const sup = await h.sup({ children: [h.child('a')] });
    const r = ok(await changePolicy(h.inbox, sup, { children: [h.child('a'), h.child('x', { init: 'script' })] }));
    expect(r).toMatchObject({ started: [], failed: [{ id: 'x', reason: 'nope' }] });
    expect(shape(await h.which(sup))).toEqual([
      ['x', undefined],
      ['a', 'pid'],
    ]);
    await h.noExit(sup);
  });

  it('a dropped child that is being restarted is deleted and its retries stop', async () => {
    const h = await s.setup({ simulated: true });
    await h.plan('r', ['ok'], { after: 1000, then: { error: 'error' } });
    const sup = await h.sup({ intensity: 8, period: 10, children: [h.child('r', { init: 'script', shutdown: 'brutal_kill' }), h.child('k')] });
    expect(await h.crashed(await h.pidOf(sup, 'r'), 'error')).toBe('error');
    await h.event('waiting', 'r');
    const change = changePolicy(h.inbox, sup, { intensity: 8, period: 10, children: [h.child('k')] });
    await h.advance(1000);
    expect(ok(await change)).toMatchObject({ terminated: ['r'] });
    expect(shape(await h.which(sup))).toEqual([['k', 'pid']]);
    const attempts = await h.attempts('r');
    await h.advance(5000);
    await h.sync(sup);
    expect(await h.attempts('r')).toBe(attempts);
    await h.noExit(sup);
  });

  it('code_change_simple: a new template applies to running dynamic children; exactly one spec; no strategy change', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 0, period: 1, children: [h.child('tmpl', { shutdown: 'brutal_kill' })] });
    const d1 = okPid(await startChild(h.inbox, sup, { id: 'd1' }));
    const d2 = okPid(await startChild(h.inbox, sup, { id: 'd2' }));
    const next = h.child('tmpl', { shutdown: 1000, restart: 'temporary' });
    expect(ok(await changePolicy(h.inbox, sup, { strategy: 'simple_one_for_one', children: [next] }))).toMatchObject({ terminated: [], started: [] });
    expect(await getChildspec(h.inbox, sup, d2)).toMatchObject({ ok: { shutdown: 1000, restart: 'temporary' } });
    // d1 is temporary now: a crash does not restart it (and does not count against intensity 1).
    expect(await h.crashed(d1, 'died')).toBe('died');
    expect(await h.which(sup)).toHaveLength(1);
    expect(same((await h.which(sup))[0]!.child, d2)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));

    const two = [next, h.child('other')];
    expect(await changePolicy(h.inbox, sup, { strategy: 'simple_one_for_one', children: two })).toEqual({ error: { bad_start_spec: two } });
    expect(await changePolicy(h.inbox, sup, { strategy: 'simple_one_for_one', children: [] })).toEqual({ error: { bad_start_spec: [] } });
    expect(await changePolicy(h.inbox, sup, { strategy: 'one_for_one', children: [next] })).toEqual({
      error: { supervisor_data: { kind: 'invalid_strategy_change', value: { from: 'simple_one_for_one', to: 'one_for_one' } } },
    });
    const static_ = await h.sup({ children: [] });
    expect(await changePolicy(h.inbox, static_, { strategy: 'simple_one_for_one', children: [next] })).toEqual({
      error: { supervisor_data: { kind: 'invalid_strategy_change', value: { from: 'one_for_one', to: 'simple_one_for_one' } } },
    });
    await h.noExit(sup);
  });

  it('a strategy change between static strategies applies to the next restart', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 5, period: 3600, children: [h.child('a'), h.child('b')] });
    const a = await h.pidOf(sup, 'a');
    ok(await changePolicy(h.inbox, sup, { strategy: 'one_for_all', intensity: 5, period: 3600, children: [h.child('a'), h.child('b')] }));
    expect(same(await h.pidOf(sup, 'a'), a)).toBe(true);
    const refA = h.watch(a);
    expect(await h.crashed(await h.pidOf(sup, 'b'), 'died')).toBe('died');
    expect(await h.down(refA)).toBe('shutdown');
    expect(same(await h.pidOf(sup, 'a'), a)).toBe(false);
  });

  // significant_upgrade_<from>_<to>: after the change, the new autoShutdown decides.
  const upgrades: [AutoShutdown, AutoShutdown][] = [
    ['never', 'any_significant'],
    ['any_significant', 'never'],
    ['never', 'all_significant'],
    ['all_significant', 'never'],
    ['any_significant', 'all_significant'],
    ['all_significant', 'any_significant'],
  ];
  for (const [from, to] of upgrades) {
    const name = (a: AutoShutdown) => a.replace('_significant', '');
    it(`significant_upgrade_${name(from)}_${name(to)}: significant children exiting then go by ${to}`, async () => {
      const h = await s.setup();
      const sig = (id: string): ChildSpec => h.child(id, { restart: 'transient', significant: true });
      const sup = await h.sup({ autoShutdown: from, children: [] });
      if (from === 'never') expect(await startChild(h.inbox, sup, sig('child1'))).toMatchObject({ error: { kind: 'bad_combination' } });
      const before = from === 'never' ? [] : [okPid(await startChild(h.inbox, sup, sig('child1')))];
      ok(await changePolicy(h.inbox, sup, { autoShutdown: to, children: [] }));
      if (to === 'never') {
        expect(await startChild(h.inbox, sup, sig('child2'))).toMatchObject({ error: { kind: 'bad_combination' } });
        const ref = h.watch(before[0]!);
        h.stopChild(before[0]!, 'normal');
        expect(await h.down(ref)).toBe('normal');
        await h.sync(sup);
        await h.noExit(sup);
        return;
      }
      const [c1, c2] = [...before, okPid(await startChild(h.inbox, sup, sig('child2'))), ...(before.length ? [] : [okPid(await startChild(h.inbox, sup, sig('child3')))])];
      const ref1 = h.watch(c1!);
      h.stopChild(c1!, 'normal');
      expect(await h.down(ref1)).toBe('normal');
      if (to === 'all_significant') {
        await h.sync(sup);
        await h.noExit(sup);
        h.stopChild(c2!, 'normal');
      }
      expect(await h.exitOf(sup)).toBe('shutdown');
    });
  }

  it('significant_upgrade_child: a child made significant needs autoShutdown, and then shuts the supervisor down', async () => {
    const h = await s.setup();
    const plain = h.child('child', { restart: 'transient' });
    const sig = h.child('child', { restart: 'transient', significant: true });
    const sup1 = await h.sup({ autoShutdown: 'never', children: [plain] });
    expect(await changePolicy(h.inbox, sup1, { autoShutdown: 'never', children: [sig] })).toEqual({
      error: { start_spec: { kind: 'bad_combination', value: { autoShutdown: 'never', significant: true }, id: 'child' } },
    });
    expect(await getChildspec(h.inbox, sup1, 'child')).toMatchObject({ ok: { significant: false } });

    const sup2 = await h.sup({ autoShutdown: 'any_significant', children: [plain] });
    const c = await h.pidOf(sup2, 'child');
    ok(await changePolicy(h.inbox, sup2, { autoShutdown: 'any_significant', children: [sig] }));
    expect(same(await h.pidOf(sup2, 'child'), c)).toBe(true);
    h.stopChild(c, 'normal');
    expect(await h.exitOf(sup2)).toBe('shutdown');
    await h.noExit(sup1);
  });

  it('a tree takes a new policy top down: nested supervisors keep running and take theirs; an invalid tree changes nothing', async () => {
    const h = await s.setup();
    const tree = (topIntensity: number, innerIntensity: number, inner: ChildSpec[]): SupervisorSpec => ({
      intensity: topIntensity,
      period: 3600,
      children: [h.childSup('inner', { intensity: innerIntensity, period: 3600, children: inner }), h.child('t')],
    });
    const top = await h.sup(tree(1, 1, [h.child('w1')]));
    const inner = await h.pidOf(top, 'inner');
    const w1 = await h.pidOf(inner, 'w1');

    const bad = { ...h.child('w1'), restart: 'prmanent' as never };
    expect(await changeTreePolicy(h.inbox, top, tree(2, 3, [bad]))).toEqual({
      error: { path: 'root/inner', error: { start_spec: { kind: 'invalid_restart_type', value: 'prmanent', id: 'w1' } } },
    });
    expect(await getFlags(h.inbox, top)).toMatchObject({ intensity: 1 });

    const r = await changeTreePolicy(h.inbox, top, tree(2, 3, [h.child('w1'), h.child('w2')]));
    expect(r).toMatchObject({
      ok: [
        { path: 'root', change: { flags: { intensity: 2 }, started: [], terminated: [] } },
        { path: 'root/inner', change: { flags: { intensity: 3 }, started: ['w2'], terminated: [] } },
      ],
    });
    expect(same(await h.pidOf(top, 'inner'), inner)).toBe(true);
    expect(same(await h.pidOf(inner, 'w1'), w1)).toBe(true);
    expect(await getFlags(h.inbox, inner)).toMatchObject({ intensity: 3 });
    expect((await h.which(inner)).map((c) => c.id)).toEqual(['w2', 'w1']);
    await h.noExit(top);
  });
}
