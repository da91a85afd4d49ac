/**
 * A simulated world: one scheduler (virtual time), one bus, a disk per node name, the nodes'
 * current incarnations, the trace, and the seed's random streams. Faults act on it (crash,
 * restart, partition, stall, slow disk, clock jump, actor kill); the workload and the
 * invariants read it.
 *
 * While a world runs, Date.now, performance.now and Math.random are the world's (virtual time
 * and a seeded stream): a library that reads them (a logger, a module's glue code) then reads
 * the same values in every replay.
 */
import { createHash } from 'node:crypto';
import { prng } from '../runtime/prng.js';
import { SimBus } from '../runtime/sim/bus.js';
import { SimDisk } from '../runtime/sim/disk.js';
import { SimJetStream } from '../runtime/sim/jetstream.js';
import { SimScheduler } from '../runtime/sim/scheduler.js';
import { Trace } from '../runtime/sim/trace.js';
import type { Config } from '../config/schema.js';
import { CallWatch } from './calls.js';
import { HEARTBEAT_MS, SimNode, type SimWallets } from './node.js';
import { seededNonceWallet } from './signer.js';
import { seededWallet } from './wallets.js';

/** 2024-01-01T00:00:00Z: the worlds' wall clock at virtual time 0. */
export const EPOCH = 1_704_067_200_000;

export interface WorldOptions {
  seed: number;
  nodes: number;
  heartbeatMs?: number;
  downAfterMs?: number;
  /** Loss of single frames between nodes (probability per frame). */
  loss?: number;
  config?: Partial<Config>;
  /** Print every trace line. */
  verbose?: (line: string) => void;
}

export interface LogLine {
  node: string;
  creation: number;
  level: number;
  msg: string;
  line: Record<string, unknown>;
}

export class World {
  readonly sched = new SimScheduler();
  readonly trace: Trace;
  readonly bus: SimBus;
  /** In a cluster (more than one node): the JetStream the nodes share. */
  readonly jetstream: SimJetStream | undefined;
  readonly names: string[];
  readonly disks = new Map<string, SimDisk>();
  /** The current incarnation of each node (a crashed one stays until restarted, flagged). */
  readonly nodes = new Map<string, SimNode>();
  readonly wallets: SimWallets;
  /** Log lines at warn and above of every incarnation. */
  readonly logs: LogLine[] = [];
  readonly calls = new CallWatch();
  /** Messages evaluated ahead of their commit on every node, and those dropped (the log did not hold their run). */
  readonly ahead = { evaluated: 0, abandoned: 0 };
  /** Instances made per process, on every node (more than one: restored, restarted, moved). */
  readonly instantiations = new Map<string, number>();
  private readonly streams = new Map<string, () => number>();
  private readonly slowUntil = new Map<string, number>();
  /** Disk commits still to fail, by node. */
  private readonly failingCommits = new Map<string, number>();
  private creations = 0;
  private saved: { dateNow: typeof Date.now; perfNow: typeof performance.now; random: typeof Math.random } | undefined;

  constructor(readonly o: WorldOptions) {
    this.trace = new Trace(() => this.sched.now(), 300, o.verbose);
    this.names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
    const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
    const net = this.random('net');
    this.bus = new SimBus({
      sched: this.sched,
      random: net,
      heartbeatMs,
      downAfterMs: o.downAfterMs ?? 4 * heartbeatMs,
      // Mostly a fraction of a millisecond, sometimes a few: NATS on a LAN.
      delay: () => (net() < 0.9 ? 0.2 + net() * 0.8 : 1 + net() * 9),
      ...(o.loss ? { lose: () => net() < o.loss! } : {}),
      trace: (what) => this.trace.record(what),
    });
    // Every event that fires is a trace line: two runs of a seed fire the same events in the same order.
    this.sched.onFire = (e) => {
      if (e.label !== 'until' && e.label !== 'check') this.trace.record(`${e.label}${e.owner ? ` ${e.owner}` : ''}`);
    };
    if (o.nodes > 1) {
      const jr = this.random('jetstream');
      this.jetstream = new SimJetStream({
        sched: this.sched,
        random: jr,
        latency: () => (jr() < 0.95 ? 0.3 + jr() * 1.2 : 2 + jr() * 20),
        // R3 on nats-server 2.9.10: the expected-sequence check lags what is in flight.
        applyLagMs: 3,
        answerLoss: 0.002,
        trace: (what) => this.trace.record(what),
      });
      // A node reaches NATS when it is a live incarnation that is not cut off.
      this.jetstream.reachable = (owner) => {
        if (owner === 'inspector') return true;
        const n = [...this.nodes.values()].find((x) => x.owner === owner);
        return n !== undefined && !n.crashed && !this.bus.isIsolated(n.name);
      };
    }
    const keys = this.random('wallets');
    // One wallet per unit for the whole cluster, as operators configure a cluster's nodes.
    this.wallets = { su: seededWallet(keys), mu: seededWallet(keys), cu: seededWallet(keys) };
  }

