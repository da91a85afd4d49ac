import type { Logger } from 'pino';
import { isExitMessage, type Behaviour, type Call, type From, type InitResult, type SpawnOptions, type StartResult, type StartSpec } from './behaviour.js';
import type { TimerHandle } from './clock.js';
import type { ActorContext } from './context.js';
import { Mailbox } from './mailbox.js';
import type { Node } from './node.js';
import type { Pid, Target } from './pid.js';
import { Process } from './process.js';
import { formatReason, isNormalExit, type ExitReason } from './reason.js';
import type { Envelope } from './signal.js';

type Phase = 'init' | 'running' | 'terminating';

/** Messages an actor handles before yielding to the event loop (BEAM's reductions, roughly). */
const BUDGET = 256;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function isPromise<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof (x as Promise<T>)?.then === 'function';
}

/**
 * A gen_server: runs a Behaviour's callbacks one message at a time. A throw or rejection is a
 * crash with that reason; `terminate` then runs (as gen_server does), unless the actor was
 * killed by an exit signal it does not trap.
 */
export class Actor extends Process {
  private state: unknown;
  private phase: Phase = 'init';
  private running = false;
  private readonly mailbox: Mailbox<Envelope>;
  // Made when first asked for: most actors never use them, and each would cost every actor
  // its bytes (an idle actor is what a node has 10,000s of).
  private abort: AbortController | undefined;
  private timers: Set<TimerHandle> | undefined;
  private logger: Logger | undefined;
  /** The process that started this one linked (gen_server's Parent): its EXIT means stop. */
  readonly parent: Pid | undefined;
  /** For operators (the observer, status): when it started (node clock, ms) and messages handled. */
  readonly startedAt: number;
  handled = 0;

  constructor(
    node: Node,
    pid: Pid,
    private readonly behaviour: Behaviour,
    readonly name: string | undefined,
    parent: Pid | undefined,
  ) {
    super(node, pid);
    this.parent = parent;
    this.mailbox = new Mailbox(node.clock);
    this.startedAt = node.clock.now();
  }

  get log(): Logger {
    this.logger ??= this.node.log.child(this.name ? { actor: this.pid.key, name: this.name } : { actor: this.pid.key });
    return this.logger;
  }

  /** Messages waiting in its mailbox. */
  get queued(): number {
    return this.mailbox.length;
  }

  /** What it is doing: starting, waiting for a message, handling one, or terminating. */
  get activity(): 'init' | 'waiting' | 'running' | 'terminating' {
    return this.phase === 'running' ? (this.running ? 'running' : 'waiting') : this.phase;
  }

  /** The behaviour it runs (the status actor tells supervisors from workers by it). */
  get behaviourOf(): Behaviour {
    return this.behaviour;
  }

  get clock() {
    return this.node.clock;
  }
  get signal_(): AbortSignal {
    if (!this.abort) {
      this.abort = new AbortController();
      if (this.dead) this.abort.abort(this.exitReason);
    }
    return this.abort.signal;
  }
  get nodeName(): string {
    return this.node.name;
  }

  // ActorContext.signal is the AbortSignal; Process.signal(sig) is the signal entry point.
  // They cannot share a name, so the context view is a small facade (see `Context`).
  readonly context: ActorContext = new Context(this);

  /** Runs `init`; resolves as gen_server:start_link returns. */
  async start(args: unknown, timeout: number | undefined): Promise<StartResult> {
    let result: InitResult<unknown> | 'timeout' | 'died';
    let timer: TimerHandle | undefined;
    try {
      const r = this.behaviour.init(args, this.context);
      if (isPromise(r)) {
        // An init that never settles must not hang the starter: death or the timeout ends the wait.
        const racers: Promise<InitResult<unknown> | 'timeout' | 'died'>[] = [r, this.died()];
        if (timeout !== undefined) racers.push(new Promise((res) => (timer = this.clock.setTimeout(() => res('timeout'), timeout))));
        result = await Promise.race(racers);
      } else result = r;
    } catch (e) {
      result = { stop: e };
    } finally {
      if (timer) this.clock.clearTimeout(timer);
    }
    if (this.dead || result === 'died') return { error: this.exitReason };
    if (result === 'timeout') {
      this.failStart('killed');
      return { error: 'timeout' };
    }
    if ('ok' in result) {
      this.state = result.ok;
      this.phase = 'running';
      this.kick();
      return { ok: this.pid };
    }
    if ('ignore' in result) {
      this.failStart('normal');
      return { ignore: true };
    }
    this.failStart(result.stop);
    return { error: result.stop };
  }

