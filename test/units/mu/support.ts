/**
 * A whole node (cli/start.ts: SU, CU, MU on the in-process bus, real LMDB in a temp dir, the
 * bundled aos modules) and helpers to spawn aos processes and message them through the MU,
 * as a client would.
 */
import { randomBytes } from 'node:crypto';
import { startNode, type RunningNode } from '../../../cli/start.js';
import { loadConfig } from '../../../config/load.js';
import { createDataItem, type SignedDataItem, type Tag, type Wallet } from '../../../units/ans104/index.js';
import { tempDir } from '../cu/support/harness.js';

export { tempDir };

export async function node(dir: string, overrides: Record<string, unknown> = {}): Promise<RunningNode> {
  return startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent', ...overrides }, {}));
}

export const post = (url: string, raw: Uint8Array) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw) });

/** A spawn item for the wasm32 aos module, trusting the MU (its pushed messages) and the user. */
export function spawnItem(n: RunningNode, user: Wallet, extra: Tag[] = []): Promise<SignedDataItem> {
  return createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: n.cu.modules.bundled()['aos-2.0.4-wasm32']! },
        { name: 'Scheduler', value: n.su.address },
        { name: 'Authority', value: n.mu.address },
        ...extra,
      ],
    },
    user,
  );
}

export function messageItem(target: string, user: Wallet, tags: Tag[], data = ''): Promise<SignedDataItem> {
  return createDataItem(
    { data, target, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: 'Message' }, ...tags] },
    user,
  );
}

/** Spawns through the MU; answers the process id. */
export async function spawn(n: RunningNode, user: Wallet, extra: Tag[] = []): Promise<string> {
  const item = await spawnItem(n, user, extra);
  const r = await post(`${n.url}/mu/`, item.raw);
  if (r.status !== 202) throw new Error(`spawn: ${r.status} ${await r.text()}`);
  return item.id;
}

/** Sends an Eval through the MU and waits for its whole push to end. */
export async function evalLua(n: RunningNode, user: Wallet, processId: string, code: string) {
  const item = await messageItem(processId, user, [{ name: 'Action', value: 'Eval' }], code);
  const r = await post(`${n.url}/mu/`, item.raw);
  if (r.status !== 202) throw new Error(`eval: ${r.status} ${await r.text()}`);
  return { id: item.id, jobs: await n.mu.store.settled(item.id) };
}

/** The last line an aos dry-run prints for `code`. */
export async function dryRun(n: RunningNode, processId: string, owner: string, code: string): Promise<string> {
  const out = await n.cu.api(n.node).dryRun(processId, { Target: processId, Owner: owner, Tags: [{ name: 'Action', value: 'Eval' }], Data: code });
  const o = out.Output as { data?: unknown } | undefined;
  const text = typeof o?.data === 'string' ? o.data : JSON.stringify(o?.data ?? '');
  return text.trim().split('\n').pop() ?? '';
}

/** The messages of a process's SU log (slot ≥ 1), with their tags. */
export async function log(n: RunningNode, processId: string) {
  const { parseDataItem, ownerAddress } = await import('../../../units/ans104/index.js');
  const entries = await n.su.reader.read(processId, 1);
  return entries.map((e) => {
    const item = e.message ? parseDataItem(e.message) : undefined;
    return { slot: e.slot, id: e.messageId, owner: item ? ownerAddress(item) : undefined, tags: Object.fromEntries((item?.tags ?? []).map((t) => [t.name, t.value])) };
  });
}
