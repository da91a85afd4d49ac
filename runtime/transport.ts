/** What a node hears from its transport. */
export interface TransportHandlers {
  /** A frame for this node (bytes as sent; the node decodes them). */
  frame(bytes: Uint8Array): void;
  /**
   * Node `name` (of incarnation `creation`, or every incarnation) is gone. `observer`: it was an
   * operator's tool (aotp status, chaos…), not a member, so its going is routine.
   */
  nodeDown(name: string, creation?: number, observer?: boolean): void;
  nodeUp?(name: string, creation: number, observer?: boolean): void;
  /** A known node became a member (`member`) or left the members while staying reachable (draining). */
  memberChanged?(name: string, member: boolean): void;
}

/**
 * How frames move between nodes. Frames from one node to another arrive in the order sent.
 * Two implementations: the in-process LocalBus and NATS.
 */
export interface Transport {
  start(self: { name: string; creation: number }, handlers: TransportHandlers): Promise<void>;
  /** Queue a frame for `node`. False when that node is not known to be up. */
  send(node: string, frame: Uint8Array): boolean;
  /** Names of the nodes known to be up, this one included. */
  members(): string[];
  /** Resolves once `node` is up; rejects after `timeoutMs`. */
  whenUp(node: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Stay reachable but stop being a member (draining), or be one again. */
  setObserver?(on: boolean): void;
  /** Members up, draining (reachable, taking no new work) and down (absent: `members()`, all up). */
  peers?(): { name: string; state: 'up' | 'draining' | 'down'; since?: number }[];
  /** Whether it is connected now (absent: always, as the in-process bus). */
  connected?(): boolean;
  /** Drop everything to and from this node for `ms`, as a partition would (chaos tests). */
  pause?(ms: number): void;
  /**
   * `node` is down, and this node has listened long enough to know it (not merely not heard
   * yet: just started, reconnected, or was frozen). Without it, no node is ever known down.
   */
  isDown?(node: string): boolean;
  /**
   * A frame came from `node` (incarnation `creation`): it can be answered now, before its first
   * beat reaches this node — as an Erlang connection runs both ways. Without it, a request from a
   * node this one has not heard beat yet (just started, or a partition just healed) had its
   * reply dropped, and a caller without a timeout waited forever.
   */
  heard?(node: string, creation: number): void;
}
