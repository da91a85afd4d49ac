import type { FastifyPluginAsync } from 'fastify';
import { nodeStatus, reloader, RELOADER, STATUS_NAME, type ChildSpec, type Node, type ReloaderArgs, type SupervisorSpec } from '../runtime/index.js';
import { httpServer, type HttpServerArgs } from '../units/http/http-server.js';

export interface NodeTreeOptions {
  http: Omit<HttpServerArgs, 'plugins'>;
  plugins: { prefix: string; plugin: FastifyPluginAsync }[];
  shutdownMs: number;
  /**
   * The owners of the node's resources (runtime/resource-owner.ts): started first, so they stop
   * last and close what the units used only once the units have stopped.
   */
  resources?: ChildSpec[];
  /** The units' subtrees (e.g. supervisors/su.ts), started before the HTTP listener that serves them. */
  units?: ChildSpec[];
  /** The node, for its `node/status` actor (what `aotp status` asks over the bus). */
  node?: Node;
  /** Let other nodes' chaos tooling kill actors and pause this node's bus. */
  chaos?: boolean;
  /** What `node/status` adds to the observer's view of this node (the units' AO view). */
  describe?: () => Promise<unknown>;
  /** How `node/policy` applies a new supervision policy to this tree (`aotp reload`). */
  reloader?: ReloaderArgs<unknown>;
}

/**
 * The node's root supervision tree. Children start top to bottom and stop bottom to top, so the
 * HTTP listener (last) closes before the units it serves.
 */
export function nodeTree(o: NodeTreeOptions): SupervisorSpec {
  return {
    strategy: 'one_for_one',
    intensity: 3,
    period: 5,
    children: [
      ...(o.resources ?? []),
      ...(o.node ? [{ id: 'status', start: { behaviour: nodeStatus, args: { node: o.node, chaos: o.chaos === true, ...(o.describe ? { describe: o.describe } : {}) }, options: { name: STATUS_NAME } } }] : []),
      ...(o.reloader ? [{ id: 'policy', start: { behaviour: reloader, args: o.reloader, options: { name: RELOADER } } }] : []),
      ...(o.units ?? []),
      {
        id: 'http',
        start: { behaviour: httpServer, args: { ...o.http, plugins: o.plugins }, options: { name: 'http' } },
        shutdown: o.shutdownMs,
      },
    ],
  };
}
