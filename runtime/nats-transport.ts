import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from 'nats';
import { decode, encode } from './codec.js';
import type { Transport, TransportHandlers } from './transport.js';

export interface NatsTransportOptions {
  /** One or more `nats://host:port` URLs. */
  servers: string | string[];
  /** Subject prefix shared by the nodes of one cluster (default `aotp`). */
  cluster?: string;
  /** How often a node announces itself (ms, default 250). */
  heartbeatMs?: number;
  /** A node not heard from for this long is down (ms, default 4 × heartbeat). */
  downAfterMs?: number;
  /** Credentials and TLS, passed to nats.js as they are. */
  auth?: Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'tls'>;
  /**
   * Join as an observer (an operator's tool, such as `aotp status`): reachable by every node,
   * but not one of the cluster's members, so nothing is placed on it.
   */
  observer?: boolean;
  /**
   * Refuse to start (DuplicateNode) when a live node already has this name: the start waits
   * this many ms for its answer to this node's hello (0 or absent: no check).
   */
  uniqueNameWaitMs?: number;
}

/** Another live node of the cluster has this node's name. */
export class DuplicateNode extends Error {
  override readonly name = 'DuplicateNode';
}

interface Member {
  creation: number;
  lastSeen: number;
  observer: boolean;
  draining: boolean;
  /** The peer's own heartbeat interval, ms: it is judged by its own rhythm, not this node's. */
  heartbeatMs: number;
}

interface Beat {
  name: string;
  creation: number;
  /**
   * `hello`: a node just started and wants everyone's beat now; `bye`: it is leaving; `probe`:
   * a node about to start asks whether its name is taken (not a member, nothing else answers).
   */
  kind: 'beat' | 'hello' | 'bye' | 'probe';
  /** Set by observers (see NatsTransportOptions.observer). */
  observer?: true;
  /** Set by a member that left the members to hand its work over (an observer that was one). */
  draining?: true;
  /** The sender's heartbeat interval, ms (absent from older nodes). */
  hb?: number;
}

/**
 * Nodes over NATS. Each node subscribes to `<cluster>.node.<name>` for its frames; one
 * connection per node keeps frames between two nodes in order. Membership is by heartbeat on
 * `<cluster>.hb`: a node is up from its first beat and down when it says bye, misses beats for
 * `downAfterMs`, comes back with a new incarnation, or this node loses its NATS connection.
 *
 * A node is *known* down (`isDown`) only when this node has been listening long enough to have
 * heard it: for `downAfterMs` since it started, reconnected, came back from a pause, or was
 * itself frozen (a check that comes late by more than `downAfterMs`: SIGSTOP, a long stall). A
 * node that could not hear anyone cannot tell who is down, so it must not take anything over.
 */
export class NatsTransport implements Transport {
  private nc: NatsConnection | undefined;
  private self = { name: '', creation: 0 };
  private handlers!: TransportHandlers;
  private readonly live = new Map<string, Member>();
  private readonly waiting = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;
  private subs: Subscription[] = [];
  private readonly prefix: string;
  private readonly heartbeatMs: number;
  private readonly downAfterMs: number;
  /** Set by setObserver(true): a member handing its work over, not an operator's tool. */
  private draining = false;
  /** Members that went down, and since when (ms since the epoch). */
  private readonly gone = new Map<string, number>();
  /** The creation of another live node that beats with this node's name, if one was heard. */
  private clash: number | undefined;
  /** False from a disconnect until the client reconnects. */
  private up = false;
  /** While set, this node neither sends nor hears anything: a partition, for chaos tests. */
  private paused: NodeJS.Timeout | undefined;
  /** Since when this node has heard the bus without a gap (unix ms). */
  private listeningSince = 0;
  private lastCheck = 0;

  constructor(private readonly options: NatsTransportOptions) {
    this.options = { ...options };
    this.prefix = options.cluster ?? 'aotp';
    this.heartbeatMs = options.heartbeatMs ?? 250;
    this.downAfterMs = options.downAfterMs ?? 4 * this.heartbeatMs;
  }

  /** The NATS connection (for JetStream use by cluster services). */
  get connection(): NatsConnection {
    if (!this.nc) throw new Error('NATS transport not started');
    return this.nc;
  }

