/**
 * `aotp reload --config FILE --nats URL[,URL] [--node NAME]`: applies the supervision policy of
 * a config file (each unit's restart intensity and period, the shutdown time) to running nodes,
 * live: every member of the cluster (or the node named) gets it over the bus, and its
 * `node/policy` actor changes the supervision tree without restarting anything. Every other
 * setting of the file needs a restart. A node on the embedded bus (no NATS) reads its own
 * --config file again on SIGHUP.
 */
import { CallError, RELOADER, formatReason, onNode, type ReloadReply } from '../runtime/index.js';
import { loadConfig } from '../config/load.js';
import { observerNode } from './observer-node.js';
import { policyOf, type NodePolicy } from '../supervisors/policy.js';
import type { RunningNode } from './start.js';

export interface ReloadOptions {
  servers: string[];
  cluster?: string;
  /** Only this node; default: every member. */
  node?: string;
  policy: NodePolicy;
  /** How long to listen for members' heartbeats before sending, ms. */
  waitMs?: number;
  auth?: { user?: string; pass?: string; token?: string };
}

export type NodeReload = { node: string } & (ReloadReply | { error: { kind: 'unreachable'; message: string } });

/** A reload can stop children (and wait their shutdown time): give it long. */
const RELOAD_TIMEOUT = 120_000;

/** The supervision policy of a config file (the whole config is checked, as `aotp start` would). */
export function policyFromConfig(overrides: Record<string, unknown>): NodePolicy {
  return policyOf(loadConfig(overrides));
}

export async function reloadCluster(o: ReloadOptions): Promise<NodeReload[]> {
  const self = await observerNode('reload', o);
  try {
    if (o.node) await self.connect(o.node, o.waitMs ?? 5000).catch(() => undefined);
    else await new Promise((r) => setTimeout(r, o.waitMs ?? 1500));
    const names = o.node ? [o.node] : self.members().filter((n) => n !== self.name).sort();
    return await Promise.all(
      names.map(async (node): Promise<NodeReload> => {
        try {
          return { node, ...(await self.call(onNode(RELOADER, node), { op: 'reload', policy: o.policy }, { timeout: RELOAD_TIMEOUT })) };
        } catch (e) {
          return { node, error: { kind: 'unreachable', message: e instanceof CallError ? e.message : formatReason(e) } };
        }
      }),
    );
  } finally {
    await self.stop();
  }
}

/** The policy of a config applied to this running node. */
export async function reloadRunning(running: RunningNode, overrides: Record<string, unknown>): Promise<NodeReload> {
  const policy = policyFromConfig(overrides);
  return { node: running.node.name, ...(await running.node.call(RELOADER, { op: 'reload', policy }, { timeout: RELOAD_TIMEOUT })) };
}

/** SIGHUP on `aotp start --config FILE`: the file read again and its policy applied; the outcome logged. */
export async function reloadOnSignal(running: RunningNode, read: () => Record<string, unknown>): Promise<void> {
  try {
    const r = await reloadRunning(running, read());
    if ('ok' in r) running.log.info({ changed: r.ok.changed }, `policy reloaded: ${formatReload([r])}`);
    else running.log.error({ error: r.error }, formatReload([r]));
  } catch (e) {
    running.log.error({ err: formatReason(e) }, `policy not reloaded: ${e instanceof Error ? e.message : formatReason(e)}`);
  }
}

export function formatReload(results: NodeReload[]): string {
  if (results.length === 0) return 'no members seen on this bus';
  return results
    .map((r) => {
      if ('ok' in r) {
        const changed = Object.entries(r.ok.changed).map(([k, v]) => `${k} ${(v as unknown[]).join(' -> ')}`);
        const moved = r.ok.supervisors.flatMap((s) => [...s.change.terminated.map((id) => `${s.path}: stopped ${id}`), ...s.change.started.map((id) => `${s.path}: started ${id}`)]);
        return `${r.node}: ${changed.length ? changed.join(', ') : 'no change'}; ${r.ok.supervisors.length} supervisor(s) updated${moved.length ? `; ${moved.join(', ')}` : ''}`;
      }
      const e = r.error;
      return `${r.node}: not reloaded (${e.kind}): ${'message' in e ? e.message : `${e.path}: ${formatReason(e.reason)}`}`;
    })
    .join('\n');
}
