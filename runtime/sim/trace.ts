/**
 * A simulation's event trace: every line is hashed as it is recorded (two runs of one seed must
 * end with the same hash), and the last lines are kept to show what led to a failure.
 */
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly ring: string[];
  private next = 0;
  lines = 0;

  constructor(
    private readonly now: () => number,
    keep = 200,
    /** Also print every line (for a replay with --verbose). */
    private readonly echo?: (line: string) => void,
  ) {
    this.ring = new Array<string>(keep);
  }

  record(text: string): void {
    const line = `${this.now().toFixed(3)} ${text}`;
    this.hash.update(line).update('\n');
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.ring.length;
    this.lines++;
    this.echo?.(line);
  }

  /** The hash of every line so far (hex). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }

  /** The last lines, oldest first. */
  last(n = this.ring.length): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const line = this.ring[(this.next + i) % this.ring.length];
      if (line !== undefined) out.push(line);
    }
    return out.slice(-n);
  }
}

/** A short digest of bytes, for a trace line. */
export function shortHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 10);
}