  private died(): Promise<'died'> {
    return new Promise((resolve) => {
      if (this.dead) resolve('died');
      else this.onDeath = () => resolve('died');
    });
  }

  /** Wakes `start` when the actor dies while its init is still running. */
  private onDeath: (() => void) | undefined;

  /** A failed init: the starter learns it from the start result, not from an exit signal. */
  private failStart(reason: ExitReason): void {
    if (this.parent) this.unlink(this.parent);
    this.startRefused = true;
    this.die(reason);
  }

  /** Its init refused to start (a lease held elsewhere, say): the starter decides, it is no crash. */
  private startRefused = false;

  protected onMessage(env: Envelope): void {
    this.mailbox.push(env);
    this.kick();
  }

  private kick(): void {
    if (!this.running && this.phase === 'running' && this.mailbox.length > 0 && !this.dead) {
      this.running = true;
      void this.loop();
    }
  }

  private async loop(): Promise<void> {
    let budget = BUDGET;
    while (!this.dead && this.phase === 'running') {
      const env = this.mailbox.shift();
      if (env === undefined) break;
      this.handled++;
      try {
        const r = this.dispatch(env);
        if (r !== undefined) await r;
      } catch (e) {
        if (!this.dead) await this.terminate(e);
        break;
      }
      if (--budget === 0) {
        budget = BUDGET;
        await yieldToLoop();
      }
    }
    this.running = false;
    // A message may have arrived between the last shift and `running = false`.
    this.kick();
  }

  /** Handles one envelope. Returns a promise only when a callback was asynchronous. */
  private dispatch(env: Envelope): Promise<void> | undefined {
    const b = this.behaviour;
    switch (env.t) {
      case 'call': {
        if (!b.handleCall) throw new Error(`unexpected call: ${formatReason(env.req)}`);
        const r = b.handleCall(env.req, env.from, this.state, this.context);
        return isPromise(r) ? r.then((x) => this.afterCall(x, env.from)) : this.afterCall(r, env.from);
      }
      case 'cast': {
        if (!b.handleCast) throw new Error(`unexpected cast: ${formatReason(env.msg)}`);
        const r = b.handleCast(env.msg, this.state, this.context);
        return isPromise(r) ? r.then((x) => this.afterNoReply(x)) : this.afterNoReply(r);
      }
      case 'info': {
        const msg = env.msg;
        // gen_server: an EXIT from the parent while trapping exits means "stop with that reason".
        if (this.parent && isExitMessage(msg) && msg.from.equals(this.parent)) return this.terminate(msg.reason);
        if (!b.handleInfo) {
          this.log.warn({ msg: formatReason(msg) }, 'unexpected message dropped');
          return undefined;
        }
        const r = b.handleInfo(msg, this.state, this.context);
        return isPromise(r) ? r.then((x) => this.afterNoReply(x)) : this.afterNoReply(r);
      }
      case 'stop':
        return this.terminate(env.reason);
      case 'reply':
        return undefined; // a late reply to a call that gave up; gen_server drops it too
    }
  }

  private afterCall(r: Awaited<ReturnType<NonNullable<Behaviour['handleCall']>>>, from: From): Promise<void> | undefined {
    if (this.dead) return undefined;
    if ('reply' in r && !('stop' in r)) {
      this.state = r.state;
      this.reply(from, r.reply);
      return undefined;
    }
    if ('noreply' in r) {
      this.state = r.state;
      return undefined;
    }
    this.state = r.state;
    if ('reply' in r) this.reply(from, r.reply);
    return this.terminate(r.stop);
  }

  private afterNoReply(r: { state: unknown } | { stop: ExitReason; state: unknown }): Promise<void> | undefined {
    if (this.dead) return undefined;
    this.state = r.state;
    return 'stop' in r ? this.terminate(r.stop) : undefined;
  }

  /** Runs `terminate` and exits. A throwing terminate exits with what it threw. */
  private async terminate(reason: ExitReason): Promise<void> {
    if (this.dead || this.phase === 'terminating') return;
    this.phase = 'terminating';
    let exit = reason;
    if (this.behaviour.terminate) {
      try {
        await this.behaviour.terminate(reason, this.state, this.context);
      } catch (e) {
        exit = e;
      }
    }
    this.die(exit);
  }

