import { Actor } from './actor.js';
import type { Behaviour, Call, SpawnOptions, StartResult, StartSpec } from './behaviour.js';
import { RealClock, type Clock, type TimerHandle } from './clock.js';
import { decode, encode, roundTrip } from './codec.js';
import type { CallFn, CallOptions, Caller } from './context.js';
import { CallError, CodecError } from './errors.js';
import { Inbox } from './inbox.js';
import { LocalBus } from './local-bus.js';
import { createLogger, type Logger } from './logger.js';
import { Pid, type Name, type Target } from './pid.js';
import type { Process } from './process.js';
import { NodeStats } from './stats.js';
import { formatReason, type ExitReason } from './reason.js';
import type { Endpoint, Envelope, Signal } from './signal.js';
import type { Transport } from './transport.js';

export interface NodeOptions {
  /** Node name, unique in the cluster. */
  name: string;
  clock?: Clock;
  logger?: Logger;
  /** Join this in-process bus (several nodes in one OS process). */
  bus?: LocalBus;
  /** Or this transport (NATS). With neither, the node has a bus of its own. */
  transport?: Transport;
  /** Encode and decode every local message too, so unsendable messages fail in tests. */
  encodeLocal?: boolean;
  /** Default call timeout in ms (5000). */
  callTimeout?: number;
  /** This incarnation's number (default from the wall clock); a simulation chooses it. */
  creation?: number;
}

/** What crosses the bus between nodes. `src`/`cr` name the sending node's incarnation. */
type Frame =
  | { src: string; cr: number; to: Pid; sig: Signal }
  | { src: string; cr: number; name: string; sig: Signal }
  | { src: string; cr: number; spawn: RemoteSpawn }
  | { src: string; cr: number; spawned: { ref: string; result: StartResult } };

interface RemoteSpawn {
  ref: string;
  behaviour: string;
  args: unknown;
  /** The linked starter (spawn_link), if any; it becomes the actor's parent. */
  parent?: Pid;
  name?: string;
  timeout?: number;
}

const DEFAULT_CALL_TIMEOUT = 5000;

/**
 * A node of the actor system: the registry of its processes and names, the router of signals
 * (local delivery, or a frame on the transport), and the API for code outside actors.
 */
export class Node implements Caller {
  readonly name: string;
  /** This incarnation: a restarted node never reuses a pid of the one before. */
  readonly creation: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Restarts and crashes, for operators. */
  readonly stats = new NodeStats();
  private readonly transport: Transport;
  private readonly encodeLocal: boolean;
  private readonly callTimeout: number;
  private readonly procs = new Map<number, Endpoint>();
  private readonly names = new Map<string, Pid>();
  private readonly nameOf = new Map<number, string>();
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly pendingSpawns = new Map<string, { node: string; resolve: (r: StartResult) => void; starter?: Process }>();
  private serial = 0;
  private refs = 0;
  private stopped = false;
  private isDraining = false;

  private constructor(options: NodeOptions) {
    this.name = options.name;
    this.creation = options.creation ?? Date.now() * 1000 + Math.floor(Math.random() * 1000);
    this.clock = options.clock ?? new RealClock();
    this.log = (options.logger ?? createLogger()).child({ node: options.name });
    this.transport = options.transport ?? (options.bus ?? new LocalBus()).transport();
    this.encodeLocal = options.encodeLocal ?? false;
    this.callTimeout = options.callTimeout ?? DEFAULT_CALL_TIMEOUT;
  }

  static async start(options: NodeOptions): Promise<Node> {
    if (!/^[A-Za-z0-9_-]+$/.test(options.name)) {
      throw new Error(`node name ${JSON.stringify(options.name)}: use letters, digits, _ and - only`);
    }
    const node = new Node(options);
    await node.transport.start(
      { name: node.name, creation: node.creation },
      {
        frame: (bytes) => node.onFrame(bytes),
        nodeDown: (name, creation, observer) => node.onNodeDown(name, creation, observer === true),
        nodeUp: (name, _creation, observer) => {
          if (observer) node.log.debug({ observer: name }, 'observer connected');
          else node.log.info({ member: name }, `member joined: ${name}`);
        },
        memberChanged: (name, member) =>
          node.log.info({ member: name, joined: member }, member ? `member joined: ${name}` : `member draining: ${name} (reachable, no new work)`),
      },
    );
    return node;
  }

