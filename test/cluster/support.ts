/** Shared by the cluster tests: connections to a test cluster, and slot records with a real Hash-Chain. */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { firstHashChain, nextHashChain } from '../../units/su/assignment-core.js';
import type { SlotRecord } from '../../units/su/store.js';

/** A connection as one node makes it: all servers, first choice `first`, reconnecting quickly. */
export function node(urls: string[], first = 0, name?: string): Promise<NatsConnection> {
  const servers = [...urls.slice(first), ...urls.slice(0, first)];
  return connect({
    servers,
    noRandomize: true,
    reconnectTimeWait: 100,
    maxReconnectAttempts: -1,
    ...(name ? { name } : {}),
  });
}

export const randomId = () => randomBytes(32).toString('base64url');

/**
 * Slot records `from`..`from+n-1` of `processId`, chained after `prev` (null: from slot 0).
 * The assignment bytes are random stand-ins: the log and the verifier read only the fields.
 */
export function slotRecords(processId: string, from: number, n: number, prev: SlotRecord | null = null): SlotRecord[] {
  const out: SlotRecord[] = [];
  for (let slot = from; slot < from + n; slot++) {
    const hashChain = prev === null ? firstHashChain(processId) : nextHashChain(prev.assignmentId, prev.hashChain);
    const rec: SlotRecord = {
      slot,
      kind: slot === 0 ? 'process' : 'message',
      assignmentId: randomId(),
      messageId: slot === 0 ? processId : randomId(),
      timestamp: 1_700_000_000_000 + slot,
      blockHeight: 0,
      hashChain,
      assignment: randomBytes(64),
      item: randomBytes(128),
    };
    out.push(rec);
    prev = rec;
  }
  return out;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
