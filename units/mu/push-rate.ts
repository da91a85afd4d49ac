/**
 * How fast one process may make the MU push messages: a token bucket per sending process
 * (`perSecond` refilled continuously, up to `burst`). Together with the per-push budget it
 * bounds what a process that answers every message with more messages can cost the node: the
 * budget ends one runaway push, the rate bounds a process that keeps starting new ones (a cron
 * tick, or many clients' messages). Kept in memory on the node that pushes; an outbox refused
 * here is not pushed and its job records why.
 */
export interface PushRateOptions {
  /** Outbox items per second one process may push; 0 turns the limit off. */
  perSecond: number;
  /** Most items one process may push at once after being quiet. */
  burst: number;
}

const SWEEP_AT = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class PushRate {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAt = SWEEP_AT;

  constructor(private readonly o: PushRateOptions) {}

  /** Takes `count` tokens from `processId`'s bucket at time `now` (ms): a refusal reason, or undefined. */
  admit(processId: string, count: number, now: number): string | undefined {
    if (this.o.perSecond <= 0 || count === 0) return undefined;
    const b = this.buckets.get(processId) ?? { tokens: this.o.burst, at: now };
    b.tokens = Math.min(this.o.burst, b.tokens + (Math.max(0, now - b.at) * this.o.perSecond) / 1000);
    b.at = now;
    this.buckets.set(processId, b);
    if (b.tokens < count) {
      return `rate limit: ${processId} may push ${this.o.perSecond} messages/s (bursts of ${this.o.burst}); ${count} outbox item(s) not pushed`;
    }
    b.tokens -= count;
    if (this.buckets.size > this.sweepAt) {
      this.sweep(now);
      this.sweepAt = Math.max(SWEEP_AT, 2 * this.buckets.size);
    }
    return undefined;
  }

  /** A bucket that has refilled says nothing a fresh one would not: forget those. */
  private sweep(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + ((now - b.at) * this.o.perSecond) / 1000 >= this.o.burst) this.buckets.delete(id);
    }
  }
}
