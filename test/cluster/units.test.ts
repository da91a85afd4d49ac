/**
 * The units across a cluster: two nodes on one NATS server (JetStream, R1), sharing wallets.
 * A client talks to either node; spawns, messages, pushes and results about a process are
 * carried out by the node that owns it, including a conversation between processes owned by
 * different nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';
import { owner } from '../../units/cluster/placement.js';
import { inProcessCluster, type InProcessCluster } from './support.js';
import { messageItem, post, spawnItem } from '../units/mu/support.js';

/** A dry-run through a node's HTTP route (which asks the process's owner). */
async function dryRun(n: RunningNode, processId: string, owner: string, code: string): Promise<string> {
  const r = await fetch(`${n.url}/cu/dry-run?process-id=${processId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Target: processId, Owner: owner, Tags: [{ name: 'Action', value: 'Eval' }], Data: code }),
  });
  const out = (await r.json()) as { Output?: { data?: unknown } };
  return String(out.Output?.data ?? '').trim().split('\n').pop() ?? '';
}

let cluster: InProcessCluster;
let nodes: RunningNode[];
let user: Wallet;

beforeAll(async () => {
  cluster = await inProcessCluster('aotp-units', ['n1', 'n2']);
  ({ nodes } = cluster);
  user = await generateWallet('ed25519');
});
afterAll(() => cluster?.stop());

/** Spawns through node `via` until it has a process owned by `want`. */
async function spawnOwnedBy(via: RunningNode, want: string): Promise<string> {
  for (;;) {
    const item = await spawnItem(via, user);
    if (owner(item.id, ['n1', 'n2']) !== want) continue;
    const r = await post(`${via.url}/mu/`, item.raw);
    expect(r.status).toBe(202);
    return item.id;
  }
}

describe('MU, SU and CU across two nodes', () => {
  it('a conversation between processes owned by different nodes, driven through the other node', async () => {
    const [n1, n2] = nodes as [RunningNode, RunningNode];
    // a lives on n1 but is spawned and driven through n2; b lives on n2, spawned through n1.
    const a = await spawnOwnedBy(n2, 'n1');
    const b = await spawnOwnedBy(n1, 'n2');
    const evalVia = async (n: RunningNode, pid: string, code: string) => {
      const item = await messageItem(pid, user, [{ name: 'Action', value: 'Eval' }], code);
      const r = await post(`${n.url}/mu/`, item.raw);
      expect(r.status).toBe(202);
      return { id: item.id, jobs: await n.mu.store.settled(item.id) };
    };
    await evalVia(n1, b, `Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (msg) Send({ Target = msg.From, Action = "Pong", Data = "pong " .. msg.Data }) end); return 1`);
    await evalVia(n2, a, `Got = nil; Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (msg) Got = msg.Data end); return 1`);
    const { jobs } = await evalVia(n2, a, `Send({ Target = "${b}", Action = "Ping", Data = "across" }); return "sent"`);
    expect(jobs.map((j) => j.stage)).toEqual(['done', 'done', 'done']);

    // Each node answers the result and the state, whichever owns the process.
    for (const n of nodes) {
      expect(await dryRun(n, a, user.address, 'return Got')).toBe('pong across');
      const r = await fetch(`${n.url}/cu/result/${jobs.find((j) => j.depth === 1)!.messageId}?process-id=${b}`);
      expect(r.status).toBe(200);
      const page = await (await fetch(`${n.url}/su/${a}`)).json();
      expect(page.edges.length).toBe(4);
    }
    // The process actors run on their owners only.
    expect(n1.node.whereis(`cu/${a}`)).toBeDefined();
    expect(n2.node.whereis(`cu/${a}`)).toBeUndefined();
    expect(n2.node.whereis(`cu/${b}`)).toBeDefined();
    expect(n1.node.whereis(`cu/${b}`)).toBeUndefined();
  });
});