  // --- registry ------------------------------------------------------------------------------

  newPid(): Pid {
    return new Pid(this.name, this.creation, ++this.serial);
  }

  makeRef(): string {
    return `#${this.name}.${this.creation}.${++this.refs}`;
  }

  /** Register a behaviour under a name, so it can be started by name (also from other nodes). */
  registerBehaviour(name: string, behaviour: Behaviour): void {
    this.behaviours.set(name, behaviour);
  }

  /** The pid registered as `name` here (typed by the name's calls). */
  whereis<P extends Call = Call>(name: Name<P>): Pid<P> | undefined {
    return this.names.get(name) as Pid<P> | undefined;
  }

  /** Register `pid` (a live local process) under `name`. False if the name is taken. */
  register(name: string, pid: Pid): boolean {
    if (this.names.has(name) || pid.node !== this.name || !this.procs.has(pid.serial)) return false;
    this.names.set(name, pid);
    this.nameOf.set(pid.serial, name);
    return true;
  }

  isAlive(pid: Pid): boolean {
    return pid.node === this.name && pid.creation === this.creation && this.procs.has(pid.serial);
  }

  /** Local actors with their names, for status and chaos tooling. */
  actors(): { pid: Pid; name: string | undefined }[] {
    const out: { pid: Pid; name: string | undefined }[] = [];
    for (const ep of this.procs.values()) if (ep instanceof Actor) out.push({ pid: ep.pid, name: ep.name });
    return out;
  }

  /** The local actors themselves (for the status actor's detailed view). */
  actorProcesses(): Actor[] {
    const out: Actor[] = [];
    for (const ep of this.procs.values()) if (ep instanceof Actor) out.push(ep);
    return out;
  }

  /** Wait until node `name` is reachable (net_kernel:connect_node). */
  connect(name: string, timeoutMs = 5000): Promise<void> {
    return this.transport.whenUp(name, timeoutMs);
  }

  /** The cluster's members as this node sees them: up, draining or down. */
  peers(): { name: string; state: 'up' | 'draining' | 'down'; since?: number }[] {
    return this.transport.peers?.() ?? this.members().map((name) => ({ name, state: 'up' as const }));
  }

  /** Nodes the transport sees up, this one included (unless it is draining). */
  members(): string[] {
    return this.transport.members();
  }

  /** Whether node `name` is known to be down (see Transport.isDown): what a takeover may act on. */
  knownDown(name: string): boolean {
    return this.transport.isDown?.(name) ?? false;
  }

  /** Whether `pauseBus` can work on this node's bus (the in-process bus has nothing to cut). */
  canPauseBus(): boolean {
    return this.transport.pause !== undefined;
  }

  /** Cut this node off its bus for `ms` (a partition, for chaos tests). */
  pauseBus(ms: number): void {
    if (!this.transport.pause) throw new Error('this bus cannot be paused');
    this.transport.pause(ms);
  }

  /**
   * Draining: the node stays reachable but leaves the members, so placement gives its work to
   * the others (`aotp drain`). Only a bus that has members (NATS) supports it.
   */
  setDraining(on: boolean): void {
    if (!this.transport.setObserver) throw new Error('this bus has no membership to leave');
    this.transport.setObserver(on);
    this.isDraining = on;
  }

  /** Set by `setDraining`: reachable, but no longer a member that work is placed on. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Whether the bus reaches the other nodes now (a NATS connection that is up); true on the in-process bus. */
  get busConnected(): boolean {
    return this.transport.connected?.() ?? true;
  }

  unregister(proc: Endpoint): void {
    this.procs.delete(proc.pid.serial);
    const name = this.nameOf.get(proc.pid.serial);
    if (name !== undefined) {
      this.nameOf.delete(proc.pid.serial);
      this.names.delete(name);
    }
  }

  // --- routing -------------------------------------------------------------------------------

