/** gen_server and process basics the supervisor relies on: start results, calls, links, monitors, kill. */
import { expect, it } from 'vitest';
import { CallError, InboxError, isExitMessage, type Pid, type StartResult } from '../../../runtime/index.js';
import { CHILD, type ChildArgs } from '../children.js';
import { okPid, same, type Harness } from '../harness.js';
import type { Suite } from '../supervisor.suite.js';

/** gen_server:start of a child on the child node, from the sup node (unlinked). */
const spawnChild = (h: Harness, args: ChildArgs): Promise<StartResult> =>
  h.supNode.spawn({ behaviour: CHILD, args, options: { node: h.childNode.name } });

async function callError(p: Promise<unknown>): Promise<CallError> {
  const e = await p.then(
    (v) => new Error(`the call answered ${JSON.stringify(v)}`),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CallError);
  return e as CallError;
}

export function genServerCases(s: Suite): void {
  it('init results: ok gives a pid, ignore gives ignore, a refusal or a throw gives the error', async () => {
    const h = await s.setup();
    const pid = okPid(await spawnChild(h, h.childArgs('a')));
    expect(pid.node).toBe(h.childNode.name);
    expect(await h.inbox.call(pid, { op: 'ping' })).toEqual({ pong: 'a' });
    expect(await spawnChild(h, h.childArgs('b', { init: 'ignore' }))).toEqual({ ignore: true });
    expect(await spawnChild(h, h.childArgs('c', { init: { error: 'bad' } }))).toEqual({ error: 'bad' });
    expect(await spawnChild(h, h.childArgs('d', { init: { throw: 'boom' } }))).toEqual({ error: 'boom' });
  });

  it('a call to a process that is gone fails at once with noproc', async () => {
    const h = await s.setup();
    const pid = okPid(await spawnChild(h, h.childArgs('a')));
    const ref = h.watch(pid);
    h.stopChild(pid, 'normal');
    expect(await h.down(ref)).toBe('normal');
    expect((await callError(h.inbox.call(pid, { op: 'ping' }))).kind).toBe('noproc');
    expect((await callError(h.inbox.call('nobody', { op: 'ping' }))).kind).toBe('noproc');
    expect((await callError(h.inbox.call({ name: 'nobody', node: h.childNode.name }, { op: 'ping' }))).kind).toBe('noproc');
  });

  it('a callee that dies during the call fails it with kind exit and its exit reason', async () => {
    const h = await s.setup();
    const pid = okPid(await spawnChild(h, h.childArgs('a')));
    const e = await callError(h.inbox.call(pid, { op: 'stop', reason: 'died' }));
    expect(e.kind).toBe('exit');
    expect(e.reason).toBe('died');
  });

  it('a call not answered within its timeout fails with timeout; the callee lives on', async () => {
    const h = await s.setup({ simulated: true });
    const pid = okPid(await spawnChild(h, h.childArgs('a')));
    let settled = false;
    const p = h.inbox.call(pid, { op: 'noreply' }, { timeout: 1000 });
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await h.advance(999);
    expect(settled).toBe(false);
    await h.advance(1);
    expect((await callError(p)).kind).toBe('timeout');
    expect(await h.inbox.call(pid, { op: 'ping' })).toEqual({ pong: 'a' });
  });

  it('links: a trapping process gets the EXIT; a non-trapping one dies with the reason, but not of normal', async () => {
    const h = await s.setup();
    const a = okPid(await spawnChild(h, h.childArgs('a')));
    h.inbox.link(a);
    h.crash(a, 'died');
    const exit = await h.receive<{ from: Pid; reason: unknown }>((m) => isExitMessage(m) && m.from.equals(a), 'EXIT from a');
    expect(exit.reason).toBe('died');

    const other = h.supNode.inbox();
    const b = okPid(await spawnChild(h, h.childArgs('b')));
    const c = okPid(await spawnChild(h, h.childArgs('c')));
    other.link(b);
    other.link(c);
    const refB = h.watch(b);
    h.stopChild(b, 'normal');
    expect(await h.down(refB)).toBe('normal');
    await h.sync();
    expect(other.dead).toBe(false);
    const waiting = other.receive(() => false, 5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    h.crash(c, 'died');
    const e = await waiting;
    expect(e).toBeInstanceOf(InboxError);
    expect((e as InboxError).reason).toBe('died');
  });

  it('unlink: after unlinking, the exit of the other process is not seen', async () => {
    const h = await s.setup();
    const a = okPid(await spawnChild(h, h.childArgs('a')));
    h.inbox.link(a);
    h.inbox.unlink(a);
    const ref = h.watch(a);
    h.crash(a, 'died');
    expect(await h.down(ref)).toBe('died');
    await h.sync();
    await h.noExit(a);
  });

  it('monitors: one DOWN per monitor, none after demonitor, noproc for a process already gone', async () => {
    const h = await s.setup();
    const a = okPid(await spawnChild(h, h.childArgs('a')));
    const r1 = h.watch(a);
    const r2 = h.watch(a);
    const r3 = h.watch(a);
    h.inbox.demonitor(r3);
    h.crash(a, 'died');
    expect(await h.down(r1)).toBe('died');
    expect(await h.down(r2)).toBe('died');
    await h.sync();
    await h.noDown(r1);
    await h.noDown(r2);
    await h.noDown(r3);
    expect(await h.downOf(a)).toBe('noproc');
  });

  it('kill cannot be trapped: the process dies killed and runs no terminate; other exit signals are trapped', async () => {
    const h = await s.setup();
    const a = okPid(await spawnChild(h, h.childArgs('a', { trap: true })));
    h.inbox.link(a);
    h.inbox.exit(a, 'shutdown');
    const trapped = await h.event('exit-message', 'a');
    expect(trapped).toMatchObject({ reason: 'shutdown' });
    expect(same((trapped as { from: Pid }).from, h.self)).toBe(true);
    expect(await h.inbox.call(a, { op: 'ping' })).toEqual({ pong: 'a' });

    const ref = h.watch(a);
    h.kill(a);
    expect(await h.down(ref)).toBe('killed');
    const exit = await h.receive<{ reason: unknown }>((m) => isExitMessage(m) && m.from.equals(a), 'EXIT from a');
    expect(exit.reason).toBe('killed');
    await h.sync();
    await h.noEvent('terminate', 'a');
  });

  it('an exit signal with reason normal is ignored by a process that does not trap exits', async () => {
    const h = await s.setup();
    const a = okPid(await spawnChild(h, h.childArgs('a')));
    const ref = h.watch(a);
    h.inbox.exit(a, 'normal');
    await h.sync();
    await h.noDown(ref);
    expect(await h.inbox.call(a, { op: 'ping' })).toEqual({ pong: 'a' });
  });
}
