import type { Clock, TimerHandle } from './clock.js';

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T | undefined) => void;
  timer?: TimerHandle;
}

/** A slot whose item a selective receive took out of the middle of the queue. */
const TAKEN: unique symbol = Symbol('taken');

/**
 * A FIFO queue with Erlang's selective receive: `receive(match)` takes the first queued item
 * that matches, or waits for one, leaving the others in order. Plain `shift` takes the head.
 *
 * An item taken from the middle leaves a marker instead of being spliced out, so that a
 * supervisor collecting 100k DOWN and EXIT messages does linear work, not quadratic; markers
 * at the head are skipped, and the array is compacted when markers are most of it.
 */
export class Mailbox<T> {
  private items: (T | undefined | typeof TAKEN)[] = [];
  private head = 0;
  private taken = 0;
  private waiter: Waiter<T> | undefined;

  constructor(private readonly clock: Clock) {}

  get length(): number {
    return this.items.length - this.head - this.taken;
  }

  /** Queue an item, or hand it straight to a waiting `receive` that accepts it. */
  push(item: T): void {
    const w = this.waiter;
    if (w && w.match(item)) {
      this.settle(w, item);
      return;
    }
    this.items.push(item);
  }

  shift(): T | undefined {
    this.skipTaken();
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    this.compact();
    return item;
  }

  /** Remove and return the first queued item that matches, without waiting. */
  take(match: (item: T) => boolean): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item === TAKEN) continue;
      if (match(item as T)) {
        this.items[i] = TAKEN;
        this.taken++;
        this.skipTaken();
        this.compact();
        return item as T;
      }
    }
    return undefined;
  }

  private skipTaken(): void {
    while (this.head < this.items.length && this.items[this.head] === TAKEN) {
      this.items[this.head++] = undefined;
      this.taken--;
    }
  }

  private compact(): void {
    const dead = this.head + this.taken;
    if (dead > 1024 && dead * 2 > this.items.length) {
      this.items = this.items.slice(this.head).filter((x) => x !== TAKEN);
      this.head = 0;
      this.taken = 0;
    }
  }

  /** Wait for a matching item; `undefined` after `timeout` ms (0 = only look at what is queued). */
  receive(match: (item: T) => boolean, timeout = Infinity): Promise<T | undefined> {
    if (this.waiter) throw new Error('a receive is already pending on this mailbox');
    const found = this.take(match);
    if (found !== undefined || timeout <= 0) return Promise.resolve(found);
    return new Promise((resolve) => {
      const w: Waiter<T> = { match, resolve };
      if (Number.isFinite(timeout)) w.timer = this.clock.setTimeout(() => this.settle(w, undefined), timeout);
      this.waiter = w;
    });
  }

  /** Ends a pending receive with `undefined` (the owner died). */
  cancel(): void {
    if (this.waiter) this.settle(this.waiter, undefined);
  }

  drain(): T[] {
    const rest = this.items.slice(this.head).filter((x) => x !== TAKEN) as T[];
    this.items = [];
    this.head = 0;
    this.taken = 0;
    return rest;
  }

  private settle(w: Waiter<T>, item: T | undefined): void {
    if (this.waiter !== w) return;
    this.waiter = undefined;
    if (w.timer) this.clock.clearTimeout(w.timer);
    w.resolve(item);
  }
}
