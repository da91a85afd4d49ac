import type { Call } from './behaviour.js';

declare const PROTOCOL: unique symbol;

/**
 * A process identifier: (node, creation, serial).
 *
 * `creation` is the node incarnation (its start time), so a pid from before a node restart
 * never names a process of the restarted node: pids are never reused, cluster-wide.
 *
 * As a type, a pid carries the calls its actor answers (`P`, see Behaviour): `call(pid, request)`
 * then checks the request and types the reply. `Pid` alone is a pid whose calls are unknown.
 */
export class Pid<P extends Call = Call> {
  declare readonly [PROTOCOL]?: P;

  constructor(
    readonly node: string,
    readonly creation: number,
    readonly serial: number,
  ) {}

  #key: string | undefined;

  /** Stable string form, usable as a map key: `<node.creation.serial>` (one string per pid, however often asked). */
  get key(): string {
    return (this.#key ??= `<${this.node}.${this.creation}.${this.serial}>`);
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

/** A registered local name, as a type carrying the calls of the actor registered under it. */
export type Name<P extends Call = Call> = string & { readonly [PROTOCOL]?: P };

/** `name` as the name of an actor whose calls are `P` (the registrar knows what it registers). */
export const typedName = <P extends Call>(name: string): Name<P> => name as Name<P>;

/** A registered name on a given node, as Erlang's `{Name, Node}`. */
export interface RemoteName<P extends Call = Call> {
  name: string;
  node: string;
  readonly [PROTOCOL]?: P;
}

/** The actor registered as `name` on `node`, with the calls the name carries. */
export const onNode = <P extends Call>(name: Name<P>, node: string): RemoteName<P> => ({ name, node });

/**
 * Anything a message can be addressed to: a pid, a local name, or a name on another node;
 * typed by the calls of the actor it names (unknown unless the pid or name says).
 */
export type Target<P extends Call = Call> = Pid<P> | Name<P> | RemoteName<P>;

export function describeTarget(t: Target): string {
  if (t instanceof Pid) return t.key;
  if (typeof t === 'string') return t;
  return `${t.name}@${t.node}`;
}
