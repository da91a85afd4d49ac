/**
 * The runtime side of the supervisor property: one supervisor under test, started linked to an
 * inbox that also observes its children, driven by the model's commands and reporting what it
 * saw as model events.
 */
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
import { RECORDER, isRecorderEvent, type RecorderArgs, type RecorderCast } from './children.js';
import { CRASH_REASON, childId, nextPolicy, policyResult, type Command, type Event, type Restart, type Scenario } from './supervisor.model.js';
import { within, type Nodes } from './topology.js';

/** Real-time guard on each wait: only a hang ever reaches it. */
export const WAIT_MS = 5000;

/** A child spec of the scenario's policy, with the model's view of it. */
type PolicySpec = ChildSpec & { restart: Restart; brutal: boolean };

/** A child spec without the model's bookkeeping (what the supervisor gets). */
const asSpec = ({ brutal: _brutal, ...spec }: PolicySpec): ChildSpec => spec;

/** One supervisor under test, started linked to an inbox that also observes its children. */
export class Run {
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
