/**
 * A restart that fails is retried through the supervisor's own mailbox, so API calls are
 * answered in between (OTP-9549, supervisor_SUITE's hanging_restart_loop cases). Each failing
 * start here waits one simulated second before refusing, as OTP's supervisor_deadlock child
 * sleeps: the case moves the clock one attempt at a time, with its calls queued in between.
 */
import { expect, it } from 'vitest';
import { deleteChild, restartChild, startChild, terminateChild, type Pid } from '../../../runtime/index.js';
import type { Directive } from '../children.js';
import { counts, okPid, same, shape, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

const SLOW_FAIL: Directive = { after: 1000, then: { error: 'error' } };

/** Let the attempt in progress (holding the supervisor) fail; then the queued calls are answered. */
async function failAttempt(h: Harness, key: string): Promise<void> {
  await h.event('waiting', key);
  await h.advance(1000);
}

/** The parent stops the supervisor while it is busy retrying: it still exits shutdown. */
async function stopDuringRetries(h: Harness, sup: Pid, key: string): Promise<void> {
  await failAttempt(h, key);
  await h.event('waiting', key);
  h.inbox.exit(sup, 'shutdown');
  await h.advance(1000);
  expect(await h.exitOf(sup)).toBe('shutdown');
}

export function restartingCases(s: Suite): void {
  it('hanging_restart_loop: restarting shows in which_children, blocks restart/delete, and terminateChild cancels it', async () => {
    const h = await s.setup({ simulated: true });
    await h.plan('child1', ['ok'], SLOW_FAIL);
    const sup = await h.sup({ strategy: 'one_for_one', intensity: 8, period: 10, children: [] });
    const spec = h.child('child1', { init: 'script', shutdown: 'brutal_kill' });
    expect(await h.crashed(okPid(await startChild(h.inbox, sup, spec)), 'error')).toBe('error');

    await h.event('waiting', 'child1');
    const calls = [
      startChild(h.inbox, sup, spec),
      restartChild(h.inbox, sup, 'child1'),
      deleteChild(h.inbox, sup, 'child1'),
      h.which(sup),
      h.count(sup),
    ] as const;
    await h.advance(1000);
    const [started, restarted, deleted, which, count] = await Promise.all(calls);
    expect(started).toEqual({ error: 'already_present' });
    expect(restarted).toEqual({ error: 'restarting' });
    expect(deleted).toEqual({ error: 'restarting' });
    expect(shape(which)).toEqual([['child1', 'restarting']]);
    expect(count).toEqual(counts(1, 0, 0, 1));

    await h.event('waiting', 'child1');
    const terminated = terminateChild(h.inbox, sup, 'child1');
    await h.advance(1000);
    expect(await terminated).toEqual({ ok: true });
    expect(shape(await h.which(sup))).toEqual([['child1', undefined]]);
    // The first start and two failed restarts; no retry after terminateChild.
    expect(await h.attempts('child1')).toBe(3);

    await h.plan('child1', [], 'ok');
    const c2 = okPid(await restartChild(h.inbox, sup, 'child1'));
    await h.plan('child1', [], SLOW_FAIL);
    expect(await h.crashed(c2, 'error')).toBe('error');
    await stopDuringRetries(h, sup, 'child1');
  });

  it('hanging_restart_loop_rest_for_one: the failed child is restarting, the later ones wait stopped', async () => {
    const h = await s.setup({ simulated: true });
    await h.plan('child2', ['ok'], SLOW_FAIL);
    const sup = await h.sup({ strategy: 'rest_for_one', intensity: 8, period: 10, children: [] });
    const spec2 = h.child('child2', { init: 'script', shutdown: 'brutal_kill' });
    const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 'brutal_kill' })));
    const c2 = okPid(await startChild(h.inbox, sup, spec2));
    okPid(await startChild(h.inbox, sup, h.child('child3', { shutdown: 'brutal_kill' })));
    expect(await h.crashed(c2, 'error')).toBe('error');

    await h.event('waiting', 'child2');
    const calls = [
      startChild(h.inbox, sup, spec2),
      restartChild(h.inbox, sup, 'child2'),
      deleteChild(h.inbox, sup, 'child2'),
      h.which(sup),
      h.count(sup),
    ] as const;
    await h.advance(1000);
    const [started, restarted, deleted, which, count] = await Promise.all(calls);
    expect(started).toEqual({ error: 'already_present' });
    expect(restarted).toEqual({ error: 'restarting' });
    expect(deleted).toEqual({ error: 'restarting' });
    expect(shape(which)).toEqual([
      ['child3', undefined],
      ['child2', 'restarting'],
      ['child1', 'pid'],
    ]);
    expect(same(which[2]!.child, c1)).toBe(true);
    expect(count).toEqual(counts(3, 1, 0, 3));

    await h.event('waiting', 'child2');
    const terminated = terminateChild(h.inbox, sup, 'child2');
    await h.advance(1000);
    expect(await terminated).toEqual({ ok: true });
    expect(shape(await h.which(sup))).toEqual([
      ['child3', undefined],
      ['child2', undefined],
      ['child1', 'pid'],
    ]);

    await h.plan('child2', [], 'ok');
    const c22 = okPid(await restartChild(h.inbox, sup, 'child2'));
    await h.plan('child2', [], SLOW_FAIL);
    expect(await h.crashed(c22, 'error')).toBe('error');
    await stopDuringRetries(h, sup, 'child2');
  });

  it('hanging_restart_loop_simple: a restarting dynamic child is listed, and terminated by its old pid', async () => {
    const h = await s.setup({ simulated: true });
    await h.plan('d1', ['ok'], SLOW_FAIL);
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 8,
      period: 10,
      children: [h.child('child1', { shutdown: 'brutal_kill' })],
    });
    const c1 = okPid(await startChild(h.inbox, sup, { id: 'd1', init: 'script' }));
    expect(await h.crashed(c1, 'error')).toBe('error');

    await h.event('waiting', 'd1');
    const calls = [restartChild(h.inbox, sup, 'child1'), deleteChild(h.inbox, sup, 'child1'), h.which(sup), h.count(sup)] as const;
    await h.advance(1000);
    const [restarted, deleted, which, count] = await Promise.all(calls);
    expect(restarted).toEqual({ error: 'simple_one_for_one' });
    expect(deleted).toEqual({ error: 'simple_one_for_one' });
    expect(shape(which)).toEqual([[undefined, 'restarting']]);
    expect(count).toEqual(counts(1, 0, 0, 1));

    await h.event('waiting', 'd1');
    const terminated = terminateChild(h.inbox, sup, c1);
    await h.advance(1000);
    expect(await terminated).toEqual({ ok: true });
    expect(await h.which(sup)).toEqual([]);

    await h.plan('d1', [], 'ok');
    const c2 = okPid(await startChild(h.inbox, sup, { id: 'd1', init: 'script' }));
    await h.plan('d1', [], SLOW_FAIL);
    expect(await h.crashed(c2, 'error')).toBe('error');
    await stopDuringRetries(h, sup, 'd1');
  });

  it('count_restarting_children: restarting dynamic children are specs but not active', async () => {
    const h = await s.setup({ simulated: true });
    const sup = await h.sup({
      strategy: 'simple_one_for_one',
      intensity: 20,
      period: 10,
      children: [h.child('child', { shutdown: 'brutal_kill' })],
    });
    expect(await h.count(sup)).toEqual(counts(1, 0, 0, 0));
    const pids: Pid[] = [];
    for (const id of ['d1', 'd2', 'd3']) {
      pids.push(okPid(await startChild(h.inbox, sup, { id, init: 'script' })));
      await h.started(id);
      expect(await h.count(sup)).toEqual(counts(1, pids.length, 0, pids.length));
    }
    await h.plan('d1', [], SLOW_FAIL);
    await h.plan('d2', [], SLOW_FAIL);
    expect(await h.crashed(pids[0]!, 'error')).toBe('error');
    expect(await h.crashed(pids[1]!, 'error')).toBe('error');
    await failAttempt(h, 'd1'); // d1: first restart fails; its retry queues behind d2's exit
    await h.event('waiting', 'd2'); // d2: first restart in progress
    const count = h.count(sup);
    await h.advance(1000); // d2 fails; d1's second restart starts
    await h.event('waiting', 'd1');
    await h.plan('d1', [], 'ok');
    await h.plan('d2', [], 'ok');
    await h.advance(1000); // d1 fails once more; the count is answered, then both restart
    expect(await count).toEqual(counts(1, 1, 0, 3));
    await h.started('d2');
    await h.started('d1');
    expect(await h.count(sup)).toEqual(counts(1, 3, 0, 3));

    const running = (await h.which(sup)).map((c) => c.child as Pid);
    expect(running).toHaveLength(3);
    for (let i = 0; i < running.length; i++) {
      expect(await terminateChild(h.inbox, sup, running[i]!)).toEqual({ ok: true });
      expect(await h.count(sup)).toEqual(counts(1, 2 - i, 0, 2 - i));
    }
  });
}