  protected override beforeExit(reason: ExitReason): void {
    this.abort?.abort(reason);
    this.onDeath?.();
    this.onDeath = undefined;
    if (this.timers) for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers = undefined;
    this.mailbox.cancel();
    this.mailbox.drain();
    this.node.stats.forget(this.pid.key);
    if (this.startRefused) {
      this.log.debug({ reason: formatReason(reason) }, 'actor did not start');
      return;
    }
    if (!isNormalExit(reason)) {
      this.node.stats.crashed({ at: Date.now(), pid: this.pid.key, ...(this.name !== undefined ? { name: this.name } : {}), reason: formatReason(reason) });
    }
    if (!isNormalExit(reason) && reason !== 'killed') {
      this.log.error({ reason: formatReason(reason) }, 'actor crashed');
    } else {
      this.log.debug({ reason: formatReason(reason) }, 'actor exited');
    }
  }

  /** gen_server:stop / sys:terminate: terminate with `reason` after the current message. */
  requestStop(reason: ExitReason): void {
    this.signal({ k: 'msg', env: { t: 'stop', reason } });
  }

  // --- ActorContext (trapExit, exit, call, cast, send, spawnLink: see Process) ---------------

  spawn<A, P extends Call>(spec: StartSpec<A, P>, options?: SpawnOptions): Promise<StartResult<P>> {
    return this.node.startActor(spec, options, undefined);
  }

  sendAfter(ms: number, message: unknown): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.timers?.delete(handle);
      this.signal({ k: 'msg', env: { t: 'info', msg: message } });
    }, ms);
    (this.timers ??= new Set()).add(handle);
    return handle;
  }

  cancelTimer(handle: TimerHandle): void {
    this.timers?.delete(handle);
    this.clock.clearTimeout(handle);
  }

  async receive<T = unknown>(match: (message: unknown) => boolean, timeout?: number): Promise<T | undefined> {
    const env = await this.mailbox.receive((e) => e.t === 'info' && match(e.msg), timeout);
    return env === undefined ? undefined : ((env as { msg: T }).msg);
  }
}

/**
 * The ActorContext view of an actor (its AbortSignal is `signal`, which Process uses for
 * signals). Methods on the prototype: one small object per actor, not a closure per method.
 */
class Context implements ActorContext {
  constructor(private readonly a: Actor) {}
  get self() {
    return this.a.pid;
  }
  get name() {
    return this.a.name;
  }
  get log() {
    return this.a.log;
  }
  get clock() {
    return this.a.clock;
  }
  get signal() {
    return this.a.signal_;
  }
  get nodeName() {
    return this.a.nodeName;
  }
  get stats() {
    return this.a.node.stats;
  }
  get call(): ActorContext['call'] {
    return this.a.call;
  }
  trapExit(on: boolean) {
    return this.a.trapExit(on);
  }
  link(pid: Pid) {
    this.a.link(pid);
  }
  unlink(pid: Pid) {
    this.a.unlink(pid);
  }
  monitor(t: Target) {
    return this.a.monitor(t);
  }
  demonitor(ref: string, options?: { flush?: boolean }) {
    this.a.demonitor(ref);
    if (options?.flush) void this.a.receive((m) => (m as { tag?: string; ref?: string })?.tag === 'DOWN' && (m as { ref: string }).ref === ref, 0);
  }
  exit(pid: Pid, reason: ExitReason) {
    this.a.exit(pid, reason);
  }
  isAlive(pid: Pid) {
    return pid.node === this.a.node.name ? this.a.node.isAlive(pid) : undefined;
  }
  reply<R>(from: From<R>, value: R) {
    this.a.reply(from, value);
  }
  cast(t: Target, m: unknown) {
    this.a.cast(t, m);
  }
  send(t: Target, m: unknown) {
    this.a.send(t, m);
  }
  spawnLink<A, P extends Call>(s: StartSpec<A, P>, o?: SpawnOptions) {
    return this.a.spawnLink(s, o);
  }
  spawn<A, P extends Call>(s: StartSpec<A, P>, o?: SpawnOptions) {
    return this.a.spawn(s, o);
  }
  sendAfter(ms: number, m: unknown) {
    return this.a.sendAfter(ms, m);
  }
  cancelTimer(h: TimerHandle) {
    this.a.cancelTimer(h);
  }
  receive<T = unknown>(m: (message: unknown) => boolean, t?: number) {
    return this.a.receive<T>(m, t);
  }
}
