/**
 * A simulated bus: the Transport of every node of a simulation, with delivery scheduled by the
 * seed. It keeps what the NATS transport guarantees and nothing more:
 *
 * - frames from one node to another arrive in the order sent, after a seeded delay; frames of
 *   different pairs interleave in any order the delays give;
 * - a frame may be lost (when loss is on), and every frame in flight across a cut is lost;
 * - membership is by heartbeat: a node learns of another within a heartbeat of being able to
 *   hear it, and takes it for down `downAfterMs` (plus up to a heartbeat) after it fell silent
 *   (crashed, cut off, or stalled); a node that stops says so and is down at once;
 * - `isDown` is what the NATS transport answers: not up, and listened to for long enough.
 *
 * Heartbeats are not simulated one by one; what they would make each node believe, and when, is.
 */
import type { Transport, TransportHandlers } from '../transport.js';
import type { SimScheduler } from './scheduler.js';
import { shortHash } from './trace.js';

export interface SimBusOptions {
  sched: SimScheduler;
  /** Uniform [0, 1), from the seed. */
  random: () => number;
  heartbeatMs: number;
  downAfterMs: number;
  /** One-way delivery delay of a frame, ms (drawn per frame). */
  delay: () => number;
  /** Whether this frame is lost (drawn per frame; default never). */
  lose?: () => boolean;
  /** What happened, for the trace. */
  trace?: (what: string) => void;
}

interface Member {
  name: string;
  creation: number;
  owner: string;
  handlers: TransportHandlers;
  /** Peers this node takes for up, with their incarnation. */
  view: Map<string, number>;
  listeningSince: number;
  waiting: Map<string, Set<() => void>>;
  /** Cut off from everyone (and, for the simulation, from JetStream too) until healed. */
  isolated: boolean;
  stalledUntil: number;
}

const pair = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

export class SimBus {
  private readonly members = new Map<string, Member>();
  private readonly cuts = new Set<string>();
  /** Last delivery time per ordered pair, so that frames keep their order. */
  private readonly last = new Map<string, number>();
  /** Frames sent, delivered and lost. */
  readonly stats = { sent: 0, delivered: 0, lost: 0 };

  constructor(private readonly o: SimBusOptions) {}

  /** A Transport for one node incarnation; `owner` names its events (see SimScheduler). */
  transport(owner: string): Transport & { isDown(node: string): boolean } {
    return new SimTransport(this, owner);
  }

  private get now(): number {
    return this.o.sched.now();
  }

  private trace(what: string): void {
    this.o.trace?.(what);
  }

  /** Whether a and b can hear each other now. */
  connected(a: string, b: string): boolean {
    const ma = this.members.get(a);
    const mb = this.members.get(b);
    if (!ma || !mb) return false;
    return !ma.isolated && !mb.isolated && !this.cuts.has(pair(a, b));
  }

  isIsolated(name: string): boolean {
    return this.members.get(name)?.isolated ?? false;
  }

  attach(name: string, creation: number, owner: string, handlers: TransportHandlers): void {
    if (this.members.has(name)) throw new Error(`a node named ${name} is already on this bus`);
    const m: Member = { name, creation, owner, handlers, view: new Map([[name, creation]]), listeningSince: this.now, waiting: new Map(), isolated: false, stalledUntil: 0 };
    this.members.set(name, m);
    this.trace(`bus ${name}:${creation} joins`);
    for (const other of this.members.values()) {
      if (other === m) continue;
      // Its hello is heard after a delivery; the answering beat comes back after another.
      this.later(this.o.delay(), () => this.learn(other, m));
      this.later(2 * this.o.delay(), () => this.learn(m, other));
    }
  }

  /** The node left: `graceful` (it said bye) or crashed (the others notice its silence). */
  detach(name: string, creation: number, graceful: boolean): void {
    const m = this.members.get(name);
    if (!m || m.creation !== creation) return;
    this.members.delete(name);
    this.trace(`bus ${name}:${creation} ${graceful ? 'leaves' : 'crashes'}`);
    for (const other of this.members.values()) {
      const wait = graceful ? this.o.delay() : this.silence();
      this.later(wait, () => this.forget(other, name, creation));
    }
  }

