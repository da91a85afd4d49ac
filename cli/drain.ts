/**
 * `aotp drain --nats URL --node NAME`: the node leaves the cluster's placement while staying
 * reachable; its rebalancer hands every process log it writes to the new owners (releasing the
 * leases, so they take over at once). Resolves when it writes none, or after `timeoutMs`.
 * `--undo` makes it a member again.
 */
import { STATUS_NAME, type NodeStatus } from '../runtime/index.js';
import { observerNode } from './observer-node.js';

export interface DrainOptions {
  servers: string[];
  node: string;
  cluster?: string;
  undo?: boolean;
  timeoutMs?: number;
  auth?: { user?: string; pass?: string; token?: string };
}

export interface DrainResult {
  node: string;
  draining: boolean;
  /** Sequencers (`su/<process>`) still on the node at the end. */
  remaining: number;
  ms: number;
}

export async function drain(o: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const self = await observerNode('drain', o);
  try {
    await self.connect(o.node, 5000);
    const target = { name: STATUS_NAME, node: o.node };
    const r = await self.call<{ draining?: boolean; error?: string }>(target, { op: 'drain', on: !o.undo }, { timeout: 5000 });
    if (r.error) throw new Error(r.error);
    const sequencers = async () => (await self.call<NodeStatus>(target, { op: 'status' }, { timeout: 5000 })).actors.filter((a) => a.name?.startsWith('su/')).length;
    let remaining = await sequencers();
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    while (!o.undo && remaining > 0 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 250));
      remaining = await sequencers();
    }
    return { node: o.node, draining: !o.undo, remaining, ms: Date.now() - started };
  } finally {
    await self.stop();
  }
}
