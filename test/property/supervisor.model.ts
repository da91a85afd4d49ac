/**
 * A pure model of a static OTP supervisor (one_for_one, one_for_all, rest_for_one), written
 * from lib/stdlib/src/supervisor.erl, against which the runtime's supervisor is checked.
 *
 * The model knows nothing of the runtime. It takes the supervisor's flags, its children and a
 * sequence of commands, and predicts what an observer sees: which children start and stop, in
 * which order and with which reason, what each operator call answers, what `whichChildren`
 * lists after each command, and whether the supervisor gives up (exits `shutdown`).
 *
 * Every child traps exits and reports `terminate(reason)`, so a child stopped by its
 * supervisor is observable too (unless it is killed: by a `kill` crash, or by its supervisor
 * when its shutdown is `brutal_kill`). The rules encoded here:
 * - children start in spec order and stop newest first (reverse start order);
 * - a restart is counted at `Math.floor(now / 1000)`; the window keeps the restarts at times
 *   >= now - period; when the window then holds more than `intensity` restarts, the restart is
 *   not tried: the failed child is forgotten (its pid cleared), the others are stopped newest
 *   first, and the supervisor exits `shutdown`;
 * - permanent children are always restarted, transient ones only after an abnormal exit
 *   (`killed` is abnormal),
 *   temporary ones never, and a temporary child is forgotten as soon as it is stopped;
 * - one_for_one restarts the failed child; one_for_all stops every other running child
 *   (newest first) and starts all of them (those stopped by terminateChild included) in start
 *   order; rest_for_one does the same with the failed child and the children started after it;
 * - terminateChild keeps the spec (forgets a temporary child), restartChild starts a stopped
 *   child, deleteChild removes a stopped child's spec; `running` / `not_found` otherwise;
 * - changePolicy (a release upgrade of the supervisor) drops some children of the current
 *   policy and appends new ones: the dropped children still there are stopped newest first and
 *   forgotten, the new flags apply from the next restart on (the restarts made so far still
 *   count), the children take the new policy's order, and those of the new policy not there
 *   (new ones, and ones deleted or forgotten before) are started in that order; the children
 *   it keeps are not touched.
 */

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
export type Restart = 'permanent' | 'transient' | 'temporary';
/**
 * How a crashed child exits: an abnormal reason, one of the two normal ones, or killed by an
 * untrappable `kill` exit signal (abnormal, and its terminate does not run).
 */
export type CrashKind = 'abnormal' | 'normal' | 'shutdown' | 'kill';

/** The exit reason a crash of each kind produces (what the child's terminate records, and its DOWN). */
export const CRASH_REASON: Record<CrashKind, string> = { abnormal: 'boom', normal: 'normal', shutdown: 'shutdown', kill: 'killed' };

export type Command =
  | { op: 'crash'; child: number; kind: CrashKind }
  | { op: 'terminateChild'; child: number }
  | { op: 'restartChild'; child: number }
  | { op: 'deleteChild'; child: number }
  /** Move the supervisor node's clock forward by `ms`. */
  | { op: 'advance'; ms: number }
  /**
   * A live policy change: new flags; the current policy's specs at indices `drop` removed, and
   * new children (restart types `add`) appended, with the next free ids.
   */
  | { op: 'changePolicy'; strategy: Strategy; intensity: number; period: number; drop: number[]; add: Restart[] };

export interface Scenario {
  strategy: Strategy;
  intensity: number;
  /** Seconds. */
  period: number;
  /** One entry per child, in spec (start) order; child k has id `c<k>`. */
  restarts: Restart[];
  /**
   * Children whose shutdown is `brutal_kill` (by index; default none): stopped by their
   * supervisor they are killed, so their terminate does not run and they record nothing.
   */
  brutal?: number[];
  /** Milliseconds the clock moves before the supervisor starts (varies the second boundaries). */
  offsetMs: number;
  commands: Command[];
}

/** What the observer sees, in order. */
export type Event =
  | { ev: 'start'; id: string }
  | { ev: 'stop'; id: string; reason: string }
  | { ev: 'reply'; op: 'terminateChild' | 'restartChild' | 'deleteChild' | 'changePolicy'; id: string; result: string }
  /** whichChildren after a command: newest first, `id` or `id:stopped`. */
  | { ev: 'children'; list: string[] }
  | { ev: 'exit'; reason: string };

