/**
 * A node answers a request from a node whose beat it has not heard yet (just started, or a
 * partition just healed): the frame shows that node is reachable, as an Erlang connection runs
 * both ways. Until its beat says it is a member it is given no work. The peer here is a bare
 * NATS connection speaking the bus's frames, so the test controls when its beats come.
 */
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, NatsTransport, Node, Pid, type Behaviour } from '../../runtime/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

let server: NatsServerHandle;
let peer: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  peer = await connect({ servers: server.url });
});
afterAll(async () => {
  await peer?.close();
  await server?.stop();
});

const echo: Behaviour<null> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, state) => ({ reply: { echo: req }, state }),
};

describe('a frame from a node not heard yet', () => {
  it('is answered (the reply reaches that node), and the sender becomes a member only with its beat', async () => {
    const a = await Node.start({ name: 'a', transport: new NatsTransport({ servers: server.url, heartbeatMs: 100, downAfterMs: 5000 }) });
    await a.spawn({ behaviour: echo, args: undefined }, { name: 'echo' });

    const replies: unknown[] = [];
    const got = new Promise<void>((resolve) => {
      peer.subscribe('aotp.node.y', {
        callback: (_e, m) => {
          replies.push(decode(m.data));
          resolve();
        },
      });
    });
    await peer.flush();
    const from = { pid: new Pid('y', 7, 1), ref: '#y.7.1' };
    peer.publish('aotp.node.a', encode({ src: 'y', cr: 7, name: 'echo', sig: { k: 'msg', env: { t: 'call', req: 'ping', from } } }));
    await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error('no reply reached y within 5 s')), 5000))]);
    expect(replies[0]).toMatchObject({ src: 'a', sig: { k: 'msg', env: { t: 'reply', ref: '#y.7.1', value: { echo: 'ping' } } } });
    // Reachable, not a member: no process is placed on it before its beat.
    expect(a.members()).not.toContain('y');

    peer.publish('aotp.hb', encode({ name: 'y', creation: 7, kind: 'beat', hb: 100 }));
    await peer.flush();
    const end = Date.now() + 5000;
    while (!a.members().includes('y') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(a.members()).toContain('y');
    await a.stop();
  });
});