  /** Deliver a signal to a pid or name, here or on another node. */
  route(to: Target, sig: Signal): void {
    if (to instanceof Pid) {
      if (to.node !== this.name) return this.sendFrame(to.node, { src: this.name, cr: this.creation, to, sig }, sig, to);
      const ep = to.creation === this.creation ? this.procs.get(to.serial) : undefined;
      if (ep) ep.signal(this.encodeLocal && sig.k === 'msg' ? { k: 'msg', env: roundTrip(sig.env) } : sig);
      else this.deadLetter(to, sig);
    } else if (typeof to === 'string') {
      const pid = this.names.get(to);
      if (pid) this.route(pid, sig);
      else this.deadLetter(undefined, sig);
    } else if (to.node === this.name) {
      this.route(to.name, sig);
    } else {
      this.sendFrame(to.node, { src: this.name, cr: this.creation, name: to.name, sig }, sig, undefined);
    }
  }

  /** A signal for a process that does not exist: links and monitors learn `noproc`, the rest is dropped. */
  deadLetter(to: Pid | undefined, sig: Signal, reason: ExitReason = 'noproc'): void {
    if (sig.k === 'link' && to) this.route(sig.from, { k: 'exit', from: to, reason, link: true });
    else if (sig.k === 'mon') this.route(sig.from, { k: 'down', from: to, ref: sig.ref, reason });
    else if (sig.k === 'msg' && sig.env.t === 'call') {
      this.route(sig.env.from.pid, { k: 'down', from: to, ref: sig.env.from.ref, reason });
    }
  }

  private sendFrame(node: string, frame: Frame, sig: Signal | undefined, to: Pid | undefined): void {
    const bytes = encode(frame);
    if (!this.transport.send(node, bytes) && sig) {
      // As in Erlang: a link or monitor towards an unreachable node yields `noconnection`.
      queueMicrotask(() => this.deadLetter(to, sig, 'noconnection'));
    }
  }

