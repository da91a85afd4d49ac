/**
 * Signing on worker threads: RSA-4096 costs milliseconds of CPU per signature, so a node that
 * signs inline signs for one caller at a time. A pool of workers (sign-worker.ts), each holding
 * the private key, spreads signatures over the cores and leaves the event loop free.
 *
 * `sign(message)` signs bytes (for ANS-104: an item's deep hash) as the wallet's signer does.
 * A unit that signs whole structures (the SU signs runs of assignments) gives `extensions`:
 * module URLs whose `createOps(key)` adds ops to every worker, called with `run(op, arg)`.
 * Jobs go to the least busy worker, several per message when there is a queue; each worker
 * holds up to `depth` of them, so it is never idle while the event loop is busy elsewhere.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RealClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { threadModule } from '../../runtime/thread-module.js';
import type { WalletKey } from './keys.js';
import type { SignAnswer, SignWorkerData } from './sign-worker.js';

const WORKER = new URL('./sign-worker.js', import.meta.url);

/**
 * The pool could not sign for a reason of its own (a worker died under the job, the pool is
 * closed), not because of what it was asked to sign: asking again may work.
 */
export class SignerUnavailable extends Error {
  override readonly name = 'SignerUnavailable';
}

/** A worker that died is replaced after this long, doubling while replacements die young, up to the cap. */
const RESPAWN_FIRST_MS = 50;
const RESPAWN_MAX_MS = 5_000;
/** A worker that lived this long was not dying young. */
const YOUNG_MS = 10_000;

interface Job {
  id: number;
  op: string;
  arg: unknown;
  resolve: (result: any) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Map<number, Job>;
  startedAt: number;
}

export interface SignPoolOptions {
  /** Worker threads; default: the machine's available parallelism. */
  size?: number;
  /**
   * Jobs handed to each worker ahead of time; default 16. A worker with queued jobs never
   * waits for the event loop (busy with other work) to hand it the next one.
   */
  depth?: number;
  /** Modules (URLs) whose `createOps(key)` adds ops to each worker. */
  extensions?: URL[];
  /** What the replacement backoff is measured on; default the real clock. */
  clock?: Clock;
}

export class SignPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private readonly depth: number;
  private readonly workerData: SignWorkerData;
  private respawnMs = RESPAWN_FIRST_MS;
  private respawns = new Set<TimerHandle>();
  private readonly clock: Clock;
  /** Workers that died and were replaced (for operators and tests). */
  replaced = 0;
  readonly size: number;

  constructor(key: WalletKey, options: SignPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.depth = Math.max(1, options.depth ?? 16);
    this.clock = options.clock ?? new RealClock();
    this.workerData = { key, extensions: (options.extensions ?? []).map((u) => String(threadModule(u))) };
    for (let i = 0; i < this.size; i++) this.slots.push(this.startWorker());
  }

  private startWorker(): Slot {
    const worker = new Worker(threadModule(WORKER), { workerData: this.workerData });
    const slot: Slot = { worker, busy: new Map(), startedAt: this.clock.now() };
    worker.on('message', (results: SignAnswer[]) => {
      for (const r of results) {
        const job = slot.busy.get(r.id);
        if (!job) continue;
        slot.busy.delete(r.id);
        if ('result' in r) job.resolve(r.result);
        else job.reject(new Error(`signing worker: ${r.error}`));
      }
      // An idle pool does not keep the process alive; a busy one does.
      if (slot.busy.size === 0) worker.unref();
      this.pump();
    });
    const fail = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return; // 'error' and then 'exit': handled once
      this.slots.splice(i, 1);
      const why = new SignerUnavailable(`signing worker: ${e.message}`);
      for (const job of slot.busy.values()) job.reject(why);
      slot.busy.clear();
      if (!this.closed) this.replace(slot);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited (${code})`)));
    worker.unref();
    return slot;
  }

  /** A dead worker gets a successor: at once after a long life, later while successors die young. */
  private replace(dead: Slot): void {
    this.respawnMs = this.clock.now() - dead.startedAt > YOUNG_MS ? RESPAWN_FIRST_MS : Math.min(RESPAWN_MAX_MS, this.respawnMs * 2);
    const t = this.clock.setTimeout(() => {
      this.respawns.delete(t);
      if (this.closed) return;
      this.slots.push(this.startWorker());
      this.replaced++;
      this.pump();
    }, this.respawnMs);
    this.respawns.add(t);
  }

  /** The signature of `message`, made on a worker. */
  async sign(message: Uint8Array): Promise<Buffer> {
    const sig = await this.run<Uint8Array>('sign', message);
    return Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength);
  }

  /** Runs an op (built in, or from an extension) on a worker. */
  run<T>(op: string, arg: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new SignerUnavailable('sign pool is closed'));
    // With every worker dead, jobs wait in the queue for their successors.
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, op, arg, resolve, reject });
      this.pump();
    });
  }

  /** Jobs waiting plus jobs on workers. */
  get pending(): number {
    let n = this.queue.length;
    for (const s of this.slots) n += s.busy.size;
    return n;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (s.busy.size < this.depth && (!best || s.busy.size < best.busy.size)) best = s;
      if (!best) return;
      const room = this.depth - best.busy.size;
      const take = Math.max(1, Math.min(room, Math.ceil(this.queue.length / this.slots.length)));
      const batch = this.queue.splice(0, take);
      for (const job of batch) best.busy.set(job.id, job);
      best.worker.ref();
      best.worker.postMessage(batch.map(({ id, op, arg }) => ({ id, op, arg })));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.respawns) this.clock.clearTimeout(t);
    this.respawns.clear();
    const e = new SignerUnavailable('sign pool is closed');
    for (const job of this.queue.splice(0)) job.reject(e);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
