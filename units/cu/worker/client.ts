/**
 * The process actor's side of its evaluator thread: request/answer by id, a time limit per
 * request (a module in an endless loop cannot be interrupted any other way: the thread is
 * terminated), and a pool of threads started ahead so a process does not wait for one.
 *
 * A process actor that stops hands its thread back (`release`) and the next process to hydrate
 * takes it: starting a thread costs more than hydrating a process (the thread's JS, ao-loader's
 * glue, is also warm). A handed-back thread drops its instance first, and every process makes a
 * fresh instance (its own memory and emscripten glue), so nothing of one process is seen by the
 * next. A thread that was stopped (time limit), died, or still has a request pending is never
 * taken back; nor one that has served `maxUses` processes (a bound on what the JS heap of a long
 * lived thread could gather). A thread goes only to a process of the module it ran last (or one
 * never used): the JS that calls into a module is tuned by V8 to the instances it has seen, and
 * a metered module ran 1.7x slower in a thread that had run an unmetered one.
 */
import { Worker } from 'node:worker_threads';
import { RealClock, type Clock, type TimerHandle } from '../../../runtime/clock.js';
import { threadModule } from '../../../runtime/thread-module.js';
import type { WorkerOp, WorkerOps, WorkerReply } from './protocol.js';

const WORKER_URL = new URL('./evaluator.js', import.meta.url);
const realClock = new RealClock();

/** The thread ended (terminated, crashed, or ran out of heap) before answering. */
export class EvaluatorGone extends Error {
  override readonly name = 'EvaluatorGone';
}

/**
 * The thread exited under a request without an error of its own (terminated from outside, not
 * by its process's time limit): the message is not at fault, so it gets no result; the process
 * actor that held the thread is restarted and evaluates it again in another.
 */
export class EvaluatorLost extends Error {
  override readonly name = 'EvaluatorLost';
  constructor(
    readonly threadId: number,
    readonly code: number,
  ) {
    super(`evaluator thread ${threadId} exited (${code})`);
  }
}

/** A thread that ended without being asked to: what its pool's owner is told. */
export interface EvaluatorDeath {
  threadId: number;
  /** Why: an error of the thread (out of heap, …), or its exit code. */
  reason: string;
  /** It was serving a process (a request pending) when it ended. */
  busy: boolean;
  /** It ended on an error of its own (which the request it was on gets as its answer), not by an exit. */
  crashed: boolean;
}

/** A request took longer than its limit; the thread has been terminated. */
export class EvaluatorTimeout extends Error {
  override readonly name = 'EvaluatorTimeout';
  constructor(
    readonly op: string,
    readonly ms: number,
  ) {
    super(`${op} did not finish within ${ms} ms`);
  }
}

/** The thread refused a request (a bad image, a dead instance, …). */
export class EvaluatorError extends Error {
  override readonly name = 'EvaluatorError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer?: TimerHandle;
  onItem?: (item: unknown) => void;
  /** Restarts the time limit (each streamed item proves the thread is making progress). */
  rearm?: () => void;
}

/** An evaluator: one instance's operations, in a thread (Evaluator) or inline (inline.ts). */
export interface EvaluatorHandle {
  readonly alive: boolean;
  call<K extends WorkerOp>(
    op: K,
    args: WorkerOps[K]['args'],
    options?: { timeoutMs?: number; transfer?: ArrayBuffer[]; onItem?: (item: WorkerOps[K] extends { item: infer I } ? I : never) => void },
  ): Promise<WorkerOps[K]['value']>;
  terminate(): Promise<void>;
  /** Resolves when the evaluator ends without being asked to (absent: it cannot). */
  readonly died?: Promise<EvaluatorDeath>;
}

/** Where the process actors get their evaluators. */
export interface EvaluatorSource {
  /** `key`: the (prepared) module the process runs; a thread handed back goes to the same one. */
  acquire(key?: string): Promise<EvaluatorHandle>;
  /** Hands back an evaluator its process no longer needs: kept for the next process, or stopped. */
  release(ev: EvaluatorHandle): Promise<void>;
  /** Resolves when evaluators started ahead are ready. */
  warm(): Promise<void>;
  /** Stops its evaluators and refuses `acquire` until `open`. */
  close(): Promise<void>;
  /** Takes requests again after `close` (its owner actor restarted). */
  open(): void;
  /** Tells `listener` of each evaluator that dies (not one stopped on purpose); answers how to stop telling it. */
  watch?(listener: (d: EvaluatorDeath) => void): () => void;
  /** Starts evaluators ahead again, in place of those that died. */
  refill?(): void;
}