interface ModelSpec {
  id: string;
  restart: Restart;
  brutal: boolean;
}

interface ModelChild extends ModelSpec {
  running: boolean;
}

/** The current policy's child specs after `cmd` (new ones numbered from `next`). */
export function nextPolicy<T extends ModelSpec>(policy: T[], cmd: Extract<Command, { op: 'changePolicy' }>, next: number, make: (s: ModelSpec) => T): T[] {
  return [...policy.filter((_, i) => !cmd.drop.includes(i)), ...cmd.add.map((restart, j) => make({ id: childId(next + j), restart, brutal: false }))];
}

export const childId = (k: number): string => `c${k}`;

export class SupervisorModel {
  /** Start order: oldest first. */
  private children: ModelChild[];
  /** The child specs of the current policy, in its order. */
  private policy: ModelSpec[];
  /** Restart times in whole seconds, newest first. */
  private restartTimes: number[] = [];
  private nowMs: number;
  private strategy: Strategy;
  private intensity: number;
  private period: number;
  /** The number of the next child a policy adds. */
  private nextChild: number;
  alive = true;

  constructor(scenario: Pick<Scenario, 'strategy' | 'intensity' | 'period' | 'restarts' | 'brutal'>, startMs: number) {
    this.nowMs = startMs;
    ({ strategy: this.strategy, intensity: this.intensity, period: this.period } = scenario);
    this.policy = scenario.restarts.map((restart, k) => ({ id: childId(k), restart, brutal: scenario.brutal?.includes(k) ?? false }));
    this.children = this.policy.map((s) => ({ ...s, running: false }));
    this.nextChild = scenario.restarts.length;
  }

  /** The supervisor's init: every child started in spec order. */
  init(): Event[] {
    const out: Event[] = [];
    for (const c of this.children) this.start(c, out);
    out.push(this.which());
    return out;
  }

  /** Events one command produces, up to quiescence (whichChildren last while alive). */
  step(cmd: Command): Event[] {
    if (cmd.op === 'advance') {
      this.nowMs += cmd.ms;
      return this.alive ? [this.which()] : [];
    }
    if (!this.alive) return [];
    const out: Event[] = [];
    if (cmd.op === 'changePolicy') {
      this.changePolicy(cmd, out);
      out.push(this.which());
      return out;
    }
    const id = childId(cmd.child);
    const child = this.children.find((c) => c.id === id);
    switch (cmd.op) {
      case 'crash':
        if (!child?.running) return []; // nothing to crash: the command is skipped
        this.crash(child, cmd.kind, out);
        break;
      case 'terminateChild':
        if (!child) out.push(reply(cmd.op, id, 'not_found'));
        else {
          if (child.running) this.shutdown(child, out);
          if (child.restart === 'temporary') this.forget(child);
          out.push(reply(cmd.op, id, 'ok'));
        }
        break;
      case 'restartChild':
        if (!child) out.push(reply(cmd.op, id, 'not_found'));
        else if (child.running) out.push(reply(cmd.op, id, 'running'));
        else {
          this.start(child, out);
          out.push(reply(cmd.op, id, 'ok'));
        }
        break;
      case 'deleteChild':
        if (!child) out.push(reply(cmd.op, id, 'not_found'));
        else if (child.running) out.push(reply(cmd.op, id, 'running'));
        else {
          this.forget(child);
          out.push(reply(cmd.op, id, 'ok'));
        }
        break;
    }
    if (this.alive) out.push(this.which());
    return out;
  }

  private changePolicy(cmd: Extract<Command, { op: 'changePolicy' }>, out: Event[]): void {
    const next = nextPolicy(this.policy, cmd, this.nextChild, (s) => s);
    this.nextChild += cmd.add.length;
    const ids = new Set(next.map((s) => s.id));
    const terminated: string[] = [];
    for (const c of [...this.children].reverse()) {
      if (ids.has(c.id)) continue;
      if (c.running) this.shutdown(c, out);
      this.forget(c);
      terminated.push(c.id);
    }
    ({ strategy: this.strategy, intensity: this.intensity, period: this.period } = cmd);
    const present = new Map(this.children.map((c) => [c.id, c]));
    this.children = next.map((s) => present.get(s.id) ?? { ...s, running: false });
    const started: string[] = [];
    for (const c of this.children) {
      if (present.has(c.id)) continue;
      this.start(c, out);
      started.push(c.id);
    }
    this.policy = next;
    out.push(reply('changePolicy', '-', policyResult(terminated, started)));
  }