  private onFrame(bytes: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decode(bytes) as Frame;
      if (typeof frame !== 'object' || frame === null || typeof frame.src !== 'string') throw new CodecError('not a frame');
    } catch (e) {
      this.log.warn({ err: (e as Error).message, bytes: bytes.length }, 'malformed frame dropped');
      return;
    }
    if (frame.src !== this.name && typeof frame.cr === 'number') this.transport.heard?.(frame.src, frame.cr);
    try {
      if ('sig' in frame) {
        if ('to' in frame) this.route(frame.to, frame.sig);
        else this.route(frame.name, frame.sig);
      } else if ('spawn' in frame) {
        void this.onRemoteSpawn(frame.src, frame.spawn);
      } else if ('spawned' in frame) {
        const pending = this.pendingSpawns.get(frame.spawned.ref);
        if (!pending) return;
        this.pendingSpawns.delete(frame.spawned.ref);
        const result = frame.spawned.result;
        // Link before anyone can observe the child: its exit signal may be the next frame.
        if ('ok' in result && pending.starter) pending.starter.links.set(result.ok.key, result.ok);
        pending.resolve(result);
      } else throw new CodecError('unknown frame kind');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'bad frame dropped');
    }
  }

  private onNodeDown(name: string, creation: number | undefined, observer: boolean): void {
    // An operator's tool (aotp status, chaos) coming and going is routine, not an event.
    if (observer) this.log.debug({ observer: name }, 'observer left');
    else this.log.info({ down: name }, `member left: ${name} (node down)`);
    for (const ep of [...this.procs.values()]) ep.nodeDown(name, creation);
    for (const [ref, p] of this.pendingSpawns) {
      if (p.node === name) {
        this.pendingSpawns.delete(ref);
        p.resolve({ error: 'noconnection' });
      }
    }
  }

  // --- starting actors -----------------------------------------------------------------------

  /** Start an actor (gen_server:start): resolves once its `init` has returned. */
  spawn<A, P extends Call>(spec: StartSpec<A, P>, options?: SpawnOptions): Promise<StartResult<P>> {
    return this.startActor(spec, options, undefined);
  }

  /** Start an actor, linked to `starter` when given (which then is its parent). */
  async startActor<A, P extends Call>(spec: StartSpec<A, P>, options: SpawnOptions | undefined, starter: Process | undefined): Promise<StartResult<P>> {
    const opts = { ...spec.options, ...options };
    if (opts.node !== undefined && opts.node !== this.name) {
      if (typeof spec.behaviour !== 'string') {
        return { error: new Error('a remote start names its behaviour as registered on that node') };
      }
      return this.remoteSpawn<P>(opts.node, {
        ref: this.makeRef(),
        behaviour: spec.behaviour,
        args: spec.args,
        parent: starter?.pid,
        name: opts.name,
        timeout: opts.timeout,
      }, starter);
    }
    const behaviour = typeof spec.behaviour === 'string' ? this.behaviours.get(spec.behaviour) : spec.behaviour;
    if (!behaviour) return { error: { undef: spec.behaviour } };
    if (opts.name !== undefined && this.names.has(opts.name)) return { error: { already_started: this.names.get(opts.name) } };
    const pid = this.newPid();
    const actor = new Actor(this, pid, behaviour, opts.name, starter?.pid);
    this.procs.set(pid.serial, actor);
    if (opts.name !== undefined) this.register(opts.name, pid);
    if (starter) {
      actor.links.set(starter.pid.key, starter.pid);
      starter.links.set(pid.key, pid);
    }
    // Start arguments stay local (they may hold behaviours and functions); only a remote start encodes them.
    return (await actor.start(spec.args, opts.timeout)) as StartResult<P>;
  }

  private remoteSpawn<P extends Call>(node: string, req: RemoteSpawn, starter: Process | undefined): Promise<StartResult<P>> {
    return new Promise((resolve) => {
      this.pendingSpawns.set(req.ref, { node, resolve: (r) => resolve(r as StartResult<P>), starter });
      let bytes: Uint8Array;
      try {
        bytes = encode({ src: this.name, cr: this.creation, spawn: req } satisfies Frame);
      } catch (e) {
        this.pendingSpawns.delete(req.ref);
        return resolve({ error: e });
      }
      if (!this.transport.send(node, bytes)) {
        this.pendingSpawns.delete(req.ref);
        resolve({ error: 'noconnection' });
      }
    });
  }

  private async onRemoteSpawn(src: string, req: RemoteSpawn): Promise<void> {
    const behaviour = this.behaviours.get(req.behaviour);
    let result: StartResult;
    if (!behaviour) result = { error: { undef: req.behaviour } };
    else if (req.name !== undefined && this.names.has(req.name)) result = { error: { already_started: this.names.get(req.name) } };
    else {
      const pid = this.newPid();
      const actor = new Actor(this, pid, behaviour, req.name, req.parent);
      this.procs.set(pid.serial, actor);
      if (req.name !== undefined) this.register(req.name, pid);
      // The starter's side of the link is set when it reads the reply (see onFrame).
      if (req.parent) actor.links.set(req.parent.key, req.parent);
      result = await actor.start(req.args, req.timeout);
    }
    let bytes: Uint8Array;
    try {
      bytes = encode({ src: this.name, cr: this.creation, spawned: { ref: req.ref, result } } satisfies Frame);
    } catch {
      bytes = encode({ src: this.name, cr: this.creation, spawned: { ref: req.ref, result: { error: formatReason((result as { error: unknown }).error) } } } satisfies Frame);
    }
    this.transport.send(src, bytes);
  }

  /** A process for code outside actors (tests, CLI, HTTP handlers). */
  inbox(): Inbox {
    const inbox = new Inbox(this, this.newPid());
    this.procs.set(inbox.pid.serial, inbox);
    return inbox;
  }

  // --- messaging -----------------------------------------------------------------------------

  /**
   * gen_server:call: monitor + send + wait (with timeout) + demonitor. The monitor travels with
   * the request, and the callee drops it when it replies, so a call is one signal each way.
   */
  readonly call: CallFn = (target, request, options) => this.request(target, request, options) as Promise<never>;

  private request(target: Target, request: unknown, options?: CallOptions): Promise<unknown> {
    const timeout = options?.timeout ?? this.callTimeout;
    return new Promise<unknown>((resolve, reject) => {
      const waiter = new CallWaiter(this, this.newPid(), this.makeRef(), target, resolve, reject);
      this.procs.set(waiter.pid.serial, waiter);
      try {
        this.route(target, { k: 'msg', env: { t: 'call', req: request, from: { pid: waiter.pid, ref: waiter.ref } } });
      } catch (e) {
        waiter.done(true);
        reject(e);
        return;
      }
      if (Number.isFinite(timeout)) waiter.timer = this.clock.setTimeout(() => waiter.expire(), timeout);
    });
  }

  /** Ends a call's wait: its waiter leaves the table, and the callee drops the monitor if asked. */
  endCall(w: CallWaiter, demonitor: boolean): void {
    this.procs.delete(w.pid.serial);
    if (w.timer) this.clock.clearTimeout(w.timer);
    if (demonitor) this.route(w.target, { k: 'demon', from: w.pid, ref: w.ref });
  }

  cast(target: Target, message: unknown): void {
    this.route(target, { k: 'msg', env: { t: 'cast', msg: message } });
  }

  /** A plain message, delivered to the receiver's handleInfo. */
  send(target: Target, message: unknown): void {
    this.route(target, { k: 'msg', env: { t: 'info', msg: message } });
  }

  /** Send an exit signal from outside any actor (its sender is a fresh, already dead pid). */
  exit(pid: Pid, reason: ExitReason): void {
    this.route(pid, { k: 'exit', from: this.newPid(), reason, link: false });
  }

  /**
   * Stop an actor in order (gen_server:stop): it finishes its current message, runs
   * `terminate(reason)` and exits. Resolves when it is gone; rejects with a CallError on timeout.
   */
  stopProcess(target: Target, reason: ExitReason = 'normal', timeout = Infinity): Promise<void> {
    const inbox = this.inbox();
    const ref = inbox.monitor(target);
    this.route(target, { k: 'msg', env: { t: 'stop', reason } satisfies Envelope });
    return inbox
      .receive((m) => (m as { ref?: string }).ref === ref, timeout)
      .then(
        () => inbox.close(),
        (e) => {
          inbox.close();
          throw new CallError('timeout', target, e);
        },
      );
  }

  /**
   * Chaos hook: kill (untrappably) every local actor whose name starts with `pattern`, matches
   * the RegExp, or whose pid is `pattern`. Returns the pids killed.
   */
  kill(pattern: string | RegExp | Pid, reason: ExitReason = 'kill'): Pid[] {
    const hit: Pid[] = [];
    for (const { pid, name } of this.actors()) {
      const match =
        pattern instanceof Pid
          ? pattern.equals(pid)
          : pattern instanceof RegExp
            ? name !== undefined && pattern.test(name)
            : name !== undefined && name.startsWith(pattern);
      if (match) hit.push(pid);
    }
    for (const pid of hit) this.exit(pid, reason);
    return hit;
  }

  /** Stop every actor (newest first, each allowed `timeout` ms to terminate) and leave the bus. */
  async stop(timeout = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const roots = [...this.procs.values()].filter((ep): ep is Actor => ep instanceof Actor && ep.parent === undefined).reverse();
    for (const actor of roots) {
      if (actor.dead) continue;
      await this.stopProcess(actor.pid, 'shutdown', timeout).catch(() => this.exit(actor.pid, 'kill'));
    }
    for (const ep of [...this.procs.values()]) if (ep instanceof Actor || ep instanceof Inbox) ep.die('shutdown');
    await this.transport.stop();
  }
}

