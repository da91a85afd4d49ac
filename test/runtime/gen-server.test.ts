import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallError, CodecError, Node, isDownMessage, isExitMessage, type Behaviour, type Pid } from '../../runtime/index.js';

let node: Node;
beforeEach(async () => {
  node = await Node.start({ name: 't', encodeLocal: true });
});
afterEach(async () => {
  await node.stop();
});

interface Counter {
  n: number;
  seen: number[];
}

/** A counter whose requests script what it does. */
const counter: Behaviour<number, Counter> = {
  init: (n) => ({ ok: { n, seen: [] } }),
  async handleCall(req: { op: string; ms?: number; reason?: unknown; v?: number }, from, s, ctx) {
    switch (req.op) {
      case 'get':
        return { reply: s.n, state: s };
      case 'slowAdd': {
        // Yields to the event loop: a second message must still wait for this one.
        await new Promise((r) => setImmediate(r));
        s.seen.push(req.v!);
        return { reply: s.seen.length, state: s };
      }
      case 'later':
        ctx.sendAfter(1, { replyTo: from });
        return { noreply: true, state: s };
      case 'stop':
        return { stop: req.reason, reply: 'bye', state: s };
      case 'throw':
        throw new Error('handler failed');
      case 'never':
        return new Promise(() => {});
      default:
        return { reply: 'unknown', state: s };
    }
  },
  handleCast: (m: number, s) => ({ state: { ...s, n: s.n + m } }),
  handleInfo(m: { replyTo?: never }, s, ctx) {
    if (m.replyTo) ctx.reply(m.replyTo, 'deferred');
    return { state: s };
  },
};

async function start(n = 0, name?: string): Promise<Pid> {
  const r = await node.spawn({ behaviour: counter, args: n }, { name });
  if (!('ok' in r)) throw new Error(`start failed: ${JSON.stringify(r)}`);
  return r.ok;
}

describe('gen_server', () => {
  it('answers calls and applies casts in order', async () => {
    const pid = await start(1);
    node.cast(pid, 2);
    node.cast(pid, 3);
    expect(await node.call(pid, { op: 'get' })).toBe(6);
  });

  it('handles one message at a time even when a handler awaits', async () => {
    const pid = await start();
    const replies = await Promise.all([1, 2, 3, 4].map((v) => node.call(pid, { op: 'slowAdd', v })));
    expect(replies).toEqual([1, 2, 3, 4]);
  });

  it('replies later with ctx.reply (noreply)', async () => {
    const pid = await start();
    expect(await node.call(pid, { op: 'later' })).toBe('deferred');
  });

  it('a call to a dead pid fails fast with noproc', async () => {
    const pid = await start();
    await node.stopProcess(pid);
    const err = (await node.call(pid, { op: 'get' }, { timeout: 60_000 }).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.kind).toBe('noproc');
  });

  it('a call to an unregistered name fails with noproc', async () => {
    const err = await node.call('nobody', { op: 'get' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'noproc' });
  });

  it('a callee that crashes during the call fails the call with its reason', async () => {
    const pid = await start();
    const err = await node.call(pid, { op: 'throw' }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'exit' });
    expect((err as CallError).reason).toBeInstanceOf(Error);
    expect(((err as CallError).reason as Error).message).toBe('handler failed');
    expect(node.isAlive(pid)).toBe(false);
  });

  it('a call times out with a typed error and the callee keeps running', async () => {
    const pid = await start();
    const err = await node.call(pid, { op: 'never' }, { timeout: 20 }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(node.isAlive(pid)).toBe(true);
    node.exit(pid, 'kill');
  });

  it('stop with a reply: the caller gets the reply and the actor exits with the reason', async () => {
    const pid = await start();
    const ib = node.inbox();
    const ref = ib.monitor(pid);
    expect(await node.call(pid, { op: 'stop', reason: 'normal' })).toBe('bye');
    const down = await ib.receive(isDownMessage);
    expect(down).toMatchObject({ ref, reason: 'normal' });
  });

  it('init results: stop is an error, ignore is ignore, a throw is an error', async () => {
    const b = (r: unknown): Behaviour => ({
      init: () => {
        if (r instanceof Error) throw r;
        return r as never;
      },
    });
    expect(await node.spawn({ behaviour: b({ stop: 'nope' }) })).toEqual({ error: 'nope' });
    expect(await node.spawn({ behaviour: b({ ignore: true }) })).toEqual({ ignore: true });
    const thrown = await node.spawn({ behaviour: b(new Error('init blew up')) });
    expect((thrown as { error: Error }).error.message).toBe('init blew up');
  });

  it('a failed init does not send an exit signal to the linked starter', async () => {
    const ib = node.inbox();
    const r = await ib.spawnLink({ behaviour: { init: () => ({ stop: 'bad' }) } });
    expect(r).toEqual({ error: 'bad' });
    await node.call(await start(), { op: 'get' }); // let any stray signal arrive
    expect(ib.dead).toBe(false);
  });

  it('names are unique on a node and freed at exit', async () => {
    const pid = await start(0, 'counter');
    expect(node.whereis('counter')).toEqual(pid);
    expect(await node.spawn({ behaviour: counter, args: 0 }, { name: 'counter' })).toEqual({ error: { already_started: pid } });
    await node.stopProcess('counter');
    expect(node.whereis('counter')).toBeUndefined();
    await start(0, 'counter');
  });

  it('an unsendable message fails at the sender when messages are encoded', async () => {
    const pid = await start();
    expect(() => node.cast(pid, { f: () => 1 })).toThrow(CodecError);
    expect(() => node.send(pid, new Map())).toThrow(CodecError);
  });

  it('binary data stays binary through the codec', async () => {
    const echo: Behaviour = { init: () => ({ ok: null }), handleCall: (req, _f, s) => ({ reply: req, state: s }) };
    const r = (await node.spawn({ behaviour: echo })) as { ok: Pid };
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const back = await node.call<Uint8Array>(r.ok, bytes);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...back]).toEqual([0, 1, 2, 255]);
  });
});

