/** startChild / terminateChild / restartChild / deleteChild / whichChildren / countChildren. */
import { expect, it } from 'vitest';
import {
  CallError,
  countChildren,
  deleteChild,
  formatReason,
  restartChild,
  startChild,
  terminateChild,
  whichChildren,
  type ChildSpec,
  type Pid,
} from '../../../runtime/index.js';
import { CHILD } from '../children.js';
import { counts, okPid, same, shape } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

const errorOf = (r: unknown): string => {
  if (typeof r !== 'object' || r === null || !('error' in r)) throw new Error(`expected { error }, got ${formatReason(r)}`);
  return formatReason((r as { error: unknown }).error);
};

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

  it('sup_start_child_returns_error: a child that fails to start is not kept', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    expect(errorOf(await startChild(h.inbox, sup, h.child('child1', { init: { error: 'reason' } })))).toContain('reason');
    expect(errorOf(await startChild(h.inbox, sup, h.child('child2', { init: { throw: 'error_reason' } })))).toContain('error_reason');
    expect(await h.which(sup)).toEqual([]);
  });

  it('sup_start_child_returns_error_simple: simple_one_for_one returns the child start error as is', async () => {
    const h = await s.setup();
    const sup = await h.sup({ strategy: 'simple_one_for_one', intensity: 2, period: 3600, children: [h.child('child1')] });
    expect(await startChild(h.inbox, sup, { init: { error: 'reason' } })).toEqual({ error: 'reason' });
    expect(await startChild(h.inbox, sup, { init: { throw: 'error_reason' } })).toEqual({ error: 'error_reason' });
    expect(await h.which(sup)).toEqual([]);
  });

  it('sup_start_restart_child_returns_error: restartChild answers the start error and the child stays stopped', async () => {
    const h = await s.setup();
    await h.plan('child1', ['ok'], { error: 'function_clause' });
    const sup = await h.sup({ intensity: 2, period: 3600, children: [h.child('child1', { init: 'script' })] });
    expect(await terminateChild(h.inbox, sup, 'child1')).toEqual({ ok: true });
    expect(errorOf(await restartChild(h.inbox, sup, 'child1'))).toContain('function_clause');
    expect(shape(await h.which(sup))).toEqual([['child1', undefined]]);
  });

  it('child_specs: startChild refuses a bad child spec with an error naming the field', async () => {
    const h = await s.setup();
    const sup = await h.sup({ intensity: 2, period: 3600, children: [] });
    const good = h.child('child');
    const bad: [string, unknown][] = [
      ['child', 'hej'],
      ['start', { ...good, start: 'mfa' }],
      ['restart', { ...good, restart: 'prmanent' }],
      ['shutdown', { ...good, shutdown: -10 }],
      ['type', { ...good, type: 'wrker' }],
      ['significant', { ...good, significant: true }],
    ];
    for (const [field, spec] of bad) {
      expect(errorOf(await startChild(h.inbox, sup, spec as ChildSpec)), field).toContain(field);
    }
    expect(await h.which(sup)).toEqual([]);
    okPid(await startChild(h.inbox, sup, { ...good, shutdown: 'infinity', type: 'supervisor' }));
  });

  it('child_specs / sup_flags: a supervisor with bad flags or child specs does not start', async () => {
    const h = await s.setup();
    const c = h.child('c');
    const flags: Record<string, unknown>[] = [
      { strategy: 'none_for_one' },
      { intensity: -1 },
      { intensity: 'infinity' },
      { period: 0 },
      { period: 'infinity' },
      { autoShutdown: 'sometimes' },
    ];
    for (const f of flags) {
      expect(await h.startSup({ ...f, children: [] } as never), JSON.stringify(f)).toMatchObject({
        error: { supervisor_data: expect.anything() },
      });
    }
    const specs: [string, ChildSpec[], Record<string, unknown>?][] = [
      ['duplicate ids', [c, h.child('c')]],
      ['bad restart', [{ ...c, restart: 'prmanent' as never }]],
      ['simple_one_for_one without a child', [], { strategy: 'simple_one_for_one' }],
      ['simple_one_for_one with two children', [c, h.child('d')], { strategy: 'simple_one_for_one' }],
    ];
    for (const [what, children, f] of specs) {
      expect(await h.startSup({ ...f, children }), what).toMatchObject({ error: { start_spec: expect.anything() } });
    }
    // Unknown flags are ignored.
    const sup = await h.sup({ silly_flag: true, children: [] } as never);
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
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