  /** Whether child `k` is running now (the runtime side decides the same from what it saw). */
  isRunning(k: number): boolean {
    return this.children.some((c) => c.id === childId(k) && c.running);
  }

  private crash(child: ModelChild, kind: CrashKind, out: Event[]): void {
    // The child stops by itself: its own terminate records the reason, unless it was killed.
    if (kind === 'kill') child.running = false;
    else this.stop(child, CRASH_REASON[kind], out);
    const abnormal = kind === 'abnormal' || kind === 'kill';
    const restart = child.restart === 'permanent' || (child.restart === 'transient' && abnormal);
    if (!restart) {
      if (child.restart === 'temporary') this.forget(child);
      return;
    }
    if (!this.addRestart()) {
      // Reached max restart intensity: the child is not restarted, the rest are shut down.
      this.stopAll(this.children, out);
      this.alive = false;
      out.push({ ev: 'exit', reason: 'shutdown' });
      return;
    }
    switch (this.strategy) {
      case 'one_for_one':
        this.start(child, out);
        return;
      case 'one_for_all':
        this.restartGroup([...this.children], out);
        return;
      case 'rest_for_one': {
        const i = this.children.indexOf(child);
        this.restartGroup(this.children.slice(i), out);
        return;
      }
    }
  }

  /** OTP's add_restart: false when the restart would exceed the intensity. */
  private addRestart(): boolean {
    const now = Math.floor(this.nowMs / 1000);
    const threshold = now - this.period;
    const kept: number[] = [now];
    for (const r of this.restartTimes) {
      if (r < threshold) break;
      kept.push(r);
    }
    this.restartTimes = kept;
    return kept.length <= this.intensity;
  }

  /** Stop the running members of `group` newest first, forget the temporary ones, start the rest in order. */
  private restartGroup(group: ModelChild[], out: Event[]): void {
    this.stopAll(group, out);
    for (const c of group) if (c.restart === 'temporary') this.forget(c);
    for (const c of group) if (this.children.includes(c)) this.start(c, out);
  }

  private stopAll(group: ModelChild[], out: Event[]): void {
    for (const c of [...group].reverse()) if (c.running) this.shutdown(c, out);
  }

  /** The supervisor stops a child: `shutdown` (recorded by its terminate), or a brutal kill (nothing recorded). */
  private shutdown(c: ModelChild, out: Event[]): void {
    if (c.brutal) c.running = false;
    else this.stop(c, 'shutdown', out);
  }

  private start(c: ModelChild, out: Event[]): void {
    c.running = true;
    out.push({ ev: 'start', id: c.id });
  }

  private stop(c: ModelChild, reason: string, out: Event[]): void {
    c.running = false;
    out.push({ ev: 'stop', id: c.id, reason });
  }

  private forget(c: ModelChild): void {
    this.children = this.children.filter((x) => x !== c);
  }

  private which(): Event {
    return { ev: 'children', list: [...this.children].reverse().map((c) => (c.running ? c.id : `${c.id}:stopped`)) };
  }
}

/** changePolicy's reply, as both sides show it. */
export const policyResult = (terminated: string[], started: string[]) => `terminated [${terminated.join(' ')}] started [${started.join(' ')}]`;

function reply(op: 'terminateChild' | 'restartChild' | 'deleteChild' | 'changePolicy', id: string, result: string): Event {
  return { ev: 'reply', op, id, result };
}

/** The whole predicted trace of a scenario, command by command (index 0 is the start). */
export function predict(scenario: Scenario, startMs: number): Event[][] {
  const model = new SupervisorModel(scenario, startMs);
  return [model.init(), ...scenario.commands.map((c) => model.step(c))];
}