  /** Cuts the links between `a` and `b` (both ways) until `heal`. */
  cut(a: string, b: string): void {
    if (a === b || this.cuts.has(pair(a, b))) return;
    this.cuts.add(pair(a, b));
    this.trace(`bus cut ${a}|${b}`);
    this.noticeSilence(a, b);
    this.noticeSilence(b, a);
  }

  heal(a: string, b: string): void {
    if (!this.cuts.delete(pair(a, b))) return;
    this.trace(`bus heal ${a}|${b}`);
    this.reconnect(a, b);
  }

  /** Cuts `name` off everyone (a node that lost its NATS connection) until `rejoin`. */
  isolate(name: string): void {
    const m = this.members.get(name);
    if (!m || m.isolated) return;
    m.isolated = true;
    this.trace(`bus isolate ${name}`);
    // It sees its connection drop at once: everyone is down to it.
    for (const [peer, creation] of [...m.view]) if (peer !== name) this.forget(m, peer, creation);
    for (const other of this.members.values()) if (other !== m) this.noticeSilence(other.name, name);
  }

  rejoin(name: string): void {
    const m = this.members.get(name);
    if (!m || !m.isolated) return;
    m.isolated = false;
    m.listeningSince = this.now;
    this.trace(`bus rejoin ${name}`);
    for (const other of this.members.values()) if (other !== m) this.reconnect(name, other.name);
  }

  /**
   * `name` is frozen for `ms` (its events are deferred by the scheduler): the others stop
   * hearing it; when it wakes it notices it was frozen and listens afresh.
   */
  stall(name: string, ms: number): void {
    const m = this.members.get(name);
    if (!m) return;
    m.stalledUntil = Math.max(m.stalledUntil, this.now + ms);
    this.trace(`bus stall ${name} ${ms}ms`);
    for (const other of this.members.values()) if (other !== m) this.noticeSilence(other.name, name);
    this.later(ms, () => {
      if (this.members.get(name) !== m || this.now < m.stalledUntil) return;
      m.listeningSince = this.now;
      for (const other of this.members.values()) if (other !== m) this.reconnect(name, other.name);
    });
  }

  /** After `downAfterMs` and up to a heartbeat more, `observer` takes a silent `peer` for down. */
  private noticeSilence(observer: string, peer: string): void {
    const o = this.members.get(observer);
    const p = this.members.get(peer);
    if (!o || !p) return;
    const creation = p.creation;
    this.later(this.silence(), () => {
      if (this.members.get(observer) !== o) return;
      if (this.hears(o, p)) return; // healed (or woke) meanwhile
      this.forget(o, peer, creation);
    });
  }

  /** Whether `o` hears `p`'s heartbeats now. */
  private hears(o: Member, p: Member): boolean {
    return this.members.get(p.name) === p && this.connected(o.name, p.name) && this.now >= p.stalledUntil;
  }

  private reconnect(a: string, b: string): void {
    const ma = this.members.get(a);
    const mb = this.members.get(b);
    if (!ma || !mb) return;
    this.later(this.o.random() * this.o.heartbeatMs, () => this.learn(ma, mb));
    this.later(this.o.random() * this.o.heartbeatMs, () => this.learn(mb, ma));
  }

  private silence(): number {
    return this.o.downAfterMs + this.o.random() * this.o.heartbeatMs;
  }

  /** `o` hears `p` (a hello or a beat). */
  private learn(o: Member, p: Member): void {
    if (this.members.get(o.name) !== o || !this.hears(o, p)) return;
    const known = o.view.get(p.name);
    if (known === p.creation) return;
    if (known !== undefined) this.forget(o, p.name, known);
    o.view.set(p.name, p.creation);
    this.trace(`bus ${o.name} sees ${p.name}:${p.creation} up`);
    o.handlers.nodeUp?.(p.name, p.creation);
    for (const resolve of o.waiting.get(p.name) ?? []) resolve();
    o.waiting.delete(p.name);
  }

  private forget(o: Member, peer: string, creation: number): void {
    if (this.members.get(o.name) !== o || o.view.get(peer) !== creation) return;
    o.view.delete(peer);
    this.trace(`bus ${o.name} sees ${peer}:${creation} down`);
    o.handlers.nodeDown(peer, creation);
  }