  /** A random stream of this world, named for what it decides (so streams do not shift each other). */
  random(label: string): () => number {
    let r = this.streams.get(label);
    if (!r) {
      const h = createHash('sha256').update(`${this.o.seed}/${label}`).digest();
      this.streams.set(label, (r = prng(h.readUInt32LE(0))));
    }
    return r;
  }

  get now(): number {
    return this.sched.now();
  }

  /** Live nodes (not crashed), in name order. */
  live(): SimNode[] {
    return this.names.map((n) => this.nodes.get(n)).filter((n): n is SimNode => n !== undefined && !n.crashed && n.started);
  }

  /** Makes the world's clock and randomness the realm's (see the file comment). */
  install(): void {
    if (this.saved) return;
    this.saved = { dateNow: Date.now, perfNow: performance.now, random: Math.random };
    const realm = this.random('realm');
    Date.now = () => EPOCH + Math.floor(this.sched.now());
    performance.now = () => this.sched.now();
    Math.random = realm;
  }

  uninstall(): void {
    if (!this.saved) return;
    Date.now = this.saved.dateNow;
    performance.now = this.saved.perfNow;
    Math.random = this.saved.random;
    this.saved = undefined;
  }

  private disk(name: string): SimDisk {
    let d = this.disks.get(name);
    if (!d) this.disks.set(name, (d = new SimDisk()));
    return d;
  }

  /** Starts a new incarnation of node `name` on its disk. */
  async start(name: string): Promise<SimNode> {
    const creation = ++this.creations;
    const diskRng = this.random(`disk:${name}`);
    const node = new SimNode(
      {
        sched: this.sched,
        bus: this.bus,
        disk: this.disk(name),
        wallets: this.wallets,
        ...(this.jetstream ? { jetstream: this.jetstream, leaseIds: () => Math.floor(this.random(`leases:${name}`)() * 2 ** 48).toString(16) } : {}),
        muSigner: seededNonceWallet(this.wallets.mu, this.random(`mu-nonces:${name}:${creation}`)),
        epoch: EPOCH,
        calls: this.calls,
        ahead: this.ahead,
        diskFails: () => {
          const left = this.failingCommits.get(name) ?? 0;
          if (left > 0) this.failingCommits.set(name, left - 1);
          return left > 0;
        },
        // fsync: ~1 ms, a slow disk 20-200 ms.
        diskLatency: () => ((this.slowUntil.get(name) ?? 0) > this.now ? 20 + diskRng() * 180 : 0.5 + diskRng() * 1.5),
        evalCost: (op, args) => {
          const r = this.random(`cpu:${name}`)();
          const pid = (args as { env?: { Process?: { Id?: string } } })?.env?.Process?.Id;
          if (op === 'instantiate' && pid) this.instantiations.set(pid, (this.instantiations.get(pid) ?? 0) + 1);
          if (op === 'eval' || op === 'evalBatch' || op === 'dryRun') return 0.3 + r * 2;
          if (op === 'instantiate') return 10 + r * 30;
          return 5 + r * 20;
        },
        onLog: (node, line) => {
          const msg = String(line.msg ?? '');
          this.logs.push({ node, creation, level: Number(line.level), msg, line });
          this.trace.record(`log ${node}:${creation} ${Number(line.level) >= 50 ? 'error' : 'warn'} ${msg}${line.name ? ` (${String(line.name)})` : ''}`);
        },
      },
      { name, creation, ...(this.o.config ? { config: this.o.config } : {}) },
    );
    this.nodes.set(name, node);
    this.trace.record(`start ${name}:${creation}`);
    await node.start();
    this.trace.record(`started ${name}:${creation}`);
    return node;
  }

  crash(name: string, keepDisk: boolean): void {
    const n = this.nodes.get(name);
    if (!n || n.crashed) return;
    n.crash();
    if (!keepDisk) this.disks.set(name, new SimDisk());
    this.trace.record(`crash ${name}:${n.o.creation}${keepDisk ? '' : ' (disk lost)'}`);
  }

  /** The node's next `commits` disk commits fail (I/O errors). */
  failDisk(name: string, commits: number): void {
    this.failingCommits.set(name, (this.failingCommits.get(name) ?? 0) + commits);
  }

  slowDisk(name: string, ms: number): void {
    this.slowUntil.set(name, Math.max(this.slowUntil.get(name) ?? 0, this.now + ms));
    this.trace.record(`slow disk ${name} for ${ms}ms`);
  }

  /** Node `name`'s wall clock jumps by `ms` (either way). */
  jumpClock(name: string, ms: number): void {
    const n = this.nodes.get(name);
    if (!n || n.crashed) return;
    n.clock.skew += ms;
    this.trace.record(`clock ${name} jumps ${ms}ms (skew ${n.clock.skew}ms)`);
  }

  /** Node `name` is frozen for `ms`: nothing of it runs meanwhile (a long GC pause, a stopped VM). */
  stall(name: string, ms: number): void {
    const n = this.nodes.get(name);
    if (!n || n.crashed) return;
    this.sched.pause(n.owner, this.now + ms);
    this.bus.stall(name, ms);
    this.trace.record(`stall ${name} for ${ms}ms`);
  }
}
