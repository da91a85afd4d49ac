/**
 * What every conformance case needs: the two nodes of a topology, an inbox playing the Erlang
 * shell process (it starts supervisors linked, traps exits, observes children), the script
 * actor, and small helpers that wait for events instead of sleeping.
 */
import {
  InboxError,
  formatReason,
  SimulatedClock,
  isDownMessage,
  isExitMessage,
  settle,
  supervisorSpec,
  whichChildren,
  countChildren,
  type ChildCounts,
  type ChildInfo,
  type ChildSpec,
  type Inbox,
  type Node,
  type Pid,
  type StartResult,
  type SupervisorSpec,
  type Restart,
  type Shutdown,
  type ChildType,
  type Target,
} from '../../runtime/index.js';
import {
  CHILD,
  SCRIPT,
  SUPERVISOR,
  isEvent,
  registerConformanceBehaviours,
  type ChildArgs,
  type ChildEvent,
  type Directive,
  type TerminateMode,
} from './children.js';
import type { Topology } from './topology.js';

/** Per-case guard on waits (ms). A simulated clock only fires it when the case moves time. */
const WAIT = 3000;

export interface ChildOptions {
  restart?: Restart;
  shutdown?: Shutdown;
  type?: ChildType;
  significant?: boolean;
  init?: Directive | 'script';
  script?: string;
  trap?: boolean;
  terminate?: TerminateMode;
}

export class Harness {
  private constructor(
    readonly supNode: Node,
    readonly childNode: Node,
    readonly inbox: Inbox,
    readonly clock: SimulatedClock | undefined,
    private readonly stopNodes: () => Promise<void>,
  ) {}

  static async start(topology: Topology, opts: { simulated?: boolean } = {}): Promise<Harness> {
    const clock = opts.simulated ? new SimulatedClock() : undefined;
    const nodes = await topology.start({ clock });
    registerConformanceBehaviours(nodes.supNode);
    registerConformanceBehaviours(nodes.childNode);
    if (nodes.childNode !== nodes.supNode) await nodes.supNode.connect(nodes.childNode.name);
    const script = await nodes.childNode.spawn({ behaviour: SCRIPT }, { name: SCRIPT });
    if (!('ok' in script)) throw new Error(`script actor did not start: ${JSON.stringify(script)}`);
    const inbox = nodes.supNode.inbox();
    inbox.trapExit(true);
    return new Harness(nodes.supNode, nodes.childNode, inbox, clock, nodes.stop);
  }

  /** Kill whatever is left (so no terminate can hold the nodes), then stop the nodes. */
  async stop(): Promise<void> {
    this.inbox.close();
    for (const node of new Set([this.supNode, this.childNode])) {
      for (const { pid } of node.actors()) node.exit(pid, 'kill');
    }
    await settle();
    await this.stopNodes();
  }

  get self(): Pid {
    return this.inbox.self;
  }

  get scriptTarget(): Target {
    return { name: SCRIPT, node: this.childNode.name };
  }

  // --- specs ---------------------------------------------------------------------------------

  childArgs(id: string, o: ChildOptions = {}): ChildArgs {
    const args: ChildArgs = { id, observer: this.self };
    if (o.init !== undefined) args.init = o.init;
    if (o.script !== undefined) args.script = o.script;
    if (o.trap !== undefined) args.trap = o.trap;
    if (o.terminate !== undefined) args.terminate = o.terminate;
    return args;
  }

  /** A worker child spec whose child runs on the child node. */
  child(id: string, o: ChildOptions = {}): ChildSpec {
    const spec: ChildSpec = {
      id,
      start: { behaviour: CHILD, args: this.childArgs(id, o), options: { node: this.childNode.name } },
    };
    if (o.restart !== undefined) spec.restart = o.restart;
    if (o.shutdown !== undefined) spec.shutdown = o.shutdown;
    if (o.type !== undefined) spec.type = o.type;
    if (o.significant !== undefined) spec.significant = o.significant;
    return spec;
  }

