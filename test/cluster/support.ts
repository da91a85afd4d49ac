/** Shared by the cluster tests: connections to a test cluster, and slot records with a real Hash-Chain. */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { startNode, type RunningNode } from '../../cli/start.js';
import { loadConfig } from '../../config/load.js';
import { generateWallet } from '../../units/ans104/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';
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

/** Nodes (cli/start.ts, in this process) on one nats-server with JetStream, sharing their units' wallets. */
export interface InProcessCluster {
  nats: NatsServerHandle;
  nodes: RunningNode[];
  /** Data dirs, the wallets' dir first. */
  dirs: string[];
  stop(): Promise<void>;
}

export async function inProcessCluster(prefix: string, names: string[]): Promise<InProcessCluster> {
  const nats = await startNatsServer({ jetstream: true });
  const wallets = tempDir(`${prefix}-wallets-`);
  const dirs = [wallets];
  const nodes: RunningNode[] = [];
  for (const unit of ['su', 'mu', 'cu']) writeFileSync(join(wallets, `${unit}.json`), JSON.stringify((await generateWallet('ed25519')).key));
  for (const name of names) {
    const dir = tempDir(`${prefix}-${name}-`);
    dirs.push(dir);
    const unit = (u: string) => ({ wallet: join(wallets, `${u}.json`) });
    const config = { dataDir: dir, port: 0, logLevel: 'silent', nodeName: name, nats: { servers: [nats.url], heartbeatMs: 200, replicas: 1 }, su: unit('su'), mu: unit('mu'), cu: unit('cu') };
    nodes.push(await startNode(loadConfig(config, {})));
  }
  for (const a of nodes) for (const b of nodes) if (a !== b) await a.node.connect(b.node.name);
  return {
    nats,
    nodes,
    dirs,
    async stop() {
      for (const n of nodes) await n.stop();
      await nats.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
