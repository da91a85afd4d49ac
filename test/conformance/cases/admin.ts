/** startChild / terminateChild / restartChild / deleteChild / whichChildren / countChildren. */
import { expect, it } from 'vitest';
import {
  CallError,
  countChildren,
  deleteChild,
  formatReason,
  getChildspec,
  restartChild,
  startChild,
  terminateChild,
  whichChildren,
  type ActorContext,
  type ChildSpec,
  type ChildStartResult,
  type Pid,
  type SpecProblem,
} from '../../../runtime/index.js';
import { CHILD } from '../children.js';
import { counts, okPid, same, shape } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

export function adminCases(s: Suite): void {
  it('child_adm: start, terminate, restart and delete a child, with every error answer', async () => {
    const h = await s.setup();
    const child = h.child('child1', { shutdown: 1000 });
    const sup = await h.sup({ intensity: 2, period: 3600, children: [child] });
    const cpid = await h.pidOf(sup, 'child1');
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));

    const again = await startChild(h.inbox, sup, child);
    expect(same((again as { error: { already_started: Pid } }).error.already_started, cpid)).toBe(true);

    expect(await terminateChild(h.inbox, sup, 'hej')).toEqual({ error: 'not_found' });
    const ref = h.watch(cpid);
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(await h.down(ref)).toBe('shutdown');
    expect(shape(await h.which(sup))).toEqual([['child1', undefined]]);
    expect(await h.count(sup)).toEqual(counts(1, 0, 0, 1));
    // Terminating a stopped child succeeds, as deleting something absent would.
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });

    expect(await startChild(h.inbox, sup, child)).toEqual({ error: 'already_present' });

    const cpid2 = okPid(await restartChild(h.inbox, sup, 'child1'));
    expect(same(await h.pidOf(sup, 'child1'), cpid2)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
    expect(await restartChild(h.inbox, sup, 'child1')).toEqual({ error: 'running' });
    expect(await restartChild(h.inbox, sup, 'child2')).toEqual({ error: 'not_found' });

    expect(await deleteChild(h.inbox, sup, 'child1')).toEqual({ error: 'running' });
    expect(await deleteChild(h.inbox, sup, 'hej')).toEqual({ error: 'not_found' });
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(await deleteChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(await restartChild(h.inbox, sup, 'child1')).toEqual({ error: 'not_found' });
    expect(await h.which(sup)).toEqual([]);
    expect(await h.count(sup)).toEqual(counts(0, 0, 0, 0));

    const cpid3 = okPid(await startChild(h.inbox, sup, child));
    expect(shape(await h.which(sup))).toEqual([['child1', 'pid']]);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));

    // A static child is terminated by id, not by pid.
    expect(await terminateChild(h.inbox, sup, cpid3)).toEqual({ error: 'not_found' });
    expect(same(await h.pidOf(sup, 'child1'), cpid3)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
  });

  it('child_adm: every API call to a supervisor that does not exist fails with noproc', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [] });
    h.inbox.exit(sup, 'shutdown');
    await h.exitOf(sup);
    const spec = h.child('child1');
    for (const target of ['foo', sup, { name: 'foo', node: h.childNode.name }]) {
      const calls: [string, Promise<unknown>][] = [
        ['startChild', startChild(h.inbox, target, spec)],
        ['terminateChild', terminateChild(h.inbox, target, 'child1')],
        ['restartChild', restartChild(h.inbox, target, 'child1')],
        ['deleteChild', deleteChild(h.inbox, target, 'child1')],
        ['whichChildren', whichChildren(h.inbox, target)],
        ['countChildren', countChildren(h.inbox, target)],
      ];
      for (const [what, p] of calls) {
        const e = await p.then(
          (v) => new Error(`${what} answered ${formatReason(v)}`),
          (err: unknown) => err,
        );
        expect(e, what).toBeInstanceOf(CallError);
        expect((e as CallError).kind, what).toBe('noproc');
      }
    }
  });

  it('child_adm_simple: simple_one_for_one children are started with extra args and terminated by pid', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child')] });
    expect(await h.which(sup)).toEqual([]);
    expect(await h.count(sup)).toEqual(counts(1, 0, 0, 0));

    const cpid1 = okPid(await startChild(h.inbox, sup, { id: 'd1' }));
    expect(await h.event('started', 'd1')).toMatchObject({ id: 'd1' });
    const which1 = await h.which(sup);
    expect(shape(which1)).toEqual([[undefined, 'pid']]);
    expect(which1[0]).toMatchObject({ type: 'worker' });
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));

    const cpid2 = okPid(await startChild(h.inbox, sup, { id: 'd2' }));
    const which2 = await h.which(sup);
    expect(which2).toHaveLength(2);
    expect(which2.some((c) => same(c.child, cpid1))).toBe(true);
    expect(which2.some((c) => same(c.child, cpid2))).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 2, 0, 2));

    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await h.count(sup)).toEqual(counts(1, 2, 0, 2));
    const ref = h.watch(cpid1);
    expect(await terminateChild(h.inbox, sup, cpid1)).toEqual({ ok: true });
    expect(await h.down(ref)).toBe('shutdown');
    expect(await h.which(sup)).toHaveLength(1);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));

    // A live process that is not a child of this supervisor is left alone.
    const stranger = okPid(await h.childNode.spawn({ behaviour: CHILD, args: h.childArgs('stranger') }));
    expect(await terminateChild(h.inbox, sup, stranger)).toEqual({ error: 'not_found' });
    expect(await h.inbox.call(stranger, { op: 'ping' })).toEqual({ pong: 'stranger' });

    expect(await restartChild(h.inbox, sup, 'child1')).toEqual({ error: 'simple_one_for_one' });
    expect(await deleteChild(h.inbox, sup, 'child1')).toEqual({ error: 'simple_one_for_one' });
  });

  it('child_adm_simple: terminating a dynamic child that is already gone succeeds', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child')] });
    const cpid1 = okPid(await startChild(h.inbox, sup, { id: 'd1' }));
    okPid(await startChild(h.inbox, sup, { id: 'd2' }));
    expect(await terminateChild(h.inbox, sup, cpid1)).toEqual({ ok: true });
    expect(await terminateChild(h.inbox, sup, cpid1)).toEqual({ ok: true });
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
  });

  it('which_children: newest child first, static children in reverse start order', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [h.child('a'), h.child('b'), h.child('c')] });
    for (const id of ['a', 'b', 'c']) expect(await h.event('started')).toMatchObject({ id });
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['c', 'b', 'a']);
    okPid(await startChild(h.inbox, sup, h.child('d')));
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(await terminateChild(h.inbox, sup, 'b')).toEqual({ ok: true });
    expect(shape(await h.which(sup))).toEqual([
      ['d', 'pid'],
      ['c', 'pid'],
      ['b', undefined],
      ['a', 'pid'],
    ]);
    expect(await deleteChild(h.inbox, sup, 'b')).toEqual({ ok: true });
    expect((await h.which(sup)).map((c) => c.id)).toEqual(['d', 'c', 'a']);
    expect((await h.which(sup)).every((c) => c.type === 'worker')).toBe(true);
  });

  it('sup_start_child_returns_error: a static supervisor answers a failed start with the reason and the child spec', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const child1 = h.child('child1', { init: { error: 'reason' }, shutdown: 1000 });
    expect(await startChild(h.inbox, sup, child1)).toEqual({
      error: { reason: 'reason', childSpec: { ...child1, restart: 'permanent', shutdown: 1000, type: 'worker', significant: false } },
    });
    const child2 = h.child('child2', { init: { throw: { error_reason: [1, 2] } }, type: 'supervisor' });
    expect(await startChild(h.inbox, sup, child2)).toEqual({
      error: { reason: { error_reason: [1, 2] }, childSpec: { ...child2, restart: 'permanent', shutdown: 'infinity', type: 'supervisor', significant: false } },
    });
    expect(await h.which(sup)).toEqual([]);
  });

  it('sup_start_child_returns_error_simple: simple_one_for_one returns the child start error as is', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child1')] });
    expect(await startChild(h.inbox, sup, { init: { error: 'reason' } })).toEqual({ error: 'reason' });
    expect(await startChild(h.inbox, sup, { init: { throw: 'error_reason' } })).toEqual({ error: 'error_reason' });
    expect(await h.which(sup)).toEqual([]);
  });

  it('sup_start_restart_child_returns_error: restartChild answers the start error as is and the child stays stopped', async () => {
    const h = await s.setup();
    await h.plan('child1', ['ok'], { error: 'function_clause' });
    const sup = await h.sup({ intensity: 2, period: 3600, children: [h.child('child1', { init: 'script' })] });
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(await restartChild(h.inbox, sup, 'child1')).toEqual({ error: 'function_clause' });
    expect(shape(await h.which(sup))).toEqual([['child1', undefined]]);
  });

  it('child_specs / child_specs_map: startChild refuses a bad child spec with its problem as data', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const good = h.child('child');
    const { id: _id, ...noId } = good;
    const { start: _start, ...noStart } = good;
    const bad: [unknown, SpecProblem][] = [
      ['hej', { kind: 'invalid_child_spec', value: 'hej' }],
      [noId, { kind: 'missing_id', value: noId }],
      [noStart, { kind: 'missing_start', value: noStart }],
      [{ ...good, id: 7 }, { kind: 'invalid_id', value: 7 }],
      [{ ...good, start: 'mfa' }, { kind: 'invalid_start', value: 'mfa', id: 'child' }],
      [{ ...good, restart: 'prmanent' }, { kind: 'invalid_restart_type', value: 'prmanent', id: 'child' }],
      [{ ...good, shutdown: -10 }, { kind: 'invalid_shutdown', value: -10, id: 'child' }],
      [{ ...good, type: 'wrker' }, { kind: 'invalid_child_type', value: 'wrker', id: 'child' }],
      [{ ...good, significant: 'maybe' }, { kind: 'invalid_significant', value: 'maybe', id: 'child' }],
      [{ ...good, restart: 'transient', significant: true }, { kind: 'bad_combination', value: { autoShutdown: 'never', significant: true }, id: 'child' }],
    ];
    for (const [spec, problem] of bad) expect(await startChild(h.inbox, sup, spec), problem.kind).toEqual({ error: problem });
    expect(await h.which(sup)).toEqual([]);
    okPid(await startChild(h.inbox, sup, { ...good, shutdown: 'infinity', type: 'supervisor' }));
  });

  it('sup_flags: bad flags fail the start with supervisor_data and the offending value; unknown flags are ignored', async () => {
    const h = await s.setup();
    const flags: [Record<string, unknown>, SpecProblem][] = [
      [{ strategy: 'none_for_one' }, { kind: 'invalid_strategy', value: 'none_for_one' }],
      [{ intensity: -1 }, { kind: 'invalid_intensity', value: -1 }],
      [{ intensity: 'infinity' }, { kind: 'invalid_intensity', value: 'infinity' }],
      [{ period: 0 }, { kind: 'invalid_period', value: 0 }],
      [{ period: 'infinity' }, { kind: 'invalid_period', value: 'infinity' }],
      [{ autoShutdown: 'sometimes' }, { kind: 'invalid_auto_shutdown', value: 'sometimes' }],
    ];
    for (const [f, problem] of flags) {
      expect(await h.startSup({ ...f, children: [] } as never), JSON.stringify(f)).toEqual({ error: { supervisor_data: problem } });
    }
    await h.sync();
    await h.noExit();
    const sup = await h.sup({ silly_flag: true, children: [] } as never);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('child_specs / sup_start_map_faulty_specs: a supervisor with bad child specs does not start, and says which and why', async () => {
    const h = await s.setup();
    const c = h.child('c');
    const { id: _id, ...noId } = c;
    const { start: _start, ...noStart } = c;
    const specs: [string, unknown[], Record<string, unknown>, unknown][] = [
      ['missing id', [noId], {}, { start_spec: { kind: 'missing_id', value: noId } }],
      ['missing start', [noStart], {}, { start_spec: { kind: 'missing_start', value: noStart } }],
      ['not a spec', ['child4'], {}, { start_spec: { kind: 'invalid_child_spec', value: 'child4' } }],
      ['bad restart', [{ ...c, restart: 'prmanent' }], {}, { start_spec: { kind: 'invalid_restart_type', value: 'prmanent', id: 'c' } }],
      ['bad restart, simple', [{ ...c, restart: 'prmanent' }], { strategy: 'simple_one_for_one' }, { start_spec: { kind: 'invalid_restart_type', value: 'prmanent', id: 'c' } }],
      ['duplicate ids', [c, h.child('c')], {}, { start_spec: { kind: 'duplicate_child_name', value: 'c' } }],
      [
        'significant with autoShutdown never',
        [{ ...c, restart: 'transient', significant: true }],
        { autoShutdown: 'never' },
        { start_spec: { kind: 'bad_combination', value: { autoShutdown: 'never', significant: true }, id: 'c' } },
      ],
      ['simple_one_for_one without a child', [], { strategy: 'simple_one_for_one' }, { bad_start_spec: [] }],
      ['simple_one_for_one with two children', [c, h.child('d')], { strategy: 'simple_one_for_one' }, { bad_start_spec: [c, h.child('d')] }],
      ['children not a list', 'c' as never, {}, { bad_start_spec: 'c' }],
    ];
    for (const [what, children, f, error] of specs) {
      expect(await h.startSup({ ...f, children } as never), what).toEqual({ error });
    }
    // Unknown keys in a child spec are ignored.
    const sup = await h.sup({ children: [{ ...c, silly_flag: true } as ChildSpec] });
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('extra_return: the info a start function gives with the pid comes back from startChild and restartChild, and is otherwise ignored', async () => {
    const h = await s.setup();
    // A start function runs in the supervisor (as an OTP start MFA): the spec stays on its node.
    const withInfo = (info: unknown) => async (ctx: ActorContext, extra?: unknown): Promise<ChildStartResult> => {
      const r = await ctx.spawnLink({ behaviour: CHILD, args: { ...h.childArgs('child1'), ...(extra as object) }, options: { node: h.childNode.name } });
      return 'ok' in r ? { ok: r.ok, info } : r;
    };
    const sup = await h.sup({ intensity: 2, period: 3600, children: [{ id: 'child1', start: withInfo('extra_return'), shutdown: 1000 }] });
    const cpid = await h.pidOf(sup, 'child1');
    expect(await restartChild(h.inbox, sup, 'child1')).toEqual({ error: 'running' });
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    const r = await restartChild(h.inbox, sup, 'child1');
    expect(r).toMatchObject({ info: 'extra_return' });
    const cpid2 = okPid(r);
    expect(same(cpid2, cpid)).toBe(false);
    expect(same(await h.pidOf(sup, 'child1'), cpid2)).toBe(true);
    expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
    // Restarted by the supervisor as usual.
    await h.dropEvents();
    const ref = h.watch(cpid2);
    h.crash(cpid2, 'abnormal');
    expect(await h.down(ref)).toBe('abnormal');
    const cpid3 = await h.started('child1');
    expect(same(await h.pidOf(sup, 'child1'), cpid3)).toBe(true);

    // simple_one_for_one: startChild answers the info too.
    const dyn = await h.sup({ strategy: 'simple_one_for_one', children: [{ id: 'dyn', start: withInfo({ big: 'data' }) }] });
    const d = await startChild(h.inbox, dyn, { id: 'd1' });
    expect(d).toMatchObject({ info: { big: 'data' } });
    expect(shape(await h.which(dyn))).toEqual([[undefined, 'pid']]);
    expect(same((await h.which(dyn))[0]!.child, okPid(d))).toBe(true);
  });

  it('sup_start_map: getChildspec answers a child spec with every default filled in', async () => {
    const h = await s.setup();
    const child1 = h.child('child1');
    const child2 = h.child('child2', { shutdown: 'brutal_kill' });
    const child3 = h.child('child3', { type: 'supervisor' });
    const sup = await h.sup({ children: [child1, child2, child3] });
    expect(await getChildspec(h.inbox, sup, 'child1')).toEqual({
      ok: { id: 'child1', start: child1.start, restart: 'permanent', shutdown: 5000, type: 'worker', significant: false },
    });
    expect(await getChildspec(h.inbox, sup, 'child2')).toEqual({
      ok: { id: 'child2', start: child2.start, restart: 'permanent', shutdown: 'brutal_kill', type: 'worker', significant: false },
    });
    expect(await getChildspec(h.inbox, sup, 'child3')).toEqual({
      ok: { id: 'child3', start: child3.start, restart: 'permanent', shutdown: 'infinity', type: 'supervisor', significant: false },
    });
    expect(await getChildspec(h.inbox, sup, 'child4')).toEqual({ error: 'not_found' });
    // A static child is found by id only.
    expect(await getChildspec(h.inbox, sup, await h.pidOf(sup, 'child1'))).toEqual({ error: 'not_found' });
    // A start that is code, not data, is described (a reply must cross the bus).
    const fnSup = await h.sup({ children: [{ id: 'fn', start: async function startFn(ctx: ActorContext) { return ctx.spawnLink({ behaviour: CHILD, args: h.childArgs('fn'), options: { node: h.childNode.name } }); } }] });
    expect(await getChildspec(h.inbox, fnSup, 'fn')).toEqual({
      ok: { id: 'fn', start: { opaque: 'function startFn' }, restart: 'permanent', shutdown: 5000, type: 'worker', significant: false },
    });
  });

  it('sup_start_map_simple: getChildspec of a dynamic child (by pid) answers the template', async () => {
    const h = await s.setup();
    const template = h.child('tmpl', { restart: 'temporary' });
    const sup = await h.sup({ strategy: 'simple_one_for_one', children: [template] });
    const pids = [okPid(await startChild(h.inbox, sup, { id: 'd1' })), okPid(await startChild(h.inbox, sup, { id: 'd2' }))];
    const spec = { id: 'tmpl', start: template.start, restart: 'temporary', shutdown: 5000, type: 'worker', significant: false };
    for (const pid of pids) expect(await getChildspec(h.inbox, sup, pid)).toEqual({ ok: spec });
    expect(await getChildspec(h.inbox, sup, 'tmpl')).toEqual({ ok: spec });
    // A live process that is not a child.
    expect(await getChildspec(h.inbox, sup, h.self)).toEqual({ error: 'not_found' });
    expect(await getChildspec(h.inbox, sup, 'other')).toEqual({ error: 'not_found' });
  });

  it('already_started_outside_supervisor: a child whose registered name is taken fails with already_started', async () => {
    const h = await s.setup();
    const sup = await h.sup({ children: [] });
    const holder = okPid(await h.childNode.spawn({ behaviour: CHILD, args: h.childArgs('holder') }, { name: 'registered_name' }));
    const spec: ChildSpec = {
      id: 'child',
      start: { behaviour: CHILD, args: h.childArgs('child'), options: { node: h.childNode.name, name: 'registered_name' } },
      restart: 'transient',
    };
    const r = await startChild(h.inbox, sup, spec);
    expect(same((r as { error: { already_started: Pid } }).error?.already_started, holder)).toBe(true);
    expect(await h.which(sup)).toEqual([]);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });
}
