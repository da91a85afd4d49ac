import type { Call, From, SpawnOptions, StartResult, StartSpec } from './behaviour.js';
import type { CallFn } from './context.js';
import type { Node } from './node.js';
import { Pid, type Target } from './pid.js';
import type { ExitReason } from './reason.js';
import type { Endpoint, Envelope, Signal } from './signal.js';

/**
 * What every process on a node shares (an actor, an inbox): its links, the monitors it holds
 * and those held on it, trap_exit, and the ordered signal queue. Subclasses decide what a
 * message means and what dying involves.
 */
export abstract class Process implements Endpoint {
  readonly links = new Map<string, Pid>();
  /** Monitors this process holds: ref → what it monitors. */
  readonly monitoring = new Map<string, Target>();
  /** Monitors held on this process: ref → who holds it. */
  readonly monitoredBy = new Map<string, Pid>();
  trapping = false;
  dead = false;
  exitReason: ExitReason;

  private inq: Signal[] = [];
  private scheduled = false;

  constructor(
    readonly node: Node,
    readonly pid: Pid,
  ) {}

  signal(sig: Signal): void {
    this.inq.push(sig);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drainSignals());
    }
  }

  private drainSignals(): void {
    this.scheduled = false;
    const q = this.inq;
    this.inq = [];
    for (const sig of q) this.handleSignal(sig);
  }

  protected handleSignal(sig: Signal): void {
    if (this.dead) {
      this.node.deadLetter(this.pid, sig);
      return;
    }
    switch (sig.k) {
      case 'msg':
        if (sig.env.t === 'call') this.monitoredBy.set(sig.env.from.ref, sig.env.from.pid);
        this.onMessage(sig.env);
        return;
      case 'exit':
        this.onExitSignal(sig.from, sig.reason, sig.link);
        return;
      case 'link':
        this.links.set(sig.from.key, sig.from);
        return;
      case 'unlink':
        this.links.delete(sig.from.key);
        return;
      case 'mon':
        this.monitoredBy.set(sig.ref, sig.from);
        return;
      case 'demon':
        this.monitoredBy.delete(sig.ref);
        return;
      case 'down':
        if (this.monitoring.delete(sig.ref)) {
          this.onMessage({ t: 'info', msg: { tag: 'DOWN', ref: sig.ref, pid: sig.from, reason: sig.reason } });
        }
        return;
    }
  }

  protected abstract onMessage(env: Envelope): void;

  /** Erlang's exit-signal rules; `die` and `trapExitMessage` are the subclass's. */
  protected onExitSignal(from: Pid, reason: ExitReason, viaLink: boolean): void {
    if (viaLink && !this.links.has(from.key)) return; // unlinked meanwhile: the signal is void
    if (viaLink) this.links.delete(from.key);
    if (!viaLink && reason === 'kill') {
      this.die('killed');
    } else if (this.trapping) {
      this.onMessage({ t: 'info', msg: { tag: 'EXIT', from, reason } });
    } else if (reason !== 'normal' || from.equals(this.pid)) {
      this.die(reason);
    }
  }

  /** Turn exit signals into `{ tag: 'EXIT' }` messages (process_flag(trap_exit)); answers the previous setting. */
  trapExit(on: boolean): boolean {
    const was = this.trapping;
    this.trapping = on;
    return was;
  }

  /** Send an exit signal from this process (exit/2). */
  exit(pid: Pid, reason: ExitReason): void {
    this.node.route(pid, { k: 'exit', from: this.pid, reason, link: false });
  }

  /** gen_server:call from this process (the node's; one function shared by all its processes). */
  get call(): CallFn {
    return this.node.call;
  }

  cast(target: Target, message: unknown): void {
    this.node.cast(target, message);
  }

  send(target: Target, message: unknown): void {
    this.node.send(target, message);
  }

  /** Start an actor linked to this process, which becomes its parent (its EXIT stops the actor). */
  spawnLink<A, P extends Call>(spec: StartSpec<A, P>, options?: SpawnOptions): Promise<StartResult<P>> {
    return this.node.startActor(spec, options, this);
  }

  /** Answer a call; the monitor the call carried ends here. */
  reply(from: From, value: unknown): void {
    const mon = this.monitoredBy.delete(from.ref);
    this.node.route(from.pid, { k: 'msg', env: { t: 'reply', ref: from.ref, value, mon } });
  }

  link(pid: Pid): void {
    if (pid.equals(this.pid) || this.links.has(pid.key)) return;
    this.links.set(pid.key, pid);
    this.node.route(pid, { k: 'link', from: this.pid });
  }

  unlink(pid: Pid): void {
    if (this.links.delete(pid.key)) this.node.route(pid, { k: 'unlink', from: this.pid });
  }

  monitor(target: Target): string {
    const ref = this.node.makeRef();
    this.monitoring.set(ref, target);
    this.node.route(target, { k: 'mon', from: this.pid, ref });
    return ref;
  }

  demonitor(ref: string): void {
    const target = this.monitoring.get(ref);
    if (target === undefined) return;
    this.monitoring.delete(ref);
    this.node.route(target, { k: 'demon', from: this.pid, ref });
  }

  /** Stop being alive: tell links and monitors, leave the node. Idempotent. */
  die(reason: ExitReason): void {
    if (this.dead) return;
    this.dead = true;
    this.exitReason = reason;
    this.beforeExit(reason);
    // A process killed with `kill` exits `killed`; links see `killed`, never the untrappable `kill`.
    const out = reason === 'kill' ? 'killed' : reason;
    for (const pid of this.links.values()) this.node.route(pid, { k: 'exit', from: this.pid, reason: out, link: true });
    this.links.clear();
    for (const [ref, pid] of this.monitoredBy) this.node.route(pid, { k: 'down', from: this.pid, ref, reason: out });
    this.monitoredBy.clear();
    for (const [ref, target] of this.monitoring) this.node.route(target, { k: 'demon', from: this.pid, ref });
    this.monitoring.clear();
    this.node.unregister(this);
  }

  /** Hook run once, as the process dies, before links and monitors are told. */
  protected beforeExit(_reason: ExitReason): void {}

  nodeDown(node: string, creation: number | undefined): void {
    if (this.dead) return;
    const gone = (pid: Pid) => pid.node === node && (creation === undefined || pid.creation === creation);
    for (const [ref, pid] of this.monitoredBy) if (gone(pid)) this.monitoredBy.delete(ref);
    for (const [ref, target] of this.monitoring) {
      const targetNode = target instanceof Pid ? target.node : typeof target === 'string' ? this.pid.node : target.node;
      const sameIncarnation = !(target instanceof Pid) || creation === undefined || target.creation === creation;
      if (targetNode === node && sameIncarnation) {
        this.signal({ k: 'down', from: target instanceof Pid ? target : undefined, ref, reason: 'noconnection' });
      }
    }
    for (const pid of this.links.values()) {
      if (gone(pid)) this.signal({ k: 'exit', from: pid, reason: 'noconnection', link: true });
    }
  }
}
