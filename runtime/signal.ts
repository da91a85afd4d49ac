import type { From } from './behaviour.js';
import type { Pid } from './pid.js';
import type { ExitReason } from './reason.js';

/**
 * What sits in an actor's mailbox. A call carries its own monitor (ref = `from.ref`), so a call
 * is one signal each way; `mon` on a reply says the replier dropped that monitor itself.
 */
export type Envelope =
  | { t: 'call'; req: unknown; from: From }
  | { t: 'cast'; msg: unknown }
  | { t: 'info'; msg: unknown }
  | { t: 'reply'; ref: string; value: unknown; mon: boolean }
  | { t: 'stop'; reason: ExitReason };

/**
 * Signals between processes, as in Erlang: messages and the link / monitor / exit machinery.
 * Signals from one sender to one receiver arrive in the order they were sent.
 * `link: true` marks an exit signal caused by a linked process dying (not `exit/2`).
 * `from` of a `down` is undefined when a monitored name was not registered.
 */
export type Signal =
  | { k: 'msg'; env: Envelope }
  | { k: 'exit'; from: Pid; reason: ExitReason; link: boolean }
  | { k: 'link'; from: Pid }
  | { k: 'unlink'; from: Pid }
  | { k: 'mon'; from: Pid; ref: string }
  | { k: 'demon'; from: Pid; ref: string }
  | { k: 'down'; from: Pid | undefined; ref: string; reason: ExitReason };

/** Anything on a node that has a pid and takes signals: an actor, an inbox, a call waiter. */
export interface Endpoint {
  readonly pid: Pid;
  signal(sig: Signal): void;
  /** The node `node` went away: turn links and monitors towards it into `noconnection`. */
  nodeDown(node: string, creation: number | undefined): void;
}
