/**
 * `aotp status --nats URL[,URL]`: joins the cluster's bus as an observer (not a member, so
 * nothing is placed on it), waits for the members' heartbeats, asks each member's
 * `node/status` actor what it runs, and prints it.
 */
import { CallError, STATUS_NAME, type Node, type ActorView, type NodeStatus } from '../runtime/index.js';
import { observerNode } from './observer-node.js';
import { clusterView, isNodeView, type ClusterView } from '../units/observer/cluster-view.js';
import type { AoView } from '../units/observer/ao-view.js';

export interface StatusOptions {
  servers: string[];
  cluster?: string;
  /** How long to listen for heartbeats before asking, ms (a little over one heartbeat). */
  waitMs?: number;
  auth?: { user?: string; pass?: string; token?: string };
}

export type ClusterStatus = { members: (NodeStatus | { node: string; error: string })[] };

/**
 * A `hello` makes every member beat at once: wait until the members heard stop changing for a
 * moment (at least 300 ms, at most `maxMs`), not a whole heartbeat period.
 */
async function membersHeard(node: Node, maxMs: number): Promise<void> {
  const start = Date.now();
  let count = node.members().length;
  let stableSince = start;
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    const n = node.members().length;
    if (n !== count) {
      count = n;
      stableSince = Date.now();
    } else if (n > 0 && Date.now() - stableSince >= 250 && Date.now() - start >= 300) return;
  }
}

/** Joins the bus as an observer, waits for the members' beats, runs `f`, leaves. */
async function asObserver<T>(o: StatusOptions, f: (node: Node) => Promise<T>): Promise<T> {
  const node = await observerNode('status', o);
  try {
    await membersHeard(node, o.waitMs ?? 1500);
    return await f(node);
  } finally {
    await node.stop();
  }
}

/** The observer's view of the cluster (what /observer shows), from outside: every member's tree. */
export function clusterTree(o: StatusOptions): Promise<ClusterView> {
  // The observer node itself is not part of the cluster: leave it out of the view.
  return asObserver(o, async (node) => {
    const v = await clusterView(node);
    return { ...v, nodes: v.nodes.filter((n) => n.node !== node.name) };
  });
}

const age = (ms: number) => (ms < 60e3 ? `${(ms / 1e3).toFixed(0)}s` : ms < 3600e3 ? `${(ms / 60e3).toFixed(0)}m` : `${(ms / 3600e3).toFixed(1)}h`);

/** The same tree as /observer, as text: per node its supervision tree, AO processes and recent crashes. */
export function formatTree(v: ClusterView, o: { maxChildren?: number } = {}): string {
  const max = o.maxChildren ?? 20;
  if (v.nodes.length === 0) return 'no members seen on this bus';
  const out: string[] = [];
  for (const n of v.nodes) {
    if (!isNodeView(n)) {
      out.push(`${n.node}  ${n.state}  (${n.error})`, '');
      continue;
    }
    out.push(`${n.node}  ${n.draining ? 'draining' : 'up'}  ${n.actors.length + n.truncated} actors${n.chaos ? '  chaos on' : ''}`);
    const pids = new Set(n.actors.map((a) => a.pid));
    const kids = new Map<string, ActorView[]>();
    for (const a of n.actors) {
      const p = a.parent && pids.has(a.parent) ? a.parent : '';
      kids.set(p, [...(kids.get(p) ?? []), a]);
    }
    const label = (a: ActorView) => a.name ?? (a.childId ? `${a.childId} ${a.pid}` : a.pid);
    const walk = (parent: string, depth: number) => {
      const list = (kids.get(parent) ?? []).sort((x, y) => label(x).localeCompare(label(y)));
      for (const a of list.slice(0, max)) {
        out.push(`${'  '.repeat(depth + 1)}${label(a)}  ${a.kind}  ${a.activity}  mailbox ${a.queued}  handled ${a.handled}  restarts ${a.restarts}  up ${age(a.uptimeMs)}`);
        walk(a.pid, depth + 1);
      }
      if (list.length > max) out.push(`${'  '.repeat(depth + 1)}… ${list.length - max} more`);
    };
    walk('', 0);
    const ao = n.extra as AoView | undefined;
    if (ao?.processes?.length) {
      out.push('  AO processes (owner, SU slot, CU slot, lag, slots since checkpoint, push jobs):');
      for (const p of ao.processes.slice(0, max)) out.push(`    ${p.id}  ${p.owner}  ${p.suSlot ?? '-'}  ${p.cuSlot ?? '-'}  ${p.lag ?? '-'}  ${p.sinceCheckpoint ?? '-'}  ${p.jobs}`);
      if (ao.processes.length > max) out.push(`    … ${ao.processes.length - max} more`);
    }
    if (n.crashes.length) {
      out.push('  recent crashes:');
      for (const c of n.crashes.slice(-5).reverse()) out.push(`    ${new Date(c.at).toISOString()}  ${c.name ?? c.pid}: ${c.reason}`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export async function clusterStatus(o: StatusOptions): Promise<ClusterStatus> {
  return asObserver(o, async (node) => {
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
  });
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
