/**
 * The runtime's supervisor against the pure model in supervisor.model.ts: random flags,
 * children and command sequences, the same commands run on both, the observed event sequence
 * compared with the predicted one after every command.
 *
 * Each command waits for quiescence through events, never by sleeping: a crash waits for the
 * crashed child's DOWN (sent after its EXIT to the supervisor), then a `whichChildren` call,
 * which the supervisor answers only after it has handled that EXIT; an operator call's reply
 * comes after the work it did. Every child event is sent before that reply (or before the
 * supervisor's own exit), so what the inbox holds then is the whole step.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { formatReason, SimulatedClock } from '../../runtime/index.js';
import { registerRecorder } from './children.js';
import { SupervisorModel, childId, type Command, type Event, type Restart, type Scenario, type Strategy } from './supervisor.model.js';
import { Run } from './supervisor.run.js';
import { scaled, type Nodes, type Topology } from './topology.js';

const MAX_CHILDREN = 5;

// --- scenarios --------------------------------------------------------------------------------

/** Commands on `n` children: indices 0..n-1 exist, later ones once a policy change adds them. */
function commandArb(n: number): fc.Arbitrary<Command> {
  const child = fc.integer({ min: 0, max: n + 2 });
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('crash' as const),
        child,
        kind: fc.constantFrom('abnormal' as const, 'normal' as const, 'shutdown' as const, 'kill' as const),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('terminateChild' as const), child }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('restartChild' as const), child }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteChild' as const), child }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('changePolicy' as const),
        strategy: fc.constantFrom<Strategy>('one_for_one', 'one_for_all', 'rest_for_one'),
        intensity: fc.integer({ min: 0, max: 4 }),
        period: fc.integer({ min: 1, max: 4 }),
        drop: fc.uniqueArray(fc.integer({ min: 0, max: MAX_CHILDREN + 1 }), { maxLength: 3 }),
        add: fc.array(fc.constantFrom<Restart>('permanent', 'transient', 'temporary'), { maxLength: 2 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('advance' as const),
        // Whole seconds and a millisecond either side, so restarts land on the window's edges.
        ms: fc.oneof(fc.constantFrom(0, 1, 999, 1000, 1001, 1999, 2000, 3000), fc.integer({ min: 0, max: 4000 })),
      }),
    },
  );
}

export function scenarioArb(strategy: Strategy, maxCommands = 30): fc.Arbitrary<Scenario> {
  const restarts = fc.array(fc.constantFrom<Restart>('permanent', 'transient', 'temporary'), { minLength: 1, maxLength: MAX_CHILDREN });
  return restarts.chain((rs) =>
    fc.record({
      strategy: fc.constant(strategy),
      intensity: fc.integer({ min: 0, max: 4 }),
      period: fc.integer({ min: 1, max: 4 }),
      restarts: fc.constant(rs),
      brutal: fc.subarray(rs.map((_, k) => k)),
      offsetMs: fc.integer({ min: 0, max: 999 }),
      commands: fc.array(commandArb(rs.length), { minLength: 1, maxLength: maxCommands, size: 'medium' }),
    }),
  );
}

// --- the runtime side (supervisor.run.ts) --------------------------------------------------------

const show = (e: Event): string => {
  switch (e.ev) {
    case 'start':
      return `start ${e.id}`;
    case 'stop':
      return `stop ${e.id} (${e.reason})`;
    case 'reply':
      return `${e.op}(${e.id}) -> ${e.result}`;
    case 'children':
      return `which [${e.list.join(' ')}]`;
    case 'exit':
      return `supervisor exit (${e.reason})`;
  }
};

const describeCommand = (c: Command): string => {
  switch (c.op) {
    case 'crash':
      return `crash ${childId(c.child)} (${c.kind})`;
    case 'advance':
      return `advance ${c.ms} ms`;
    case 'changePolicy':
      return `changePolicy(${c.strategy}, intensity ${c.intensity}, period ${c.period}, drop [${c.drop.join(' ')}], add [${c.add.join(' ')}])`;
    default:
      return `${c.op}(${childId(c.child)})`;
  }
};

/** Runs one scenario on the runtime and the model; throws at the first step that differs. */
export async function checkScenario(nodes: Nodes, clock: SimulatedClock, sc: Scenario): Promise<void> {
  // Start `offsetMs` past a whole second, so a scenario's second boundaries do not depend on
  // the runs before it (the clock is shared).
  await clock.advance(((1000 - (clock.now() % 1000)) % 1000) + sc.offsetMs);
  const model = new SupervisorModel(sc, clock.now());
  const { run, events: initEvents } = await Run.start(nodes, clock, sc);
  const trace: string[] = [];
  const header =
    `(${sc.strategy}, intensity ${sc.intensity}, period ${sc.period} s,` +
    ` children ${sc.restarts.map((r, k) => `${childId(k)}:${r}${sc.brutal?.includes(k) ? ':brutal_kill' : ''}`).join(' ')})`;
  const compare = (label: string, actual: Event[], expected: Event[]) => {
    const a = actual.map(show);
    const e = expected.map(show);
    if (JSON.stringify(a) === JSON.stringify(e)) {
      trace.push(`${label}: ${a.join(', ') || '-'}`);
      return;
    }
    throw new Error(
      [
        `runtime and model differ at "${label}" ${header}`,
        ...trace.map((t) => `  ${t}`),
        `  expected: ${e.join(', ') || '-'}`,
        `  actual:   ${a.join(', ') || '-'}`,
      ].join('\n'),
    );
  };
  const stepOf = async (label: string, p: Promise<Event[]>, expected: Event[]) => {
    let actual: Event[];
    try {
      actual = await p;
    } catch (e) {
      const msg = e instanceof Error ? e.message : formatReason(e);
      throw new Error(
        [`runtime failed at "${label}" ${header}: ${msg}`, ...trace.map((t) => `  ${t}`), `  expected: ${expected.map(show).join(', ') || '-'}`].join(
          '\n',
        ),
      );
    }
    compare(label, actual, expected);
  };
  try {
    compare('start', initEvents, model.init());
    for (const cmd of sc.commands) {
      const label = describeCommand(cmd);
      const expected = model.step(cmd);
      await stepOf(label, run.step(cmd), expected);
    }
  } finally {
    await run.close();
  }
}

// --- the suite ----------------------------------------------------------------------------------

export interface PropertyOptions {
  /** Scaled by the env var PROP_SCALE (default 1), for longer hunts. */
  numRuns: number;
  maxCommands?: number;
  /** Scenarios always run before the random ones (fast-check `examples`). */
  examples?: Scenario[];
}

export function supervisorProperty(topology: Topology, opts: PropertyOptions): void {
  describe(`supervisor = model (${topology.name})`, () => {
    const clock = new SimulatedClock();
    let nodes: Nodes;
    beforeAll(async () => {
      nodes = await topology.start({ clock });
      registerRecorder(nodes.childNode);
    });
    afterAll(async () => {
      await nodes?.stop();
    });

    for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one'] as const) {
      it(`${strategy}: event order, replies and escalation match the model`, async () => {
        const examples = (opts.examples ?? []).filter((e) => e.strategy === strategy).map((e) => [e] as [Scenario]);
        await fc.assert(
          fc.asyncProperty(scenarioArb(strategy, opts.maxCommands), (sc) => checkScenario(nodes, clock, sc)),
          { numRuns: scaled(opts.numRuns), examples },
        );
      });
    }
  });
}
