/**
 * Message order per sender-receiver pair (Erlang's one guarantee): several senders — actors
 * on the receiver's node and on another node, and test inboxes — each play a random script
 * of sends, casts and calls (by pid or by name, with payloads up to 96 KiB, interleaved by
 * yields) to one receiver. Whatever the interleaving, the receiver sees each sender's
 * messages in the order sent, none lost, none duplicated, payloads intact; an actor sender
 * is linked to the receiver (which traps exits) and exits when done, and its EXIT comes
 * after all its messages (signals keep their order too).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReason, type Node, type Pid } from '../../runtime/index.js';
import { RECEIVER, SENDER, checksum, payload, play, registerFifo, type Logged, type Step, type Targets } from './fifo.js';
import { localBusPair, natsPair, oneNode, scaled, within, type Nodes, type Topology } from './topology.js';

const WAIT_MS = 15_000;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('send' as const, 'cast' as const, 'call' as const),
      size: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 1024, max: 96 * 1024 }) }),
      byName: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'yield' as const }) },
);

const scriptArb = fc.array(stepArb, { minLength: 1, maxLength: 40 });

interface Plan {
  /** Actor senders: the node each runs on (relative to the receiver) and its script. */
  actors: { remote: boolean; script: Step[] }[];
  /** Inbox senders (test-side processes): same. */
  inboxes: { remote: boolean; script: Step[] }[];
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  actors: fc.array(fc.record({ remote: fc.boolean(), script: scriptArb }), { minLength: 1, maxLength: 6 }),
  inboxes: fc.array(fc.record({ remote: fc.boolean(), script: scriptArb }), { maxLength: 3 }),
});

let runs = 0;

/** Runs a plan; returns the receiver's log. */
async function runPlan(nodes: Nodes, plan: Plan): Promise<{ log: Logged[]; sent: Map<string, Step[]>; exits: Map<string, string> }> {
  const rxNode = nodes.childNode;
  const other = nodes.supNode;
  const nodeFor = (remote: boolean): Node => (remote ? other : rxNode);
  const name = `fifo.rx.${++runs}`;
  const rx = await rxNode.spawn({ behaviour: RECEIVER }, { name });
  if (!('ok' in rx)) throw new Error(`receiver did not start: ${formatReason(rx)}`);
  const targetsFrom = (n: Node): Targets => ({ pid: rx.ok, name: n === rxNode ? name : { name, node: rxNode.name } });

  const sent = new Map<string, Step[]>();
  /** Pid key of each actor sender → its tag. */
  const exits = new Map<string, string>();
  const senders: Pid[] = [];
  try {
    const jobs: Promise<number>[] = [];
    for (const [i, a] of plan.actors.entries()) {
      const n = nodeFor(a.remote);
      const tag = `actor${i}@${n.name}`;
      // Started by name from the receiver's node: a remote start when the sender runs on the other node.
      const s = await rxNode.spawn({ behaviour: SENDER, options: { node: n.name } });
      if (!('ok' in s)) throw new Error(`sender did not start: ${formatReason(s)}`);
      senders.push(s.ok);
      exits.set(s.ok.key, tag);
      sent.set(tag, a.script);
      jobs.push(n.call<number>(s.ok, { op: 'run', tag, script: a.script, to: targetsFrom(n) }, { timeout: Infinity }));
    }
    for (const [i, b] of plan.inboxes.entries()) {
      const n = nodeFor(b.remote);
      const tag = `inbox${i}@${n.name}`;
      const ib = n.inbox();
      sent.set(tag, b.script);
      jobs.push(play(ib, tag, b.script, targetsFrom(n)).finally(() => ib.close()));
    }
    const counts = await within(Promise.all(jobs), WAIT_MS, 'senders to finish');
    const total = counts.reduce((a, b) => a + b, 0) + exits.size;
    const log = await within(other.call<Logged[]>(rx.ok, { op: 'await', n: total }, { timeout: Infinity }), WAIT_MS, `receiver to log ${total} messages`);
    return { log, sent, exits };
  } finally {
    for (const s of senders) rxNode.exit(s, 'kill');
    rxNode.exit(rx.ok, 'kill');
  }
}

function checkOrder(log: Logged[], sent: Map<string, Step[]>, exits: Map<string, string>): void {
  const seen = new Map<string, Logged[]>();
  for (const entry of log) {
    const tag = entry[2] === 'exit' ? (exits.get(entry[0]) ?? entry[0]) : entry[0];
    const list = seen.get(tag) ?? [];
    list.push(entry[2] === 'exit' ? [tag, -1, 'exit', 0, 0] : entry);
    seen.set(tag, list);
  }
  const exited = new Set(exits.values());
  for (const [tag, script] of sent) {
    const steps = script.filter((s): s is Exclude<Step, { kind: 'yield' }> => s.kind !== 'yield');
    const expected: Logged[] = steps.map((s, seq) => {
      const data = payload(tag, seq, s.size);
      return [tag, seq, s.kind, data.length, checksum(data)];
    });
    if (exited.has(tag)) expected.push([tag, -1, 'exit', 0, 0]);
    expect(seen.get(tag) ?? [], `messages from ${tag}, in arrival order`).toEqual(expected);
    seen.delete(tag);
  }
  expect([...seen.keys()], 'messages from nobody who sent').toEqual([]);
}

function fifoProperty(topology: Topology, numRuns: number): void {
  describe(`per-pair FIFO (${topology.name})`, () => {
    let nodes: Nodes;
    beforeAll(async () => {
      nodes = await topology.start();
      registerFifo(nodes.supNode);
      registerFifo(nodes.childNode);
    });
    afterAll(async () => {
      await nodes?.stop();
    });

    it('each sender’s messages arrive in the order sent, whole and once, its EXIT last', async () => {
      await fc.assert(
        fc.asyncProperty(planArb, async (plan) => {
          const { log, sent, exits } = await runPlan(nodes, plan);
          checkOrder(log, sent, exits);
        }),
        { numRuns: scaled(numRuns) },
      );
    });
  });
}

const nats = natsPair();
afterAll(() => nats.dispose());

fifoProperty(oneNode, 100);
fifoProperty(localBusPair, 100);
fifoProperty(nats, 40);
