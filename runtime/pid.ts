/**
 * A process identifier: (node, creation, serial).
 *
 * `creation` is the node incarnation (its start time), so a pid from before a node restart
 * never names a process of the restarted node: pids are never reused, cluster-wide.
 */
export class Pid {
  constructor(
    readonly node: string,
    readonly creation: number,
    readonly serial: number,
  ) {}

  /** Stable string form, usable as a map key: `<node.creation.serial>`. */
  get key(): string {
    return `<${this.node}.${this.creation}.${this.serial}>`;
  }

  equals(other: unknown): boolean {
    return (
      other instanceof Pid &&
      other.serial === this.serial &&
      other.node === this.node &&
      other.creation === this.creation
    );
  }

  toString(): string {
    return this.key;
  }

  toJSON(): string {
    return this.key;
  }
}

export function isPid(x: unknown): x is Pid {
  return x instanceof Pid;
}

/** A registered name on a given node, as Erlang's `{Name, Node}`. */
export interface RemoteName {
  name: string;
  node: string;
}

/** Anything a message can be addressed to: a pid, a local name, or a name on another node. */
export type Target = Pid | string | RemoteName;

export function describeTarget(t: Target): string {
  if (t instanceof Pid) return t.key;
  if (typeof t === 'string') return t;
  return `${t.name}@${t.node}`;
}
