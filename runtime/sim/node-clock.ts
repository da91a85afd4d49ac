/**
 * One node's clocks in a simulation: the monotonic Clock its runtime and actors use (timers are
 * the scheduler's events, owned by the node) and its wall clock (unix ms), which may be off the
 * world's by a skew that a fault can jump, as NTP adjustments do. A crashed node's clock fires
 * nothing more and sets no new timers.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { SimEvent, SimScheduler } from './scheduler.js';

export class SimNodeClock implements Clock {
  private readonly timers = new Map<number, SimEvent>();
  private nextId = 1;
  private dead = false;
  /** ms this node's wall clock is ahead of the world's. */
  skew = 0;

  constructor(
    private readonly sched: SimScheduler,
    /** The owner of this node's events (its incarnation). */
    readonly owner: string,
    /** The world's wall clock at virtual time 0, unix ms. */
    private readonly epoch: number,
  ) {}

  now(): number {
    return this.sched.now();
  }

  /** Unix ms as this node reads it. */
  wall(): number {
    return this.epoch + this.sched.now() + this.skew;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    if (this.dead) return { id };
    const e = this.sched.after(
      ms,
      () => {
        this.timers.delete(id);
        fn();
      },
      this.owner,
      'timer',
    );
    this.timers.set(id, e);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const e = this.timers.get(handle.id);
    if (e) {
      this.sched.cancel(e);
      this.timers.delete(handle.id);
    }
  }

  /** Timers set and not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /** The node crashed: its timers never fire. */
  kill(): void {
    this.dead = true;
    for (const e of this.timers.values()) this.sched.cancel(e);
    this.timers.clear();
  }
}
