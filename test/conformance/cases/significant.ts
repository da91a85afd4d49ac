/**
 * Significant children and auto_shutdown: the supervisor shuts itself down when a significant
 * child exits by itself (any_significant) or when all have (all_significant) — never when the
 * child was stopped through the supervisor or for a sibling's restart.
 */
import { expect, it } from 'vitest';
import { restartChild, startChild, type AutoShutdown, type ChildSpec, type Pid, type Strategy } from '../../../runtime/index.js';
import { okPid, same, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';
import { end, type How } from './restart-types.js';

const MODES: AutoShutdown[] = ['never', 'any_significant', 'all_significant'];

async function alive(h: Harness, sup: Pid, refs: string[] = []): Promise<void> {
  await h.sync(sup);
  await h.noExit(sup);
  for (const ref of refs) await h.noDown(ref);
}

/** Start `specs` in order; their pids and monitors. */
async function startAll(h: Harness, sup: Pid, specs: ChildSpec[]): Promise<{ pids: Pid[]; refs: string[] }> {
  const pids: Pid[] = [];
  for (const spec of specs) pids.push(okPid(await startChild(h.inbox, sup, spec)));
  return { pids, refs: pids.map((p) => h.watch(p)) };
}

/** The supervisor shut itself down: every remaining child got shutdown, the parent saw shutdown. */
async function autoShutDown(h: Harness, sup: Pid, refs: string[]): Promise<void> {
  for (const ref of refs) expect(await h.down(ref)).toBe('shutdown');
  expect(await h.exitOf(sup)).toBe('shutdown');
}

export function significantCases(s: Suite): void {
  it('nonsignificant_temporary: exits of a non-significant temporary child never shut the supervisor down', async () => {
    const h = await s.setup();
    const spec = h.child('child1', { restart: 'temporary', significant: false });
    for (const autoShutdown of MODES) {
      const sup = await h.sup({ autoShutdown, children: [] });
      for (const how of ['supervisor', 'kill', 'abnormal', 'normal'] as How[]) {
        await end(h, sup, okPid(await startChild(h.inbox, sup, spec)), 'child1', how);
        await alive(h, sup);
      }
      h.inbox.exit(sup, 'shutdown');
      expect(await h.exitOf(sup)).toBe('shutdown');
    }
  });

  it('nonsignificant_transient: exits of a non-significant transient child never shut the supervisor down', async () => {
    const h = await s.setup();
    const spec = h.child('child1', { restart: 'transient', significant: false });
    for (const autoShutdown of MODES) {
      const sup = await h.sup({ intensity: 5, autoShutdown, children: [] });
      await end(h, sup, okPid(await startChild(h.inbox, sup, spec)), 'child1', 'supervisor');
      await alive(h, sup);
      await end(h, sup, okPid(await restartChild(h.inbox, sup, 'child1')), 'child1', 'kill');
      await alive(h, sup);
      await end(h, sup, await h.pidOf(sup, 'child1'), 'child1', 'abnormal');
      await alive(h, sup);
      await end(h, sup, await h.pidOf(sup, 'child1'), 'child1', 'normal');
      await alive(h, sup);
      h.inbox.exit(sup, 'shutdown');
      expect(await h.exitOf(sup)).toBe('shutdown');
    }
  });

  it('significant_temporary: any exit of its own shuts down (any_significant); the last one (all_significant)', async () => {
    const h = await s.setup();
    const specs = [
      h.child('child1', { restart: 'temporary', significant: true }),
      h.child('child2', { restart: 'temporary', significant: true }),
      h.child('child3', { restart: 'temporary', significant: false }),
    ];
    const flags = { intensity: 5, autoShutdown: 'any_significant' as const };

    // terminateChild is not an exit of its own.
    const sup1 = await h.sup({ ...flags, children: [] });
    const a = await startAll(h, sup1, specs);
    await end(h, sup1, a.pids[0]!, 'child1', 'supervisor');
    await alive(h, sup1, a.refs.slice(1));
    // Killed: it did not ask for it, but it is gone: the supervisor shuts down.
    const c1 = okPid(await startChild(h.inbox, sup1, specs[0]!));
    await end(h, sup1, c1, 'child1', 'kill');
    await autoShutDown(h, sup1, a.refs.slice(1));

    for (const how of ['abnormal', 'normal'] as How[]) {
      const sup = await h.sup({ ...flags, children: [] });
      const b = await startAll(h, sup, specs);
      await end(h, sup, b.pids[0]!, 'child1', how);
      await autoShutDown(h, sup, b.refs.slice(1));
    }

    const sup4 = await h.sup({ intensity: 5, autoShutdown: 'all_significant', children: [] });
    const d = await startAll(h, sup4, specs);
    await end(h, sup4, d.pids[0]!, 'child1', 'normal');
    await alive(h, sup4, d.refs.slice(1));
    await end(h, sup4, d.pids[1]!, 'child2', 'normal');
    await autoShutDown(h, sup4, d.refs.slice(2));
  });

  it('significant_transient: only a normal exit of its own shuts down; crashes are restarted', async () => {
    const h = await s.setup();
    const specs = [
      h.child('child1', { restart: 'transient', significant: true }),
      h.child('child2', { restart: 'transient', significant: true }),
      h.child('child3', { restart: 'transient', significant: false }),
    ];
    const sup1 = await h.sup({ intensity: 5, autoShutdown: 'any_significant', children: [] });
    const a = await startAll(h, sup1, specs);
    await end(h, sup1, a.pids[0]!, 'child1', 'supervisor');
    await alive(h, sup1, a.refs.slice(1));
    okPid(await restartChild(h.inbox, sup1, 'child1'));
    await end(h, sup1, await h.pidOf(sup1, 'child1'), 'child1', 'kill');
    await alive(h, sup1, a.refs.slice(1));
    await end(h, sup1, await h.pidOf(sup1, 'child1'), 'child1', 'abnormal');
    await alive(h, sup1, a.refs.slice(1));
    await end(h, sup1, await h.pidOf(sup1, 'child1'), 'child1', 'normal');
    await autoShutDown(h, sup1, a.refs.slice(1));

    const sup2 = await h.sup({ intensity: 5, autoShutdown: 'all_significant', children: [] });
    const b = await startAll(h, sup2, specs);
    await end(h, sup2, b.pids[0]!, 'child1', 'normal');
    await alive(h, sup2, b.refs.slice(1));
    await end(h, sup2, b.pids[1]!, 'child2', 'normal');
    await autoShutDown(h, sup2, b.refs.slice(2));
  });

  it('significant_simple: simple_one_for_one refuses auto_shutdown', async () => {
    const h = await s.setup();
    const child = h.child('child1');
    for (const autoShutdown of ['any_significant', 'all_significant'] as const) {
      expect(await h.startSup({ strategy: 'simple_one_for_one', autoShutdown, children: [child] }), autoShutdown).toEqual({
        error: { supervisor_data: { kind: 'bad_combination', value: { strategy: 'simple_one_for_one', autoShutdown } } },
      });
    }
    const sup = await h.sup({ strategy: 'simple_one_for_one', autoShutdown: 'never', children: [child] });
    h.inbox.exit(sup, 'shutdown');
    expect(await h.exitOf(sup)).toBe('shutdown');
  });

  it('significant_bystander: significant children stopped for a sibling restart do not shut the supervisor down', async () => {
    const h = await s.setup();
    const specs = [
      h.child('child1', { restart: 'transient', significant: true }),
      h.child('child2', { restart: 'transient', significant: false }),
      h.child('child3', { restart: 'transient', significant: true }),
    ];
    const strategies: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
    for (const strategy of strategies) {
      for (const autoShutdown of ['any_significant', 'all_significant'] as const) {
        const label = `${strategy}/${autoShutdown}`;
        const sup = await h.sup({ strategy, intensity: 5, autoShutdown, children: [] });
        const { pids, refs } = await startAll(h, sup, specs);
        await end(h, sup, pids[1]!, 'child2', 'kill');
        const stopped = strategy === 'one_for_one' ? [] : strategy === 'one_for_all' ? [0, 2] : [2];
        for (const i of stopped) expect(await h.down(refs[i]!), label).toBe('shutdown');
        await alive(h, sup, [0, 2].filter((i) => !stopped.includes(i)).map((i) => refs[i]!));
        const which = await h.which(sup);
        expect(which.map((c) => c.id), label).toEqual(['child3', 'child2', 'child1']);
        expect(which.every((c) => typeof c.child === 'object'), label).toBe(true);
        expect(same(which[1]!.child, pids[1]), label).toBe(false);
        h.inbox.exit(sup, 'shutdown');
        expect(await h.exitOf(sup), label).toBe('shutdown');
      }
    }
  });

  it('significant_escalation: a significant child supervisor that shuts itself down shuts its parent down', async () => {
    const h = await s.setup();
    const childSup = (significant: boolean) =>
      h.childSup('sup1', { autoShutdown: 'any_significant', children: [] }, { restart: 'transient', significant });
    const worker = h.child('child1', { restart: 'transient', significant: true });

    const sup1 = await h.sup({ autoShutdown: 'any_significant', children: [] });
    const inner1 = okPid(await startChild(h.inbox, sup1, childSup(true)));
    const w1 = okPid(await startChild(h.inbox, inner1, worker));
    const innerRef1 = h.watch(inner1);
    await end(h, inner1, w1, 'child1', 'normal');
    expect(await h.down(innerRef1)).toBe('shutdown');
    expect(await h.exitOf(sup1)).toBe('shutdown');

    const sup2 = await h.sup({ autoShutdown: 'any_significant', children: [] });
    const inner2 = okPid(await startChild(h.inbox, sup2, childSup(false)));
    const w2 = okPid(await startChild(h.inbox, inner2, worker));
    const innerRef2 = h.watch(inner2);
    await end(h, inner2, w2, 'child1', 'normal');
    expect(await h.down(innerRef2)).toBe('shutdown');
    await alive(h, sup2);
    h.inbox.exit(sup2, 'shutdown');
    expect(await h.exitOf(sup2)).toBe('shutdown');
  });
}
