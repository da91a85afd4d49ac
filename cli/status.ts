/**
 * `aotp status --nats URL[,URL]`: joins the cluster's bus as an observer (not a member, so
 * nothing is placed on it), waits for the members' heartbeats, asks each member's
 * `node/status` actor what it runs, and prints it.
 */
import { CallError, NatsTransport, Node, STATUS_NAME, type NodeStatus } from '../runtime/index.js';

export interface StatusOptions {
  servers: string[];
  cluster?: string;
  /** How long to listen for heartbeats before asking, ms (a little over one heartbeat). */
  waitMs?: number;
  auth?: { user?: string; pass?: string; token?: string };
}

export type ClusterStatus = { members: (NodeStatus | { node: string; error: string })[] };

export async function clusterStatus(o: StatusOptions): Promise<ClusterStatus> {
  const transport = new NatsTransport({ servers: o.servers, cluster: o.cluster ?? 'aotp', observer: true, auth: o.auth ?? {} });
  const node = await Node.start({ name: `status-${process.pid}-${Date.now().toString(36)}`, transport });
  try {
    // A `hello` makes every member beat at once; the wait covers the replies.
    await new Promise((r) => setTimeout(r, o.waitMs ?? 1500));
    const names = node.members().sort();
    const members = await Promise.all(
      names.map(async (name) => {
        try {
          return await node.call<NodeStatus>({ name: STATUS_NAME, node: name }, { op: 'status' }, { timeout: 5000 });
        } catch (e) {
          return { node: name, error: e instanceof CallError ? e.message : String(e) };
        }
      }),
    );
    return { members };
  } finally {
    await node.stop();
  }
}

export function formatStatus(s: ClusterStatus): string {
  if (s.members.length === 0) return 'no members seen on this bus';
  const lines: string[] = [`${s.members.length} member(s): ${s.members.map((m) => m.node).join(', ')}`];
  for (const m of s.members) {
    if ('error' in m) {
      lines.push(`\n${m.node}: ${m.error}`);
      continue;
    }
    const named = m.actors.filter((a) => a.name);
    lines.push(`\n${m.node}: ${m.actors.length} actors, ${named.length} named`);
    for (const a of named) lines.push(`  ${a.name}  ${a.pid}`);
  }
  return lines.join('\n');
}
