/** permanent / transient / temporary children against normal, shutdown and abnormal exits. */
import { expect, it } from 'vitest';
import { restartChild, startChild, terminateChild, type Pid, type Restart, type Strategy } from '../../../runtime/index.js';
import { counts, okPid, same, shape, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

/** How a case ends a child (supervisor_SUITE's terminate/4). */
export type How = 'normal' | 'shutdown' | 'shutdown_info' | 'abnormal' | 'kill' | 'supervisor';

const expectedReason: Record<How, unknown> = {
  normal: 'normal',
  shutdown: 'shutdown',
  shutdown_info: { shutdown: 'some_info' },
  abnormal: 'died',
  kill: 'killed',
  supervisor: 'shutdown',
};

/** End child `pid` (id `id` of `sup`) the way `how` says, and wait until it is gone. */
export async function end(h: Harness, sup: Pid, pid: Pid, id: string, how: How): Promise<void> {
  const ref = h.watch(pid);
  switch (how) {
    case 'normal':
      h.stopChild(pid, 'normal');
      break;
    case 'abnormal':
      h.stopChild(pid, 'died');
      break;
    case 'shutdown':
      h.inbox.exit(pid, 'shutdown');
      break;
    case 'shutdown_info':
      h.inbox.exit(pid, { shutdown: 'some_info' });
      break;
    case 'kill':
      h.kill(pid);
      break;
    case 'supervisor':
      expect(await terminateChild(h.inbox, sup, id)).toEqual({ ok: true });
      break;
  }
  expect(await h.down(ref)).toEqual(expectedReason[how]);
}

interface Row {
  restart: Restart;
  hows: How[];
  restarted: boolean;
}

const table: Record<string, Row> = {
  permanent_normal: { restart: 'permanent', hows: ['normal'], restarted: true },
  transient_normal: { restart: 'transient', hows: ['normal'], restarted: false },
  temporary_normal: { restart: 'temporary', hows: ['normal'], restarted: false },
  permanent_shutdown: { restart: 'permanent', hows: ['shutdown', 'shutdown_info'], restarted: true },
  transient_shutdown: { restart: 'transient', hows: ['shutdown', 'shutdown_info'], restarted: false },
  temporary_shutdown: { restart: 'temporary', hows: ['shutdown', 'shutdown_info'], restarted: false },
  permanent_abnormal: { restart: 'permanent', hows: ['abnormal', 'kill'], restarted: true },
  transient_abnormal: { restart: 'transient', hows: ['abnormal', 'kill'], restarted: true },
  temporary_abnormal: { restart: 'temporary', hows: ['abnormal', 'kill'], restarted: false },
};

export function restartTypeCases(s: Suite): void {
  for (const [name, { restart, hows, restarted }] of Object.entries(table)) {
    const verdict = restarted ? 'is restarted' : restart === 'temporary' ? 'is forgotten' : 'stays stopped';
    it(`${name}: a ${restart} child that exits ${hows.join(' / ')} ${verdict}`, async () => {
      const h = await s.setup();
      const sup = await h.sup({ intensity: 4, period: 3600, children: [] });
      const spec = h.child('child1', { restart, shutdown: 1000 });
      let cpid = okPid(await startChild(h.inbox, sup, spec));
      for (const how of hows) {
        await end(h, sup, cpid, 'child1', how);
        const which = await h.which(sup);
        if (restarted) {
          expect(shape(which)).toEqual([['child1', 'pid']]);
          expect(same(which[0]!.child, cpid)).toBe(false);
          expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
          cpid = which[0]!.child as Pid;
        } else if (restart === 'transient') {
          expect(shape(which)).toEqual([['child1', undefined]]);
          expect(await h.count(sup)).toEqual(counts(1, 0, 0, 1));
          cpid = okPid(await restartChild(h.inbox, sup, 'child1'));
        } else {
          expect(which).toEqual([]);
          expect(await h.count(sup)).toEqual(counts(0, 0, 0, 0));
          // The spec was not kept: the same spec starts again, it is not already_present.
          cpid = okPid(await startChild(h.inbox, sup, spec));
        }
      }
    });
  }

  for (const strategy of ['one_for_all', 'rest_for_one'] as const) {
    it(`temporary_bystander (${strategy}): a temporary sibling stopped for a restart is not restarted`, async () => {
      const h = await s.setup();
      const sup = await h.sup({ strategy, intensity: 2, period: 300, children: [] });
      const c1 = okPid(await startChild(h.inbox, sup, h.child('child1', { shutdown: 100 })));
      const c2 = okPid(await startChild(h.inbox, sup, h.child('child2', { restart: 'temporary', shutdown: 100 })));
      const ref2 = h.watch(c2);
      await end(h, sup, c1, 'child1', 'normal');
      expect(await h.down(ref2)).toBe('shutdown');
      expect(shape(await h.which(sup))).toEqual([['child1', 'pid']]);
      expect(await h.count(sup)).toEqual(counts(1, 1, 0, 1));
      await h.sync(sup);
      await h.noExit(sup);
    });
  }

  it('do_not_save_child_specs_for_temporary_children: only permanent and transient specs are kept', async () => {
    const h = await s.setup();
    const strategies: Strategy[] = ['one_for_all', 'one_for_one', 'rest_for_one'];
    const hows: How[] = ['kill', 'normal', 'abnormal', 'supervisor'];
    for (const strategy of strategies) {
      for (const how of hows) {
        const label = `${strategy}/${how}`;
        const sup = await h.sup({ strategy, intensity: 2, period: 3600, children: [] });
        const permanent = h.child('child1', { shutdown: 1000 });
        const transient = h.child('child2', { restart: 'transient', shutdown: 1000 });
        const temporary = h.child('child3', { restart: 'temporary', shutdown: 1000 });

        // permanent: restarted unless terminated through the supervisor
        await end(h, sup, okPid(await startChild(h.inbox, sup, permanent)), 'child1', how);
        if (how === 'supervisor') {
          expect(await startChild(h.inbox, sup, permanent), label).toEqual({ error: 'already_present' });
          okPid(await restartChild(h.inbox, sup, 'child1'));
        } else {
          expect(await startChild(h.inbox, sup, permanent), label).toMatchObject({ error: { already_started: expect.anything() } });
        }

        // transient: restarted only after an abnormal exit
        await end(h, sup, okPid(await startChild(h.inbox, sup, transient)), 'child2', how);
        if (how === 'supervisor' || how === 'normal') {
          expect(await startChild(h.inbox, sup, transient), label).toEqual({ error: 'already_present' });
          okPid(await restartChild(h.inbox, sup, 'child2'));
        } else {
          expect(await startChild(h.inbox, sup, transient), label).toMatchObject({ error: { already_started: expect.anything() } });
        }

        // temporary: never kept
        await end(h, sup, okPid(await startChild(h.inbox, sup, temporary)), 'child3', how);
        okPid(await startChild(h.inbox, sup, temporary));

        h.inbox.exit(sup, 'shutdown');
        expect(await h.exitOf(sup), label).toBe('shutdown');
      }
    }
  });
}
