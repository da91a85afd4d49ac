/**
 * A client of aotp nodes over HTTP only (as aoconnect would be): spawning aos processes through
 * a node's MU, sending messages, reading logs, results and dry-runs back. For cluster tests whose
 * nodes are child processes.
 */
import { randomBytes } from 'node:crypto';
import { createDataItem, type SignedDataItem, type Tag, type Wallet } from '../../units/ans104/index.js';

export interface NodeInfo {
  node: string;
  members: string[];
  addresses: { mu: string; su: string; cu: string };
  modules: Record<string, string>;
}

export async function nodeInfo(url: string): Promise<NodeInfo> {
  return (await (await fetch(`${url}/`)).json()) as NodeInfo;
}

const post = (url: string, raw: Uint8Array) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw), signal: AbortSignal.timeout(30_000) });

/** A spawn of the wasm32 aos module that trusts the MU (which signs pushed messages). */
export function aosSpawnItem(info: NodeInfo, user: Wallet, extra: Tag[] = []): Promise<SignedDataItem> {
  return createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: info.modules['aos-2.0.4-wasm32']! },
        { name: 'Scheduler', value: info.addresses.su },
        { name: 'Authority', value: info.addresses.mu },
        ...extra,
      ],
    },
    user,
  );
}

export function aosMessage(target: string, user: Wallet, tags: Tag[], data = ''): Promise<SignedDataItem> {
  return createDataItem(
    { data, target, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, { name: 'Type', value: 'Message' }, ...tags] },
    user,
  );
}

/** POSTs an item to a node's MU; the HTTP status (0 when the node did not answer). */
export async function push(url: string, item: SignedDataItem): Promise<number> {
  try {
    const r = await post(`${url}/mu/`, item.raw);
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** Pushes until some node answers 202, trying the given nodes in turn. */
export async function pushSomewhere(urls: () => string[], item: SignedDataItem, timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const all = urls();
    const url = all[i % all.length]!;
    if ((await push(url, item)) === 202) return url;
    if (Date.now() > end) throw new Error(`no node accepted ${item.id}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface LogEntry {
  slot: number;
  id: string;
  tags: Record<string, string>;
  data: string | null;
}

/** A process's log as a node's SU serves it (GET /su/:process, every page). */
export async function logOf(url: string, processId: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let from: number | undefined;
  for (;;) {
    const r = await fetch(`${url}/su/${processId}?limit=5000${from !== undefined ? `&from-nonce=${from}` : ''}`, { signal: AbortSignal.timeout(60_000) });
    if (r.status !== 200) throw new Error(`log of ${processId} from ${url}: ${r.status} ${await r.text()}`);
    const page = (await r.json()) as {
      page_info: { has_next_page: boolean };
      edges: { node: { message: { id: string; tags: Tag[]; data: string | null } | null; assignment: { tags: Tag[] } } }[];
    };
    for (const { node } of page.edges) {
      const nonce = Number(node.assignment.tags.find((t) => t.name === 'Nonce')?.value);
      out.push({ slot: nonce, id: node.message?.id ?? '', tags: Object.fromEntries((node.message?.tags ?? []).map((t) => [t.name, t.value])), data: node.message?.data ?? null });
      from = nonce;
    }
    if (!page.page_info.has_next_page) return out;
  }
}

/** The last line an aos dry-run of `code` prints, through `url`. */
export async function dryRun(url: string, processId: string, owner: string, code: string): Promise<string> {
  const r = await fetch(`${url}/cu/dry-run?process-id=${processId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Target: processId, Owner: owner, Tags: [{ name: 'Action', value: 'Eval' }], Data: code }),
    signal: AbortSignal.timeout(60_000),
  });
  if (r.status !== 200) return `(${r.status})`;
  const out = (await r.json()) as { Output?: { data?: unknown } };
  return String(out.Output?.data ?? '').trim().split('\n').pop() ?? '';
}

/** Until `check()` answers true (each attempt after the previous settles); rejects after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