  /** A bus event: belongs to no node, so a crash does not cancel it. */
  private later(ms: number, fn: () => void): void {
    this.o.sched.after(ms, fn, undefined, 'bus');
  }

  /** An event of node incarnation `owner` (a crash cancels it). */
  schedule(ms: number, fn: () => void, owner: string): void {
    this.o.sched.after(ms, fn, owner, 'bus');
  }

  // --- what a node's transport does ------------------------------------------------------------

  member(owner: string): Member | undefined {
    for (const m of this.members.values()) if (m.owner === owner) return m;
    return undefined;
  }

  send(owner: string, to: string, frame: Uint8Array): boolean {
    const from = this.member(owner);
    if (!from || !from.view.has(to)) return false;
    const target = this.members.get(to);
    this.stats.sent++;
    if (!target || !this.connected(from.name, to) || this.o.lose?.()) {
      this.stats.lost++;
      this.trace(`bus lost ${from.name}>${to} ${frame.byteLength}B`);
      return true;
    }
    const key = `${from.name}>${to}`;
    this.trace(`bus ${key} ${shortHash(frame)}`);
    const at = Math.max(this.now + this.o.delay(), this.last.get(key) ?? 0);
    this.last.set(key, at);
    // The target's event: a crash drops it, a stall defers it.
    this.o.sched.at(
      at,
      () => {
        if (this.members.get(to) !== target || !this.connected(from.name, to)) {
          this.stats.lost++;
          this.trace(`bus lost ${from.name}>${to} ${frame.byteLength}B (cut in flight)`);
          return;
        }
        this.stats.delivered++;
        target.handlers.frame(frame);
      },
      target.owner,
      'deliver',
    );
    return true;
  }

  /** A frame from `node` reached `owner`: as good as a beat (see Transport.heard). */
  heard(owner: string, node: string, creation: number): void {
    const o = this.member(owner);
    const p = this.members.get(node);
    if (!o || !p || p.creation !== creation || o.view.has(node)) return;
    this.learn(o, p);
  }

  view(owner: string): string[] {
    const m = this.member(owner);
    return m ? [...m.view.keys()] : [];
  }

  isDown(owner: string, node: string): boolean {
    const m = this.member(owner);
    if (!m || node === m.name || m.isolated || m.view.has(node)) return false;
    return this.now - m.listeningSince >= this.o.downAfterMs;
  }

  whenUp(owner: string, node: string, timeoutMs: number): Promise<void> {
    const m = this.member(owner);
    if (!m) return Promise.reject(new Error('not on the bus'));
    if (m.view.has(node)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = this.o.sched.after(
        timeoutMs,
        () => {
          m.waiting.get(node)?.delete(done);
          reject(new Error(`node ${node} not seen on the bus within ${timeoutMs} ms`));
        },
        owner,
        'whenUp',
      );
      const done = () => {
        this.o.sched.cancel(t);
        resolve();
      };
      if (!m.waiting.has(node)) m.waiting.set(node, new Set());
      m.waiting.get(node)!.add(done);
    });
  }
}

class SimTransport implements Transport {
  private self: { name: string; creation: number } | undefined;

  constructor(
    private readonly bus: SimBus,
    private readonly owner: string,
  ) {}

  async start(self: { name: string; creation: number }, handlers: TransportHandlers): Promise<void> {
    this.self = self;
    this.bus.attach(self.name, self.creation, this.owner, handlers);
  }

  send(node: string, frame: Uint8Array): boolean {
    return this.bus.send(this.owner, node, frame);
  }

  members(): string[] {
    return this.bus.view(this.owner);
  }

  whenUp(node: string, timeoutMs = 5000): Promise<void> {
    return this.bus.whenUp(this.owner, node, timeoutMs);
  }

  isDown(node: string): boolean {
    return this.bus.isDown(this.owner, node);
  }

  heard(node: string, creation: number): void {
    this.bus.heard(this.owner, node, creation);
  }

  pause(ms: number): void {
    if (!this.self) return;
    const name = this.self.name;
    this.bus.isolate(name);
    this.bus.schedule(ms, () => this.bus.rejoin(name), this.owner);
  }

  async stop(): Promise<void> {
    if (this.self) this.bus.detach(this.self.name, this.self.creation, true);
  }
}