  async start(self: { name: string; creation: number }, handlers: TransportHandlers): Promise<void> {
    this.self = self;
    this.handlers = handlers;
    // The first connect fails fast (bad credentials, TLS, nobody listening); only later drops reconnect forever.
    this.nc = await connect({
      servers: this.options.servers,
      name: `aotp-${self.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // No stack captured per request (a few µs each; thousands per second under load).
      noAsyncTraces: true,
      ...this.options.auth,
    }).catch((e: Error & { code?: string }) => {
      const why = e.code === 'AUTHORIZATION_VIOLATION' ? 'NATS authorization failed (check nats.user/pass or nats.token)' : 'cannot connect to NATS';
      throw Object.assign(new Error(`${why} at ${[this.options.servers].flat().join(', ')}: ${e.message}`, { cause: e }), { code: e.code });
    });
    this.up = true;
    const beats = this.nc.subscribe(`${this.prefix}.hb`, { callback: (err, msg) => !err && !this.paused && this.onBeat(msg.data) });
    this.subs = [beats];
    void this.watchStatus(this.nc);
    await this.nc.flush();
    if (this.options.uniqueNameWaitMs) {
      // A probe is not a hello: nobody takes it for a new incarnation of the name (which would
      // mark the running one down); a live node of that name answers it with a beat at once.
      this.beat('probe');
      await new Promise((r) => setTimeout(r, this.options.uniqueNameWaitMs));
      if (this.clash !== undefined) {
        const servers = [this.options.servers].flat().join(', ');
        for (const sub of this.subs) sub.unsubscribe();
        await this.nc.close();
        throw new DuplicateNode(`a node named ${self.name} is already running in cluster ${this.prefix} (on NATS ${servers}): give this node another name (nodeName, --node-name)`);
      }
    }
    this.live.set(self.name, { creation: self.creation, lastSeen: Date.now(), observer: this.options.observer === true, draining: false, heartbeatMs: this.heartbeatMs });
    this.listeningSince = this.lastCheck = Date.now();
    this.beat('hello');
    const frames = this.nc.subscribe(`${this.prefix}.node.${self.name}`, {
      callback: (err, msg) => {
        if (!err && !this.paused) handlers.frame(msg.data);
      },
    });
    this.subs.push(frames);
    this.timer = setInterval(() => this.beat('beat'), this.heartbeatMs);
    this.timer.unref();
    // Silence is looked for more often than beats go out, so that a node is down within
    // downAfterMs plus a tenth of it, not plus a heartbeat.
    this.checker = setInterval(() => this.check(), Math.max(20, Math.min(this.heartbeatMs, Math.floor(this.downAfterMs / 10))));
    this.checker.unref();
  }

  private beat(kind: Beat['kind']): void {
    if (!this.nc || this.nc.isClosed() || this.paused) return;
    const beat: Beat = {
      name: this.self.name,
      creation: this.self.creation,
      kind,
      hb: this.heartbeatMs,
      ...(this.options.observer ? { observer: true as const } : {}),
      ...(this.draining ? { draining: true as const } : {}),
    };
    this.nc.publish(`${this.prefix}.hb`, encode(beat));
  }

  private onBeat(data: Uint8Array): void {
    let b: Beat;
    try {
      b = decode(data) as Beat;
      if (typeof b?.name !== 'string' || typeof b.creation !== 'number') return;
    } catch {
      return; // a malformed beat is ignored
    }
    if (b.kind === 'probe') {
      // A node about to start with this node's name: tell it at once that the name is taken.
      if (b.name === this.self.name && b.creation !== this.self.creation && this.live.has(this.self.name)) this.beat('beat');
      return;
    }
    if (b.name === this.self.name) {
      if (b.creation !== this.self.creation && b.kind !== 'bye') this.clash = b.creation;
      return;
    }
    const known = this.live.get(b.name);
    if (b.kind === 'bye') {
      if (known && known.creation === b.creation) this.down(b.name, known.creation);
      return;
    }
    if (known && known.creation !== b.creation) this.down(b.name, known.creation);
    const heartbeatMs = typeof b.hb === 'number' && b.hb > 0 ? b.hb : this.heartbeatMs;
    if (!known || known.creation !== b.creation) {
      this.live.set(b.name, { creation: b.creation, lastSeen: Date.now(), observer: b.observer === true, draining: b.draining === true, heartbeatMs });
      this.gone.delete(b.name);
      this.handlers.nodeUp?.(b.name, b.creation, b.observer === true);
      for (const resolve of this.waiting.get(b.name) ?? []) resolve();
      this.waiting.delete(b.name);
    } else {
      known.lastSeen = Date.now();
      known.heartbeatMs = heartbeatMs;
      known.draining = b.draining === true;
      if (known.observer !== (b.observer === true)) {
        known.observer = b.observer === true;
        this.handlers.memberChanged?.(b.name, !known.observer);
      }
    }
    if (b.kind === 'hello') this.beat('beat');
  }

  private check(): void {
    const now = Date.now();
    const late = now - this.lastCheck > this.downAfterMs;
    this.lastCheck = now;
    if (late) {
      // This node was frozen: silence from the others says nothing about them. Start listening
      // afresh instead of declaring them all down.
      this.listeningSince = now;
      for (const m of this.live.values()) m.lastSeen = now;
      this.beat('hello');
      return;
    }
    for (const [name, m] of this.live) {
      // A peer that beats more slowly than this node (an operator's tool on the default interval)
      // is given three of its own beats.
      if (name !== this.self.name && now - m.lastSeen > Math.max(this.downAfterMs, 3 * m.heartbeatMs)) this.down(name, m.creation);
    }
  }

  private down(name: string, creation: number): void {
    const m = this.live.get(name);
    const observer = m?.observer === true && !m.draining;
    if (!observer) {
      this.gone.set(name, Date.now());
      if (this.gone.size > 256) this.gone.delete(this.gone.keys().next().value!);
    }
    this.live.delete(name);
    this.handlers.nodeDown(name, creation, observer);
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.up = false;
        // Cut off from NATS: every other node is unreachable, as in a net split.
        for (const [name, m] of [...this.live]) if (name !== this.self.name) this.down(name, m.creation);
      } else if (s.type === 'reconnect') {
        this.listeningSince = Date.now();
        this.up = true;
        this.beat('hello');
      }
    }
  }

  /**
   * A node that sent a frame is reachable; until its beat says whether it is a member it counts
   * as an observer (an operator's tool also sends frames, and must not be given work).
   */
  heard(node: string, creation: number): void {
    if (this.paused || !this.self || node === this.self.name || this.live.has(node)) return;
    this.live.set(node, { creation, lastSeen: Date.now(), observer: true, draining: false, heartbeatMs: this.heartbeatMs });
    this.gone.delete(node);
    this.handlers.nodeUp?.(node, creation, true);
  }

  connected(): boolean {
    return this.up && !!this.nc && !this.nc.isClosed();
  }

  send(node: string, frame: Uint8Array): boolean {
    if (this.paused) return false;
    if (!this.nc || this.nc.isClosed() || this.nc.isDraining() || !this.live.has(node)) return false;
    this.nc.publish(`${this.prefix}.node.${node}`, frame);
    return true;
  }

  /** Nodes up, this one included; observers (operators' tools) are reachable but not members. */
  /**
   * Cuts this node off the bus for `ms` (frames and heartbeats dropped both ways), as a network
   * partition would: every other node is down to it, and it to them, until it comes back.
   */
  pause(ms: number): void {
    if (this.paused) clearTimeout(this.paused);
    for (const [name, m] of [...this.live]) if (name !== this.self.name) this.down(name, m.creation);
    this.paused = setTimeout(() => {
      this.paused = undefined;
      this.listeningSince = Date.now();
      this.beat('hello');
    }, ms);
    this.paused.unref();
  }

  setObserver(on: boolean): void {
    this.options.observer = on;
    this.draining = on;
    const me = this.live.get(this.self.name);
    if (me) me.observer = on;
    // Everyone hears it now, not at the next beat.
    this.beat('beat');
  }

  /** Members up, draining, and gone (until they come back); operators' tools are left out. */
  peers(): { name: string; state: 'up' | 'draining' | 'down'; since?: number }[] {
    const out: { name: string; state: 'up' | 'draining' | 'down'; since?: number }[] = [];
    for (const [name, m] of this.live) {
      if (!m.observer) out.push({ name, state: 'up' });
      else if (m.draining) out.push({ name, state: 'draining' });
    }
    for (const [name, since] of this.gone) out.push({ name, state: 'down', since });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  members(): string[] {
    return [...this.live].filter(([, m]) => !m.observer).map(([name]) => name);
  }

  /** `node` is not up, and this node has listened long enough to have heard it if it were. */
  isDown(node: string): boolean {
    if (node === this.self.name || this.paused || this.live.has(node)) return false;
    return Date.now() - this.listeningSince >= this.downAfterMs;
  }

  /** Resolves once `node` is up (as net_kernel:connect_node); rejects after `timeoutMs`. */
  whenUp(node: string, timeoutMs = 5000): Promise<void> {
    if (this.live.has(node)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.get(node)?.delete(done);
        reject(new Error(`node ${node} not seen on NATS within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      if (!this.waiting.has(node)) this.waiting.set(node, new Set());
      this.waiting.get(node)!.add(done);
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.checker) clearInterval(this.checker);
    if (this.paused) clearTimeout(this.paused);
    this.paused = undefined;
    if (!this.nc || this.nc.isClosed()) return;
    this.beat('bye');
    for (const s of this.subs) s.unsubscribe();
    await this.nc.drain().catch(() => this.nc?.close());
    this.live.clear();
  }
}
