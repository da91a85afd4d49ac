/**
 * The simulation's time: one queue of events (timers, deliveries, disk commits, replies) in
 * virtual milliseconds. `run` fires them in (time, order of scheduling), and between two events
 * lets the JavaScript event loop run everything that is ready (promise callbacks, immediates),
 * so that each event's consequences happen before the next event. Nothing waits for real time:
 * when no real I/O and no real timer is involved, the same calls give the same order of
 * everything, which is what makes a run replayable from its seed.
 *
 * Events belong to an owner (a node's incarnation): a crash cancels all of its events, a pause
 * defers them until it ends.
 */
import { settle } from '../clock.js';

/**
 * Lets the event loop run until nothing is ready: no promise callback and no immediate is left
 * (an immediate queued by what ran is run too). Work is instantaneous in virtual time: the clock
 * moves only once everything that could run now has.
 */
async function quiesce(): Promise<void> {
  do await settle();
  while (process.getActiveResourcesInfo().includes('Immediate'));
}

export interface SimEvent {
  at: number;
  readonly seq: number;
  readonly owner: string | undefined;
  readonly label: string;
  cancelled: boolean;
  fn: () => void;
}

export type RunEnd = 'idle' | 'stopped' | 'deadline' | 'limit';

export class SimScheduler {
  private t = 0;
  private seq = 0;
  private heap: SimEvent[] = [];
  private readonly owned = new Map<string, Set<SimEvent>>();
  private readonly paused = new Map<string, number>();
  /** Owners that crashed: nothing of theirs is scheduled again. */
  private readonly retired = new Set<string>();
  /** Events fired so far. */
  fired = 0;
  /** Called before each event fires (the trace). */
  onFire: ((e: SimEvent) => void) | undefined;

  now(): number {
    return this.t;
  }

  at(time: number, fn: () => void, owner?: string, label = ''): SimEvent {
    const e: SimEvent = { at: Math.max(time, this.t), seq: this.seq++, owner, label, cancelled: false, fn };
    if (owner !== undefined && this.retired.has(owner)) {
      e.cancelled = true;
      return e;
    }
    this.push(e);
    if (owner !== undefined) {
      let set = this.owned.get(owner);
      if (!set) this.owned.set(owner, (set = new Set()));
      set.add(e);
    }
    return e;
  }

  after(ms: number, fn: () => void, owner?: string, label = ''): SimEvent {
    return this.at(this.t + Math.max(0, ms), fn, owner, label);
  }

  cancel(e: SimEvent): void {
    e.cancelled = true;
    if (e.owner !== undefined) this.owned.get(e.owner)?.delete(e);
  }

  /** Cancels every event of `owner` (a crashed node's), now and from now on. */
  cancelOwner(owner: string): void {
    this.retired.add(owner);
    for (const e of this.owned.get(owner) ?? []) e.cancelled = true;
    this.owned.delete(owner);
    this.paused.delete(owner);
  }

  /** Defers `owner`'s events until `until` (a stalled process: nothing of it runs meanwhile). */
  pause(owner: string, until: number): void {
    this.paused.set(owner, Math.max(until, this.paused.get(owner) ?? 0));
  }

  isPaused(owner: string): boolean {
    return (this.paused.get(owner) ?? -1) > this.t;
  }

  /** Events not yet fired or cancelled. */
  get pending(): number {
    let n = 0;
    for (const e of this.heap) if (!e.cancelled) n++;
    return n;
  }

  /**
   * Fires events until `stop()` says so, the next event is past `until`, `maxEvents` have
   * fired, or nothing is left to do (no event queued after the event loop has settled).
   */
  async run(o: { until?: number; stop?: () => boolean; maxEvents?: number } = {}): Promise<RunEnd> {
    const until = o.until ?? Infinity;
    const max = o.maxEvents ?? Infinity;
    let n = 0;
    for (;;) {
      await quiesce();
      if (o.stop?.()) return 'stopped';
      const e = this.pop();
      if (!e) return 'idle';
      if (e.at > until) {
        this.push(e);
        this.t = Math.max(this.t, until);
        return 'deadline';
      }
      if (n++ >= max) {
        this.push(e);
        return 'limit';
      }
      const pausedUntil = e.owner !== undefined ? this.paused.get(e.owner) : undefined;
      if (pausedUntil !== undefined && pausedUntil > e.at) {
        // Deferred, keeping its place among the owner's events.
        e.at = pausedUntil;
        this.push(e);
        continue;
      }
      this.t = e.at;
      if (e.owner !== undefined) this.owned.get(e.owner)?.delete(e);
      this.fired++;
      this.onFire?.(e);
      e.fn();
    }
  }

  private pop(): SimEvent | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.down(0);
      }
      if (!top.cancelled) return top;
    }
  }

  private push(e: SimEvent): void {
    this.heap.push(e);
    let i = this.heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(this.heap[i]!, this.heap[p]!)) break;
      [this.heap[i], this.heap[p]] = [this.heap[p]!, this.heap[i]!];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

const before = (a: SimEvent, b: SimEvent) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