export class Evaluator implements EvaluatorHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private gone: Error | undefined;
  /** `terminate` was called: its exit is no death. */
  private stopping = false;
  readonly ready: Promise<void>;
  readonly died: Promise<EvaluatorDeath>;
  readonly threadId: number;
  /** Processes this thread has been handed to. */
  uses = 0;
  /** The module its last process ran. */
  key: string | undefined;

  /** `clock`: what request time limits are measured on. */
  constructor(private readonly clock: Clock = realClock) {
    // Compiled JavaScript: no loader flags needed (and none inherited: a thread starts faster).
    this.worker = new Worker(threadModule(WORKER_URL), { stdout: false, stderr: false, execArgv: [] });
    this.threadId = this.worker.threadId;
    // The thread says so once it has loaded ao-loader (its first message).
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new EvaluatorGone(`evaluator thread exited (${code}) while starting`)));
    });
    // An idle evaluator does not keep the node's process alive (evaluators live and die with their
    // actors); one that is starting or has a request pending does.
    this.ready.then(
      () => {
        if (this.pending.size === 0) this.worker.unref();
      },
      () => undefined,
    );
    this.worker.on('message', (reply: WorkerReply | { ready: true }) => {
      if ('id' in reply) this.answer(reply);
    });
    // An error of the thread itself (its heap exhausted, …) may be the message's doing: that
    // message gets it as its result. An exit with no error, not asked for, is not.
    let error: Error | undefined;
    this.worker.on('error', (e) => {
      error ??= e;
      this.fail(new EvaluatorGone(`evaluator thread crashed: ${e.message}`));
    });
    this.died = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        const busy = this.pending.size > 0;
        this.fail(error ? new EvaluatorGone(`evaluator thread exited (${code})`) : new EvaluatorLost(this.threadId, code));
        if (!this.stopping) resolve({ threadId: this.threadId, reason: error ? error.message : `exited (${code})`, busy, crashed: error !== undefined });
      });
    });
  }

  get alive(): boolean {
    return this.gone === undefined;
  }

  /** Alive and with no request pending. */
  get idle(): boolean {
    return this.gone === undefined && this.pending.size === 0;
  }

  private answer(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    if ('item' in reply) {
      p.rearm?.();
      p.onItem?.(reply.item);
      return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (p.timer) this.clock.clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new EvaluatorError(reply.error.code, reply.error.message));
  }

  private fail(e: Error): void {
    this.gone ??= e;
    for (const p of this.pending.values()) {
      if (p.timer) this.clock.clearTimeout(p.timer);
      p.reject(this.gone);
    }
    this.pending.clear();
  }

  /**
   * A request. `timeoutMs` limits the time to the answer, or, for a streaming op, the time
   * between two items; past it the thread is terminated and the call rejects with
   * EvaluatorTimeout (items already streamed have been delivered to `onItem`).
   */
  call<K extends WorkerOp>(
    op: K,
    args: WorkerOps[K]['args'],
    options: { timeoutMs?: number; transfer?: ArrayBuffer[]; onItem?: (item: WorkerOps[K] extends { item: infer I } ? I : never) => void } = {},
  ): Promise<WorkerOps[K]['value']> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject, onItem: options.onItem as ((item: unknown) => void) | undefined };
      if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
        const ms = options.timeoutMs;
        const expire = () => {
          this.pending.delete(id);
          if (this.pending.size === 0) this.worker.unref();
          reject(new EvaluatorTimeout(op, ms));
          void this.terminate();
        };
        p.timer = this.clock.setTimeout(expire, ms);
        p.rearm = () => {
          if (p.timer) this.clock.clearTimeout(p.timer);
          p.timer = this.clock.setTimeout(expire, ms);
        };
      }
      // Referenced while a request is pending (so awaiting one keeps the process alive), not when idle.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, p);
      this.worker.postMessage({ id, op, ...args }, options.transfer ?? []);
    });
  }

  /** Whether a request is pending. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  async terminate(): Promise<void> {
    this.stopping = true;
    this.fail(new EvaluatorGone('evaluator terminated'));
    await this.worker.terminate();
  }
}

/**
 * Threads started ahead of need (a thread takes tens of ms to start), and threads handed back.
 * Its owner (the actor `cu.evaluators`, evaluator-owner.ts) opens and closes it, is told of each
 * thread that dies (`watch`) and starts spares again in place of dead ones (`refill`).
 */
