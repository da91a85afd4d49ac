/**
 * Time as a value. The runtime reads time and sets timers only through a Clock, so restart
 * intensity, call timeouts and shutdown timeouts can be tested with a SimulatedClock, without
 * sleeping.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  // The handle carries Node's own timer: no table to keep, no closure per timer (every call sets one).
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return new RealTimer(setTimeout(fn, ms));
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof RealTimer) clearTimeout(handle.timer);
  }
}

class RealTimer implements TimerHandle {
  constructor(readonly timer: NodeJS.Timeout) {}
  get id(): number {
    return Number(this.timer);
  }
}

interface SimTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets the event loop run everything that is ready (promises, I/O callbacks, immediates). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told. `advance` fires due timers in time order and lets the
 * actors react to each one before firing the next.
 */
export class SimulatedClock implements Clock {
  private t: number;
  private timers: SimTimer[] = [];
  private nextId = 1;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    await settle();
    for (;;) {
      let next: SimTimer | undefined;
      for (const x of this.timers) if (x.at <= until && (!next || x.at < next.at)) next = x;
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = until;
    await settle();
  }
}

/** An AbortSignal that aborts after `ms` on `clock` (AbortSignal.timeout, on an injectable clock). */
export function timeoutSignal(clock: Clock, ms: number): AbortSignal {
  const ac = new AbortController();
  clock.setTimeout(() => ac.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
  return ac.signal;
}
