import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallError,
  LocalBus,
  NatsTransport,
  Node,
  encode,
  isDownMessage,
  isExitMessage,
  type Behaviour,
  type Pid,
} from '../../runtime/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const echo: Behaviour<unknown, number> = {
  init: () => ({ ok: 0 }),
  handleCall(req: { op: string; reason?: unknown } | unknown, _from, n) {
    const r = req as { op?: string; reason?: unknown };
    if (r?.op === 'crash') throw new Error('remote crash');
    if (r?.op === 'exit') return { stop: r.reason, state: n };
    return { reply: req, state: n + 1 };
  },
};

interface Pair {
  a: Node;
  b: Node;
  /** Make node b vanish as a crash would. */
  cutB(): Promise<void>;
  stop(): Promise<void>;
}

const buses: { name: string; pair(): Promise<Pair> }[] = [
  {
    name: 'in-process bus',
    async pair() {
      const bus = new LocalBus();
      const a = await Node.start({ name: 'a', bus });
      const b = await Node.start({ name: 'b', bus });
      return { a, b, cutB: async () => bus.disconnect('b'), stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
    },
  },
  {
    name: 'NATS',
    async pair() {
      const server: NatsServerHandle = await startNatsServer();
      const t = () => new NatsTransport({ servers: server.url, heartbeatMs: 100, downAfterMs: 400 });
      const bt = t();
      const a = await Node.start({ name: 'a', transport: t() });
      const b = await Node.start({ name: 'b', transport: bt });
      await a.connect('b');
      await b.connect('a');
      return {
        a,
        b,
        // Closing b's connection without a goodbye: a notices by missed heartbeats.
        cutB: async () => void (await bt.connection.close()),
        stop: async () => {
          await Promise.all([a.stop(), b.stop()]);
          await server.stop();
        },
      };
    },
  },
];

describe.each(buses)('two nodes on the $name', ({ pair }) => {
  let p: Pair;
  beforeAll(async () => {
    p = await pair();
    p.a.registerBehaviour('echo', echo);
    p.b.registerBehaviour('echo', echo);
  });
  afterAll(async () => {
    await p.stop();
  });

  async function remoteEcho(name?: string): Promise<Pid> {
    const r = await p.a.spawn({ behaviour: 'echo', options: { node: 'b', name } });
    if (!('ok' in r)) throw new Error(JSON.stringify(r));
    return r.ok;
  }

  it('starts an actor on the other node by behaviour name and calls it by pid and by {name, node}', async () => {
    const pid = await remoteEcho('echo1');
    expect(pid.node).toBe('b');
    expect(await p.a.call(pid, { hello: 'world', bin: new Uint8Array([7, 8]) })).toEqual({ hello: 'world', bin: new Uint8Array([7, 8]) });
    expect(await p.a.call({ name: 'echo1', node: 'b' }, 'x')).toBe('x');
  });

  it('a remote start of an unknown behaviour is an error, not a crash', async () => {
    expect(await p.a.spawn({ behaviour: 'nope', options: { node: 'b' } })).toEqual({ error: { undef: 'nope' } });
  });

  it('a call to a remote actor that crashes fails with its reason; links and monitors see it', async () => {
    const pid = await remoteEcho();
    const ib = p.a.inbox();
    ib.trapExit(true);
    ib.link(pid);
    const ref = ib.monitor(pid);
    const err = (await p.a.call(pid, { op: 'crash' }).catch((e: unknown) => e)) as CallError;
    expect(err).toBeInstanceOf(CallError);
    expect(err.kind).toBe('exit');
    expect((err.reason as Error).message).toBe('remote crash');
    expect(await ib.receive(isExitMessage)).toMatchObject({ from: pid });
    expect(await ib.receive(isDownMessage)).toMatchObject({ ref, pid });
  });

  it('a call to a remote pid that is gone fails with noproc', async () => {
    const pid = await remoteEcho();
    await p.a.call(pid, { op: 'exit', reason: 'normal' }).catch(() => undefined);
    const err = await p.a.call(pid, 'x').catch((e) => e);
    expect(err).toMatchObject({ kind: 'noproc' });
  });

  it('remote casts and sends keep their order per sender', async () => {
    const collector: Behaviour<unknown, unknown[]> = {
      init: () => ({ ok: [] }),
      handleCast: (m, s) => ({ state: [...s, m] }),
      handleInfo: (m, s) => ({ state: [...s, m] }),
      handleCall: (_r, _f, s) => ({ reply: s, state: s }),
    };
    p.b.registerBehaviour('collector', collector);
    const r = (await p.a.spawn({ behaviour: 'collector', options: { node: 'b' } })) as { ok: Pid };
    for (let i = 0; i < 200; i++) i % 2 ? p.a.cast(r.ok, i) : p.a.send(r.ok, i);
    expect(await p.a.call(r.ok, 'get')).toEqual([...Array(200).keys()]);
  });

  it('a malformed frame is dropped and the node keeps working', async () => {
    const pid = await remoteEcho();
    const transport = (p.a as unknown as { transport: { send(n: string, f: Uint8Array): boolean } }).transport;
    transport.send('b', new Uint8Array([0xc1, 0xff, 0x00]));
    transport.send('b', encode({ src: 'a', cr: 1, bogus: true }));
    transport.send('b', encode({ src: 'a', cr: 1, to: 'not a pid', sig: { k: 'msg' } }));
    expect(await p.a.call(pid, 'still here')).toBe('still here');
  });

  it('links and monitors to a node that disappears get noconnection; later calls fail fast', async () => {
    const pid = await remoteEcho();
    const ib = p.a.inbox();
    ib.trapExit(true);
    ib.link(pid);
    const ref = ib.monitor(pid);
    const pending = p.a.call(pid, { op: 'never' }, { timeout: 60_000 }).catch((e) => e);
    await p.cutB();
    expect(await ib.receive(isExitMessage, 5000)).toMatchObject({ from: pid, reason: 'noconnection' });
    expect(await ib.receive(isDownMessage, 5000)).toMatchObject({ ref, reason: 'noconnection' });
    // The call in flight (echo answers 'never' as an echo, so it may have been answered already).
    const r = await pending;
    if (r instanceof CallError) expect(r.kind).toBe('noconnection');
    expect(await p.a.call(pid, 'x').catch((e) => e)).toMatchObject({ kind: 'noconnection' });
  });
});
