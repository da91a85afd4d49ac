/**
 * The whole cluster as one node sees it: its own `node/status` view and every other member's
 * (up or draining), asked over the bus in parallel; a member that does not answer is listed
 * with why, a member that is down with since when.
 */
import { STATUS_NAME, type Node, type NodeView } from '../../runtime/index.js';

export type MemberView = NodeView | { node: string; state: 'up' | 'draining' | 'down'; error: string };

export interface ClusterView {
  /** The node that assembled it. */
  asked: string;
  at: number;
  nodes: MemberView[];
}

export async function clusterView(node: Node, o: { timeoutMs?: number; limit?: number } = {}): Promise<ClusterView> {
  const timeout = o.timeoutMs ?? 2000;
  const req = { op: 'observe', ...(o.limit ? { limit: o.limit } : {}) };
  const peers = node.peers().filter((p) => p.name !== node.name);
  const nodes = await Promise.all([
    node.call<NodeView>(STATUS_NAME, req, { timeout }).catch((e: Error): MemberView => ({ node: node.name, state: 'up', error: e.message })),
    ...peers.map((p) =>
      p.state === 'down'
        ? Promise.resolve<MemberView>({ node: p.name, state: 'down', error: `down since ${new Date(p.since ?? 0).toISOString()}` })
        : node.call<NodeView>({ name: STATUS_NAME, node: p.name }, req, { timeout }).catch((e: Error): MemberView => ({ node: p.name, state: p.state, error: e.message })),
    ),
  ]);
  return { asked: node.name, at: Date.now(), nodes };
}

export const isNodeView = (m: MemberView): m is NodeView => !('error' in m);