describe('links, trap_exit and monitors', () => {
  it('an abnormal exit kills a linked process that does not trap exits', async () => {
    const a = await start();
    const b = await start();
    const ib = node.inbox();
    ib.trapExit(true);
    ib.link(b);
    const linker: Behaviour = {
      init: (p: Pid, ctx) => {
        ctx.link(p);
        return { ok: null };
      },
    };
    const l = (await node.spawn({ behaviour: linker, args: a })) as { ok: Pid };
    ib.link(l.ok);
    node.exit(a, 'boom');
    const exit = await ib.receive(isExitMessage);
    expect(exit).toMatchObject({ from: l.ok, reason: 'boom' });
    expect(node.isAlive(b)).toBe(true);
  });

  it('a normal exit signal does not kill a process that does not trap exits', async () => {
    const a = await start();
    node.exit(a, 'normal');
    expect(await node.call(a, { op: 'get' })).toBe(0);
  });

  it('a trapping process gets EXIT messages instead of dying', async () => {
    const ib = node.inbox();
    ib.trapExit(true);
    const a = await start();
    ib.link(a);
    node.exit(a, 'crashed');
    expect(await ib.receive(isExitMessage)).toMatchObject({ from: a, reason: 'crashed' });
    expect(ib.dead).toBe(false);
  });

  it('kill cannot be trapped, and links see killed', async () => {
    const ib = node.inbox();
    ib.trapExit(true);
    const trapper: Behaviour = {
      init: (_a, ctx) => {
        ctx.trapExit(true);
        return { ok: null };
      },
      handleInfo: (_m, s) => ({ state: s }),
    };
    const t = (await node.spawn({ behaviour: trapper })) as { ok: Pid };
    ib.link(t.ok);
    node.exit(t.ok, 'kill');
    expect(await ib.receive(isExitMessage)).toMatchObject({ from: t.ok, reason: 'killed' });
  });

  it('a monitor delivers exactly one DOWN with the reason; demonitor delivers none', async () => {
    const ib = node.inbox();
    const a = await start();
    const ref1 = ib.monitor(a);
    const ref2 = ib.monitor(a);
    const ref3 = ib.monitor(a);
    ib.demonitor(ref3);
    node.exit(a, 'gone');
    const downs = [await ib.receive(isDownMessage), await ib.receive(isDownMessage)];
    expect(downs.map((d) => d.ref).sort()).toEqual([ref1, ref2].sort());
    expect(downs.every((d) => d.reason === 'gone')).toBe(true);
    await expect(ib.receive(isDownMessage, 30)).rejects.toThrow(/no matching message/);
  });

  it('monitoring or linking a dead process yields noproc', async () => {
    const a = await start();
    await node.stopProcess(a);
    const ib = node.inbox();
    ib.trapExit(true);
    const ref = ib.monitor(a);
    expect(await ib.receive(isDownMessage)).toMatchObject({ ref, reason: 'noproc' });
    ib.link(a);
    expect(await ib.receive(isExitMessage)).toMatchObject({ from: a, reason: 'noproc' });
  });

  it('a trapping gen_server terminates when its parent exits, running terminate', async () => {
    const ib = node.inbox();
    ib.trapExit(true);
    const events: unknown[] = [];
    const child: Behaviour = {
      init: (_a, ctx) => {
        ctx.trapExit(true);
        return { ok: null };
      },
      terminate: (reason) => {
        events.push(reason);
      },
    };
    const r = (await ib.spawnLink({ behaviour: child })) as { ok: Pid };
    const watcher = node.inbox();
    watcher.monitor(r.ok);
    ib.exit(r.ok, 'shutdown');
    expect(await watcher.receive(isDownMessage)).toMatchObject({ reason: 'shutdown' });
    expect(events).toEqual(['shutdown']);
  });

  it('an async handler abandoned by a kill has its AbortSignal fired and its result dropped', async () => {
    let aborted: unknown;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Behaviour<void, number> = {
      init: () => ({ ok: 0 }),
      async handleCall(_req, _from, s, ctx) {
        ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
        await gate;
        return { reply: 'late', state: s + 1 };
      },
    };
    const r = (await node.spawn({ behaviour: slow })) as { ok: Pid };
    const call = node.call(r.ok, 'go').catch((e) => e);
    await new Promise((res) => setImmediate(res));
    node.exit(r.ok, 'kill');
    const err = await call;
    expect(err).toMatchObject({ kind: 'exit', reason: 'killed' });
    expect(aborted).toBe('killed');
    release();
  });

  it('kill(pattern) kills actors by name prefix', async () => {
    await start(0, 'w/1');
    await start(0, 'w/2');
    const other = await start(0, 'x/1');
    const ib = node.inbox();
    ib.monitor('w/1');
    ib.monitor('w/2');
    expect(node.kill('w/')).toHaveLength(2);
    await ib.receive(isDownMessage);
    await ib.receive(isDownMessage);
    expect(node.isAlive(other)).toBe(true);
  });
});