  /** A child supervisor running on the child node (the supervisor behaviour started by name). */
  childSup(id: string, spec: SupervisorSpec, o: Omit<ChildOptions, 'init' | 'trap' | 'terminate' | 'script'> = {}): ChildSpec {
    const out: ChildSpec = {
      id,
      start: { behaviour: SUPERVISOR, args: spec, options: { node: this.childNode.name } },
      type: 'supervisor',
    };
    if (o.restart !== undefined) out.restart = o.restart;
    if (o.shutdown !== undefined) out.shutdown = o.shutdown;
    if (o.significant !== undefined) out.significant = o.significant;
    return out;
  }

  // --- supervisors ---------------------------------------------------------------------------

  /** supervisor:start_link from the test process. */
  startSup(spec: SupervisorSpec, name?: string): Promise<StartResult> {
    return this.inbox.spawnLink(supervisorSpec(spec), name === undefined ? undefined : { name });
  }

  async sup(spec: SupervisorSpec, name?: string): Promise<Pid> {
    const r = await this.startSup(spec, name);
    if (!('ok' in r)) throw new Error(`supervisor did not start: ${JSON.stringify(r)}`);
    return r.ok;
  }

  which(sup: Target): Promise<ChildInfo[]> {
    return whichChildren(this.inbox, sup);
  }

  count(sup: Target): Promise<ChildCounts> {
    return countChildren(this.inbox, sup);
  }

  /** The running pid of child `id` (from which_children). */
  async pidOf(sup: Target, id: string): Promise<Pid> {
    const c = (await this.which(sup)).find((x) => x.id === id);
    if (!c || typeof c.child !== 'object') throw new Error(`child ${id} is not running: ${JSON.stringify(c)}`);
    return c.child;
  }

  // --- script --------------------------------------------------------------------------------

  /** Next init directives for children whose args say `init: 'script'` (key = id by default). */
  async plan(key: string, steps: Directive[], then: Directive = 'ok'): Promise<void> {
    await this.inbox.call(this.scriptTarget, { op: 'plan', key, steps, then });
  }

  attempts(key: string): Promise<number> {
    return this.inbox.call<number>(this.scriptTarget, { op: 'attempts', key });
  }

  // --- observing -----------------------------------------------------------------------------

  receive<T>(match: (m: unknown) => boolean, what: string, timeout = WAIT): Promise<T> {
    return this.inbox.receive<T>(match, timeout).catch((e: unknown) => {
      throw new Error(`waiting for ${what}: ${(e as Error).message}`);
    });
  }

  /** The next event `ev` from child `id` (in arrival order). */
  event(ev: ChildEvent['ev'], id?: string): Promise<ChildEvent> {
    return this.receive<ChildEvent>((m) => isEvent(m, ev, id), `${ev} of ${id ?? 'any child'}`);
  }

  /** The next event `ev` from any of the children `ids`. */
  eventFrom(ev: ChildEvent['ev'], ids: string[]): Promise<ChildEvent> {
    return this.receive<ChildEvent>((m) => isEvent(m, ev) && ids.includes(m.id), `${ev} of one of ${ids.join(', ')}`);
  }

  /** Pid of the next `started` child `id`. */
  async started(id: string): Promise<Pid> {
    return (await this.event('started', id)).pid;
  }

  /** Reason given to terminate for the next `terminate` event of child `id`. */
  async terminated(id: string): Promise<unknown> {
    return ((await this.event('terminate', id)) as { reason: unknown }).reason;
  }

  /** Monitor `pid`; `down(ref)` later gives its exit reason. */
  watch(pid: Pid): string {
    return this.inbox.monitor(pid);
  }

  async down(ref: string): Promise<unknown> {
    const m = await this.receive<{ reason: unknown }>((x) => isDownMessage(x) && x.ref === ref, `DOWN ${ref}`);
    return m.reason;
  }

  /** Exit reason of `pid`, from the monitor this sets up now. */
  async downOf(pid: Pid): Promise<unknown> {
    return this.down(this.watch(pid));
  }

  /** Reasons of several monitored pids, in the order their DOWNs arrive. */
  async downs(refs: Map<string, string>): Promise<{ name: string; reason: unknown }[]> {
    const out: { name: string; reason: unknown }[] = [];
    const left = new Map(refs);
    while (left.size > 0) {
      const m = await this.receive<{ ref: string; reason: unknown }>(
        (x) => isDownMessage(x) && left.has(x.ref),
        `DOWN of ${[...left.values()].join(', ')}`,
      );
      out.push({ name: left.get(m.ref)!, reason: m.reason });
      left.delete(m.ref);
    }
    return out;
  }

