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
import {
  CallError,
  SimulatedClock,
  changePolicy,
  deleteChild,
  formatReason,
  isDownMessage,
  isExitMessage,
  restartChild,
  supervisorSpec,
  terminateChild,
  whichChildren,
  type ChildInfo,
  type ChildSpec,
  type Inbox,
  type Pid,
} from '../../runtime/index.js';
import { RECORDER, isRecorderEvent, registerRecorder, type RecorderArgs, type RecorderCast } from './children.js';
import {
  CRASH_REASON,
  SupervisorModel,
  childId,
  nextPolicy,
  policyResult,
  type Command,
  type Event,
  type Restart,
  type Scenario,
  type Strategy,
} from './supervisor.model.js';
import { scaled, within, type Nodes, type Topology } from './topology.js';

/** Real-time guard on each wait: only a hang ever reaches it. */
const WAIT_MS = 5000;
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

// --- the runtime side ---------------------------------------------------------------------------

/** A child spec of the scenario's policy, with the model's view of it. */
type PolicySpec = ChildSpec & { restart: Restart; brutal: boolean };

/** A child spec without the model's bookkeeping (what the supervisor gets). */
const asSpec = ({ brutal: _brutal, ...spec }: PolicySpec): ChildSpec => spec;

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

/** One supervisor under test, started linked to an inbox that also observes its children. */
class Run {
  /** Pid of each running child, from the events seen. */
  private readonly pids = new Map<string, Pid>();
  /** Every child pid that ever started, to check none outlives the supervisor. */
  private readonly everStarted: Pid[] = [];
  private readonly held: unknown[] = [];
  alive = true;

  private constructor(
    private readonly nodes: Nodes,
    private readonly clock: SimulatedClock,
    private readonly ib: Inbox,
    readonly sup: Pid,
    /** The current policy's child specs; new ones get ids from `nextChild`. */
    private policy: PolicySpec[],
    private nextChild: number,
  ) {}

  private static spec(nodes: Nodes, ib: Inbox, id: string, restart: Restart, brutal: boolean): PolicySpec {
    return {
      id,
      restart,
      brutal,
      shutdown: brutal ? 'brutal_kill' : 1000,
      start: { behaviour: RECORDER, args: { id, observer: ib.self } satisfies RecorderArgs, options: { node: nodes.childNode.name } },
    };
  }

  static async start(nodes: Nodes, clock: SimulatedClock, sc: Scenario): Promise<{ run: Run; events: Event[] }> {
    const ib = nodes.supNode.inbox();
    ib.trapExit(true);
    const children = sc.restarts.map((restart, k) => Run.spec(nodes, ib, childId(k), restart, sc.brutal?.includes(k) ?? false));
    const r = await within(
      ib.spawnLink(supervisorSpec({ strategy: sc.strategy, intensity: sc.intensity, period: sc.period, children: children.map(asSpec) })),
      WAIT_MS,
      'supervisor start',
    );
    if (!('ok' in r)) {
      ib.close();
      throw new Error(`supervisor did not start: ${formatReason(r)}`);
    }
    const run = new Run(nodes, clock, ib, r.ok, children, children.length);
    return { run, events: await run.sync([]) };
  }

  async step(cmd: Command): Promise<Event[]> {
    if (cmd.op === 'advance') {
      await this.clock.advance(cmd.ms);
      return this.alive ? this.sync([]) : [];
    }
    if (!this.alive) return [];
    if (cmd.op === 'changePolicy') return this.changePolicy(cmd);
    const id = childId(cmd.child);
    switch (cmd.op) {
      case 'crash': {
        const pid = this.pids.get(id);
        if (!pid) return [];
        const reason = CRASH_REASON[cmd.kind];
        const ref = this.ib.monitor(pid);
        if (cmd.kind === 'kill') this.ib.exit(pid, 'kill');
        else this.ib.cast(pid, (cmd.kind === 'abnormal' ? { op: 'throw', reason } : { op: 'stop', reason }) satisfies RecorderCast);
        const down = await this.holdUntil((m) => isDownMessage(m) && m.ref === ref, `DOWN of ${id}`);
        if (!isDownMessage(down) || formatReason(down.reason) !== reason) {
          throw new Error(`${id} went down with ${formatReason((down as { reason?: unknown }).reason)}, not ${reason}`);
        }
        // A killed child said nothing: it is gone all the same.
        if (cmd.kind === 'kill' && this.pids.get(id)?.equals(pid)) this.pids.delete(id);
        return this.sync([]);
      }
      case 'terminateChild':
        return this.operator(cmd.op, id, terminateChild(this.ib, this.sup, id));
      case 'restartChild':
        return this.operator(cmd.op, id, restartChild(this.ib, this.sup, id));
      case 'deleteChild':
        return this.operator(cmd.op, id, deleteChild(this.ib, this.sup, id));
    }
  }

