/**
 * The simulated bus keeps what the NATS transport guarantees (frames of a pair in order,
 * heartbeat membership) and does what a network does to it (a cut loses what is in flight and
 * makes each side see the other down after downAfterMs; a heal brings them back; a stalled node
 * falls silent), all on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { SimBus } from '../../runtime/sim/bus.js';
import { SimScheduler } from '../../runtime/sim/scheduler.js';
import { prng } from '../../runtime/prng.js';
import type { TransportHandlers } from '../../runtime/transport.js';

function world(seed = 1) {
  const sched = new SimScheduler();
  const random = prng(seed);
  const bus = new SimBus({ sched, random, heartbeatMs: 100, downAfterMs: 400, delay: () => 0.2 + random() * 5 });
  const events: string[] = [];
  const node = async (name: string, creation = 1) => {
    const got: string[] = [];
    const handlers: TransportHandlers = {
      frame: (b) => got.push(Buffer.from(b).toString()),
      nodeDown: (n, c) => events.push(`${sched.now().toFixed(0)} ${name} sees ${n}:${c} down`),
      nodeUp: (n, c) => events.push(`${sched.now().toFixed(0)} ${name} sees ${n}:${c} up`),
    };
    const t = bus.transport(`${name}:${creation}`);
    await t.start({ name, creation }, handlers);
    return { t, got };
  };
  return { sched, bus, events, node };
}

describe('the simulated bus', () => {
  it('delivers the frames of one pair in the order sent, after a delay, once both know each other', async () => {
    const w = world();
    const a = await w.node('a');
    const b = await w.node('b');
    expect(a.t.send('b', Buffer.from('too early'))).toBe(false); // not heard yet: noconnection
    await w.sched.run({ until: 50 });
    expect(a.t.members().sort()).toEqual(['a', 'b']);
    for (let i = 0; i < 50; i++) expect(a.t.send('b', Buffer.from(`m${i}`))).toBe(true);
    expect(b.got).toEqual([]); // nothing arrives before its delay
    await w.sched.run();
    expect(b.got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  it('a cut loses the frames in flight; each side sees the other down after downAfterMs; a heal brings them back', async () => {
    const w = world(2);
    const a = await w.node('a');
    const b = await w.node('b');
    await w.sched.run({ until: 50 });
    for (let i = 0; i < 10; i++) a.t.send('b', Buffer.from(`m${i}`));
    w.bus.cut('a', 'b');
    await w.sched.run({ until: 300 });
    expect(b.got).toEqual([]);
    expect(w.events.filter((e) => e.includes('down'))).toEqual([]); // not before downAfterMs
    await w.sched.run({ until: 600 });
    expect(w.events.filter((e) => e.includes('down')).map((e) => e.split(' ').slice(1).join(' ')).sort()).toEqual(['a sees b:1 down', 'b sees a:1 down']);
    expect(a.t.send('b', Buffer.from('while down'))).toBe(false);
    expect((a.t as unknown as { isDown(n: string): boolean }).isDown('b')).toBe(true);
    w.bus.heal('a', 'b');
    await w.sched.run({ until: 800 });
    expect(a.t.members().sort()).toEqual(['a', 'b']);
    a.t.send('b', Buffer.from('after'));
    await w.sched.run();
    expect(b.got).toEqual(['after']);
  });

  it('a stalled node is seen down by the others, and sees them again when it wakes', async () => {
    const w = world(3);
    const a = await w.node('a');
    await w.node('b');
    await w.sched.run({ until: 50 });
    w.bus.stall('a', 2000);
    await w.sched.run({ until: 1500 });
    expect(w.events.some((e) => e.endsWith('b sees a:1 down'))).toBe(true);
    await w.sched.run({ until: 2300 });
    expect(w.events.filter((e) => e.endsWith('b sees a:1 up'))).toHaveLength(2);
    expect(a.t.members().sort()).toEqual(['a', 'b']);
  });

  it('a node that restarts is a new incarnation: the old one goes down, the new one comes up', async () => {
    const w = world(4);
    await w.node('a');
    await w.node('b');
    await w.sched.run({ until: 50 });
    w.bus.detach('a', 1, false); // a crash: noticed from silence
    await w.node('a', 2);
    await w.sched.run({ until: 1000 });
    const b = w.events.filter((e) => e.includes('b sees a'));
    expect(b.map((e) => e.split(' ').slice(1).join(' '))).toEqual(['b sees a:1 up', 'b sees a:1 down', 'b sees a:2 up']);
  });
});