/**
 * The caller's side of one call: a pid of its own that takes the reply or the monitor's `down`.
 * A class, not closures: a call makes one of these and nothing else per call.
 */
class CallWaiter implements Endpoint {
  timer: TimerHandle | undefined;

  constructor(
    private readonly node: Node,
    readonly pid: Pid,
    readonly ref: string,
    readonly target: Target,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  done(demonitor: boolean): void {
    this.node.endCall(this, demonitor);
  }

  signal(sig: Signal): void {
    if (sig.k === 'msg' && sig.env.t === 'reply' && sig.env.ref === this.ref) {
      this.done(!sig.env.mon);
      this.resolve(sig.env.value);
    } else if (sig.k === 'down' && sig.ref === this.ref) {
      this.done(false);
      const kind = sig.reason === 'noproc' ? 'noproc' : sig.reason === 'noconnection' ? 'noconnection' : 'exit';
      this.reject(new CallError(kind, this.target, sig.reason));
    }
  }

  nodeDown(node: string): void {
    const t = this.target;
    const targetNode = t instanceof Pid ? t.node : typeof t === 'string' ? this.node.name : t.node;
    if (targetNode === node) this.signal({ k: 'down', from: undefined, ref: this.ref, reason: 'noconnection' });
  }

  expire(): void {
    this.done(true);
    this.reject(new CallError('timeout', this.target));
  }
}