  private async changePolicy(cmd: Extract<Command, { op: 'changePolicy' }>): Promise<Event[]> {
    const next = nextPolicy(this.policy, cmd, this.nextChild, (m) => Run.spec(this.nodes, this.ib, m.id, m.restart, m.brutal));
    this.nextChild += cmd.add.length;
    const init = { strategy: cmd.strategy, intensity: cmd.intensity, period: cmd.period, children: next.map(asSpec) };
    const r = await within(changePolicy(this.ib, this.sup, init), WAIT_MS, 'changePolicy');
    const events = this.take();
    if (!('ok' in r)) throw new Error(`changePolicy refused: ${formatReason(r.error)}`);
    if (r.ok.failed.length > 0) throw new Error(`children failed to start: ${formatReason(r.ok.failed)}`);
    this.policy = next;
    events.push({ ev: 'reply', op: 'changePolicy', id: '-', result: policyResult(r.ok.terminated, r.ok.started) });
    return this.sync(events);
  }

  private async operator(
    op: 'terminateChild' | 'restartChild' | 'deleteChild',
    id: string,
    call: Promise<{ ok: unknown } | { error: unknown }>,
  ): Promise<Event[]> {
    const r = await within(call, WAIT_MS, `${op}(${id})`);
    const events = this.take();
    let result: string;
    if ('ok' in r) {
      result = 'ok';
      // restartChild answers the new pid: the one that reported its start.
      if (op === 'restartChild' && !this.pids.get(id)?.equals(r.ok)) result = `ok with a pid that did not start (${formatReason(r.ok)})`;
    } else result = typeof r.error === 'string' ? r.error : formatReason(r.error);
    events.push({ ev: 'reply', op, id, result });
    return this.sync(events);
  }

  /** Quiescence: whichChildren answered (listed), or the supervisor's EXIT arrived. */
  private async sync(events: Event[]): Promise<Event[]> {
    let which: ChildInfo[];
    try {
      which = await within(whichChildren(this.ib, this.sup), WAIT_MS, 'whichChildren');
    } catch (e) {
      if (!(e instanceof CallError)) throw e;
      const why = `EXIT of the supervisor (whichChildren failed: ${e.message})`;
      await this.holdUntil((m) => isExitMessage(m) && m.from.equals(this.sup), why, true);
      this.alive = false;
      events.push(...this.take());
      this.assertChildrenGone();
      return events;
    }
    events.push(...this.take());
    events.push({ ev: 'children', list: which.map((c) => this.showChild(c)) });
    // A child killed by its supervisor (brutal_kill) says nothing: forget it once it is not listed.
    for (const [id, pid] of this.pids) {
      if (!which.some((c) => c.id === id && pid.equals(c.child))) this.pids.delete(id);
    }
    return events;
  }

  private showChild(c: ChildInfo): string {
    const id = c.id ?? '?';
    if (c.child === undefined) return `${id}:stopped`;
    if (c.child === 'restarting') return `${id}:restarting`;
    return this.pids.get(id)?.equals(c.child) ? id : `${id}:unknown-pid`;
  }

  /**
   * Wait for a message (it may be held already: signals from different processes, such as a
   * child's DOWN and the supervisor's EXIT, can arrive in either order); keep what comes before
   * it, in order, for `take`.
   */
  private async holdUntil(pred: (m: unknown) => boolean, what: string, keep = false): Promise<unknown> {
    const i = this.held.findIndex(pred);
    if (i >= 0) {
      const m = this.held[i];
      if (!keep) this.held.splice(i, 1);
      return m;
    }
    for (;;) {
      const m = await within(this.ib.receive(() => true, Infinity), WAIT_MS, `waiting for ${what}`);
      if (pred(m)) {
        if (keep) this.held.push(m);
        return m;
      }
      this.held.push(m);
    }
  }

  /** Everything received so far, as model events. */
  private take(): Event[] {
    const msgs = [...this.held.splice(0), ...this.ib.flush()];
    const out: Event[] = [];
    for (const m of msgs) {
      if (isRecorderEvent(m)) {
        if (m.ev === 'started') {
          this.pids.set(m.id, m.pid);
          this.everStarted.push(m.pid);
          out.push({ ev: 'start', id: m.id });
        } else {
          const current = this.pids.get(m.id);
          out.push({ ev: 'stop', id: current?.equals(m.pid) ? m.id : `${m.id}(a stale pid)`, reason: formatReason(m.reason) });
          if (current?.equals(m.pid)) this.pids.delete(m.id);
        }
      } else if (isExitMessage(m) && m.from.equals(this.sup)) {
        out.push({ ev: 'exit', reason: formatReason(m.reason) });
      } else {
        throw new Error(`unexpected message in the observer: ${formatReason(m)}`);
      }
    }
    return out;
  }

  private assertChildrenGone(): void {
    const alive = this.everStarted.filter((p) => this.nodes.childNode.isAlive(p));
    if (alive.length > 0) throw new Error(`children outlived their supervisor: ${alive.map(String).join(', ')}`);
  }

  async close(): Promise<void> {
    try {
      if (this.alive) {
        this.ib.unlink(this.sup);
        await within(this.nodes.supNode.stopProcess(this.sup, 'shutdown'), WAIT_MS, 'stopping the supervisor').catch((e) => {
          this.nodes.supNode.exit(this.sup, 'kill');
          throw e;
        });
        this.alive = false;
        this.assertChildrenGone();
      }
    } finally {
      this.ib.close();
    }
  }
}

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