export class EvaluatorPool implements EvaluatorSource {
  /** Started ahead, never used. */
  private readonly spare: Evaluator[] = [];
  /** Handed back, most recent last. */
  private readonly used: Evaluator[] = [];
  /** Every thread it started that has not ended (held by processes or not). */
  private readonly live = new Set<Evaluator>();
  private readonly listeners = new Set<(d: EvaluatorDeath) => void>();
  private closed = false;
  /** Threads handed back kept at most. */
  private readonly keep: number;
  /** Processes a thread serves before it is stopped rather than handed on. */
  private readonly maxUses: number;
  /** What its threads' request time limits are measured on. */
  private readonly clock: Clock;

  constructor(
    private readonly size: number,
    o: { keep?: number; maxUses?: number; clock?: Clock } = {},
  ) {
    this.clock = o.clock ?? realClock;
    this.keep = o.keep ?? Math.max(size, 2);
    this.maxUses = o.maxUses ?? 1000;
    this.refill();
  }

  private start(): Evaluator {
    const e = new Evaluator(this.clock);
    e.ready.catch(() => undefined);
    this.live.add(e);
    void e.died.then((d) => {
      this.live.delete(e);
      for (const l of this.listeners) l(d);
    });
    return e;
  }

  refill(): void {
    for (const list of [this.spare, this.used]) {
      for (let i = list.length - 1; i >= 0; i--) if (!list[i]!.alive) list.splice(i, 1);
    }
    while (!this.closed && this.spare.length < this.size) this.spare.push(this.start());
  }

  watch(listener: (d: EvaluatorDeath) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The threads running now, in processes or waiting (operators' view; fault tests reach them here). */
  threads(): Evaluator[] {
    for (const e of this.live) if (!e.alive) this.live.delete(e);
    return [...this.live];
  }

  async acquire(key?: string): Promise<Evaluator> {
    // A thread that dies while starting is not the caller's problem: it takes another.
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new EvaluatorGone('the evaluator pool is closed');
      let e: Evaluator | undefined;
      for (let i = this.used.length - 1; i >= 0 && !e; i--) {
        const u = this.used[i]!;
        if (!u.alive) this.used.splice(i, 1);
        else if (u.key === key) e = this.used.splice(i, 1)[0];
      }
      while (!e && (e = this.spare.shift())) {
        if (!e.alive) e = undefined;
      }
      this.refill();
      e ??= this.start();
      try {
        await e.ready;
      } catch (err) {
        if (attempt < 3) continue;
        throw err;
      }
      if (!e.alive) continue;
      e.uses++;
      e.key = key;
      return e;
    }
  }

  async release(ev: EvaluatorHandle): Promise<void> {
    const e = ev as Evaluator;
    // Handed back already: kept once, or it would go to two processes, which would share one instance.
    if (this.used.includes(e) || this.spare.includes(e)) return;
    if (this.closed || !(e instanceof Evaluator) || !e.idle || e.uses >= this.maxUses || this.keep === 0) {
      await ev.terminate();
      return;
    }
    // Room for it: the one handed back longest ago goes.
    if (this.used.length >= this.keep) void this.used.shift()!.terminate();
    // Queued before anything the next process asks: the instance is gone before it gets the thread.
    const dropped = e.call('reset', {});
    this.used.push(e);
    await dropped.catch(() => undefined);
  }

  /** Threads handed back and kept now. */
  get spares(): number {
    return this.used.length;
  }

  /** Threads started ahead and alive now. */
  get warmThreads(): number {
    return this.spare.filter((e) => e.alive).length;
  }

  /** Resolves when the spare threads have started (benchmarks wait for it before timing a hydration). */
  async warm(): Promise<void> {
    await Promise.all(this.spare.map((e) => e.ready.catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.spare.splice(0), ...this.used.splice(0)].map((e) => e.terminate()));
  }

  open(): void {
    this.closed = false;
    this.refill();
  }
}
