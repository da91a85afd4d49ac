/**
 * Evaluators on the caller's own thread: the same instance operations an evaluator thread serves
 * (instance.js), called directly. For a deterministic simulation, where a thread would answer at
 * a time no seed chooses. A module in an endless loop cannot be stopped here (nothing can
 * preempt it), so `timeoutMs` is not enforced; Compute-Limit through metering still is.
 *
 * The work itself takes no time on the caller's clock; `pace` gives it some: each answer (each
 * message's, in a batch) is handed over only after `pace.wait(pace.cost(op))`, so that what may
 * happen while a thread works (its actor killed, its node crashed) can happen here too.
 *
 * ao-loader and the emscripten glue replace Date.now, performance.now, process.hrtime,
 * Math.random and console.log for the whole realm. The module's code runs with its instance's
 * (as in a thread of its own, where they stay: Lua seeds its string hashes from the time, so
 * this is what makes every CU's memory the same), and the caller's own are put back as soon as
 * it returns.
 */
import type { WorkerOp, WorkerOps } from './protocol.js';
import { EvaluatorGone, EvaluatorError, type EvaluatorHandle, type EvaluatorSource } from './client.js';
import { createInstanceOps, type InstanceOps, type InstanceRealm } from './instance.js';

interface Realm {
  dateNow: typeof Date.now;
  random: typeof Math.random;
  perfNow: typeof performance.now;
  hrtime: typeof process.hrtime;
  log: typeof console.log;
}

const save = (): Realm => ({ dateNow: Date.now, random: Math.random, perfNow: performance.now, hrtime: process.hrtime, log: console.log });

function put(r: Realm): void {
  Date.now = r.dateNow;
  Math.random = r.random;
  performance.now = r.perfNow;
  process.hrtime = r.hrtime;
  console.log = r.log;
}

/** The instance's globals, and the caller's while an operation runs. */
class Realms implements InstanceRealm {
  host: Realm = save();
  private mine: Realm | undefined;

  glue(): void {
    this.mine = save();
    put(this.host);
  }

  enter(): void {
    if (this.mine) put(this.mine);
  }

  leave(): void {
    put(this.host);
  }
}

/** How long operations take, and how to wait that long (on a simulated clock). */
export interface Pace {
  /** Virtual ms `op` takes (told its arguments too: a simulation counts instantiations). */
  cost(op: WorkerOp, args: unknown): number;
  wait(ms: number): Promise<void>;
}

export class InlineEvaluator implements EvaluatorHandle {
  private readonly ops: InstanceOps;
  private readonly realm = new Realms();
  private gone: Error | undefined;
  /** One operation at a time, in call order, as a thread serves them. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    now: () => number,
    private readonly pace?: Pace,
  ) {
    this.ops = createInstanceOps(now, this.realm);
  }

  get alive(): boolean {
    return this.gone === undefined;
  }

  call<K extends WorkerOp>(
    op: K,
    args: WorkerOps[K]['args'],
    options: { onItem?: (item: WorkerOps[K] extends { item: infer I } ? I : never) => void } = {},
  ): Promise<WorkerOps[K]['value']> {
    if (this.gone) return Promise.reject(this.gone);
    const run = async () => {
      if (this.gone) throw this.gone;
      const host = save();
      this.realm.host = host;
      const items: unknown[] = [];
      let pending: unknown;
      try {
        pending = this.ops[op](args, (chunk) => items.push(...(chunk as unknown[])));
      } finally {
        put(host);
      }
      try {
        const value = await pending;
        // A batch's answers one by one, each after its message's time; the rest after the op's.
        for (const item of items) {
          if (this.pace) await this.pace.wait(this.pace.cost(op, args));
          if (this.gone) throw this.gone;
          options.onItem?.([item] as never);
        }
        if (this.pace && items.length === 0) await this.pace.wait(this.pace.cost(op, args));
        if (this.gone) throw this.gone;
        return value as WorkerOps[K]['value'];
      } catch (e) {
        if (e instanceof EvaluatorGone) throw e;
        const err = e as { code?: string; message?: string };
        throw new EvaluatorError(err?.code ?? 'error', err?.message ?? String(e));
      } finally {
        put(host);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  async terminate(): Promise<void> {
    this.gone ??= new EvaluatorGone('evaluator terminated');
  }
}

/** Inline evaluators, made on demand. */
export class InlineEvaluators implements EvaluatorSource {
  private closed = false;

  constructor(
    private readonly now: () => number = () => 0,
    private readonly pace?: Pace,
  ) {}

  async acquire(_key?: string): Promise<EvaluatorHandle> {
    if (this.closed) throw new EvaluatorGone('the evaluator pool is closed');
    return new InlineEvaluator(this.now, this.pace);
  }

  async release(ev: EvaluatorHandle): Promise<void> {
    await ev.terminate();
  }

  async warm(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  open(): void {
    this.closed = false;
  }
}
