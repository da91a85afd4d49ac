/**
 * rest_for_one restarts: the failed child is already dead, so the supervisor must not try to shut
 * it down again when it stops the children started after it (OTP's supervisor.erl marks its pid
 * undefined first: split_child in restart/3). Observed through the node's logger (a shutdown
 * attempt on a dead pid ends in "shutdown error" with reason noproc) and the children's events.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBus, Node, startChild, type Pid } from '../../runtime/index.js';
import { Harness, okPid, same } from '../conformance/harness.js';
import type { Topology } from '../conformance/topology.js';

interface LogLine {
  level: number;
  msg: string;
  child?: string;
  reason?: string;
}

/** A logger that keeps every line (pino writes synchronously to a plain stream). */
function capturingLogger(lines: LogLine[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
}

let serial = 0;
function topologies(lines: LogLine[]): Topology[] {
  return [
    {
      name: 'local bus, two nodes',
      async start(opts) {
        const bus = new LocalBus();
        const n = ++serial;
        const logger = capturingLogger(lines);
        const supNode = await Node.start({ name: `rfo-sup${n}`, bus, clock: opts?.clock, encodeLocal: true, logger });
        const childNode = await Node.start({ name: `rfo-child${n}`, bus, clock: opts?.clock, encodeLocal: true, logger });
        return {
          supNode,
          childNode,
          async stop() {
            await supNode.stop(1000);
            await childNode.stop(1000);
          },
        };
      },
    },
    {
      name: 'local, one node',
      async start(opts) {
        const node = await Node.start({ name: `rfo-solo${++serial}`, clock: opts?.clock, encodeLocal: true, logger: capturingLogger(lines) });
        return { supNode: node, childNode: node, stop: () => node.stop(1000) };
      },
    },
  ];
}

const lines: LogLine[] = [];
const live: Harness[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((h) => h.stop()));
  lines.length = 0;
});

for (const topology of topologies(lines)) {
  describe(`rest_for_one restart (${topology.name})`, { timeout: 10_000 }, () => {
    it('stops the younger children newest first and makes no shutdown attempt on the failed child', async () => {
      const h = await Harness.start(topology);
      live.push(h);
      const sup = await h.sup({ strategy: 'rest_for_one', intensity: 5, period: 3600, children: [] });
      const ids = ['child1', 'child2', 'child3', 'child4'];
      const pids: Pid[] = [];
      for (const id of ids) pids.push(okPid(await startChild(h.inbox, sup, h.child(id, { trap: true, shutdown: 1000 }))));
      for (const id of ids) await h.started(id);

      h.crash(pids[1]!, 'died');
      expect(await h.terminated('child2')).toBe('died');
      // The younger children stop in reverse start order, then the group starts again in order.
      expect(await h.eventFrom('terminate', ['child1', 'child3', 'child4'])).toMatchObject({ id: 'child4', reason: 'shutdown' });
      expect(await h.eventFrom('terminate', ['child1', 'child3', 'child4'])).toMatchObject({ id: 'child3', reason: 'shutdown' });
      expect((await h.eventFrom('started', ['child1', 'child2', 'child3', 'child4'])).id).toBe('child2');
      expect((await h.eventFrom('started', ['child1', 'child2', 'child3', 'child4'])).id).toBe('child3');
      expect((await h.eventFrom('started', ['child1', 'child2', 'child3', 'child4'])).id).toBe('child4');
      await h.sync(sup);
      await h.noEvent('terminate', 'child1');

      const which = await h.which(sup);
      expect(which.map((c) => c.id)).toEqual(['child4', 'child3', 'child2', 'child1']);
      expect(same(which[3]!.child, pids[0])).toBe(true);

      // Only the crash itself is logged for child2: no shutdown of its dead pid (noproc).
      const shutdownErrors = lines.filter((l) => l.msg === 'shutdown error');
      expect(shutdownErrors).toEqual([]);
      expect(lines.filter((l) => l.child === 'child2').map((l) => l.msg)).toEqual(['child terminated']);
    });
  });
}