  /** The EXIT a linked process (a supervisor this inbox started) sent. */
  async exitOf(pid: Pid): Promise<unknown> {
    const m = await this.receive<{ reason: unknown }>((x) => isExitMessage(x) && x.from.equals(pid), `EXIT from ${pid.key}`);
    return m.reason;
  }

  /**
   * Let everything in flight arrive: a round trip to the child node (frames between two nodes
   * keep their order), one to `sup` if given, then the event loop.
   */
  async sync(sup?: Target): Promise<void> {
    await this.inbox.call(this.scriptTarget, { op: 'ping' });
    if (sup !== undefined) await this.which(sup);
    await settle();
    await settle();
  }

  /** Fails if a message matching `match` is queued (call after `sync`). */
  async none(match: (m: unknown) => boolean, what: string): Promise<void> {
    let got: unknown;
    try {
      got = await this.inbox.receive(match, 0);
    } catch (e) {
      if (e instanceof InboxError) return;
      throw e;
    }
    throw new Error(`unexpected ${what}: ${JSON.stringify(got)}`);
  }

  /** Drop the child events queued so far (so a later `noEvent` looks only at what follows). */
  async dropEvents(): Promise<void> {
    for (;;) {
      try {
        await this.inbox.receive((m) => isEvent(m), 0);
      } catch (e) {
        if (e instanceof InboxError) return;
        throw e;
      }
    }
  }

  noEvent(ev: ChildEvent['ev'], id?: string): Promise<void> {
    return this.none((m) => isEvent(m, ev, id), `${ev} event of ${id ?? 'any child'}`);
  }

  noExit(pid?: Pid): Promise<void> {
    return this.none((m) => isExitMessage(m) && (pid === undefined || m.from.equals(pid)), `EXIT${pid ? ` from ${pid.key}` : ''}`);
  }

  noDown(ref: string): Promise<void> {
    return this.none((m) => isDownMessage(m) && m.ref === ref, `DOWN ${ref}`);
  }

  /** Move simulated time (the case must have asked for a simulated clock). */
  async advance(ms: number): Promise<void> {
    if (!this.clock) throw new Error('this case runs on the real clock');
    await this.clock.advance(ms);
  }

  // --- children ------------------------------------------------------------------------------

  /** Make child `pid` exit by itself with `reason` (terminate runs). */
  stopChild(pid: Pid, reason: unknown): void {
    this.inbox.cast(pid, { op: 'stop', reason });
  }

  /** Make child `pid` crash (throw `reason`). */
  crash(pid: Pid, reason: unknown = 'died'): void {
    this.inbox.cast(pid, { op: 'throw', reason });
  }

  kill(pid: Pid): void {
    this.inbox.exit(pid, 'kill');
  }

  /** Crash child `pid` with `reason` and wait until it is gone; answers the reason it exited with. */
  async crashed(pid: Pid, reason: unknown = 'died'): Promise<unknown> {
    const ref = this.watch(pid);
    this.crash(pid, reason);
    return this.down(ref);
  }
}

/** The pid of an `{ ok: pid }` result, or a failure naming what came instead. */
export function okPid(r: unknown): Pid {
  if (typeof r !== 'object' || r === null || !('ok' in r) || typeof r.ok !== 'object' || r.ok === null) {
    throw new Error(`expected { ok: pid }, got ${formatReason(r)}`);
  }
  return r.ok as Pid;
}

/** Pid identity that survives the codec. */
export const same = (a: Pid | undefined | string, b: Pid | undefined | string): boolean =>
  typeof a === 'object' && typeof b === 'object' ? a.equals(b) : a === b;

/** which_children as `[id, state]` pairs: the pid's key, `restarting`, or `undefined`. */
export const shape = (cs: ChildInfo[]): [string | undefined, string | undefined][] =>
  cs.map((c) => [c.id, typeof c.child === 'object' ? 'pid' : c.child]);

export const counts = (specs: number, active: number, supervisors: number, workers: number): ChildCounts => ({
  specs,
  active,
  supervisors,
  workers,
});
