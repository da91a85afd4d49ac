/**
 * Module items fetched by id from an Arweave gateway, as the reference CU loads a module
 * (permaweb/ao servers/cu, effects/arweave.js and wasm.js): the item's fields from the gateway's
 * GraphQL (`transactions(ids: [id])`: signature, owner key, recipient, anchor, tags) and its
 * data from `GET /raw/<id>`. Unlike the reference, the parts are put back together as the
 * signed item (ans104/assemble.ts), so the module store verifies what the gateway served.
 *
 * Answers undefined when the gateway has no such item (no edge, or 404 on its data): the module
 * does not exist as far as this gateway knows. Anything else that goes wrong (no connection, a
 * timeout, a 5xx, an answer that is not GraphQL) is GatewayUnreachable: not an answer about the
 * module, to be asked again later. An item larger than `maxBytes` is refused before (or while)
 * its data is read.
 */
import { z } from 'zod';
import { assembleDataItem, InvalidDataItem, type Tag } from '../ans104/index.js';

export interface ModuleGatewayOptions {
  /** The gateway's base URL (`https://arweave.net`): GraphQL at `<url>/graphql`, data at `<url>/raw/<id>`. */
  url: string;
  /** Limit on each request, ms. */
  timeoutMs: number;
  /** Largest item data accepted, bytes. */
  maxBytes: number;
}

/** The gateway could not be asked now: not an answer about the module. */
export class GatewayUnreachable extends Error {
  override readonly name = 'GatewayUnreachable';
}

/** The gateway answered with something that cannot be the module (too large, not an item). */
export class GatewayRefused extends Error {
  override readonly name = 'GatewayRefused';
}

const QUERY = `query ($ids: [ID!]!) {
  transactions(ids: $ids, first: 1) {
    edges { node { id signature anchor recipient owner { key } data { size } tags { name value } } }
  }
}`;

const Answer = z.object({
  data: z.object({
    transactions: z.object({
      edges: z.array(
        z.object({
          node: z.object({
            id: z.string(),
            signature: z.string(),
            anchor: z.string().nullish(),
            recipient: z.string().nullish(),
            owner: z.object({ key: z.string() }),
            data: z.object({ size: z.string() }).nullish(),
            tags: z.array(z.object({ name: z.string(), value: z.string() })),
          }),
        }),
      ),
    }),
  }),
});

const base = (url: string) => url.replace(/\/+$/, '');

async function request(o: ModuleGatewayOptions, url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(o.timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new GatewayUnreachable(`gateway ${base(o.url)} did not answer (${(e as Error).name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : (cause ?? (e as Error).message)})`);
  }
}

function unexpected(o: ModuleGatewayOptions, what: string, res: Response): GatewayUnreachable {
  return new GatewayUnreachable(`gateway ${base(o.url)} answered ${what} with HTTP ${res.status}`);
}

/** Reads a body of at most `max` bytes. */
async function body(o: ModuleGatewayOptions, res: Response, id: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = (n: number) => new GatewayRefused(`module ${id} has ${n} bytes of data; this CU loads modules up to ${o.maxBytes} bytes (cu.maxModuleBytes)`);
  if (declared > o.maxBytes) {
    await res.body?.cancel();
    throw tooLarge(declared);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > o.maxBytes) {
        await res.body?.cancel();
        throw tooLarge(total);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof GatewayRefused) throw e;
    throw new GatewayUnreachable(`gateway ${base(o.url)} broke off the data of ${id}: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks, total);
}

/**
 * The signed module item `id` as the gateway has it, or undefined when it has none. `check`
 * sees the item's tags before its data is fetched (and throws to refuse it).
 */
export async function fetchModuleItem(o: ModuleGatewayOptions, id: string, check: (tags: Tag[]) => void = () => {}): Promise<Uint8Array | undefined> {
  const res = await request(o, `${base(o.url)}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: QUERY, variables: { ids: [id] } }),
  });
  if (!res.ok) throw unexpected(o, 'the GraphQL query', res);
  let parsed;
  try {
    parsed = Answer.parse(await res.json());
  } catch (e) {
    throw new GatewayUnreachable(`gateway ${base(o.url)} answered the GraphQL query with something else than transactions: ${(e as Error).message.slice(0, 200)}`);
  }
  const node = parsed.data.transactions.edges.find((e) => e.node.id === id)?.node;
  if (!node) return undefined;
  check(node.tags);
  if (node.data && Number(node.data.size) > o.maxBytes) {
    throw new GatewayRefused(`module ${id} has ${node.data.size} bytes of data; this CU loads modules up to ${o.maxBytes} bytes (cu.maxModuleBytes)`);
  }
  const raw = await request(o, `${base(o.url)}/raw/${id}`);
  if (raw.status === 404) return undefined;
  if (!raw.ok) throw unexpected(o, `GET /raw/${id}`, raw);
  const data = await body(o, raw, id);
  try {
    return assembleDataItem({
      signature: node.signature,
      owner: node.owner.key,
      ...(node.recipient ? { target: node.recipient } : {}),
      ...(node.anchor ? { anchor: node.anchor } : {}),
      tags: node.tags,
      data,
    });
  } catch (e) {
    if (e instanceof InvalidDataItem) throw new GatewayRefused(`module ${id} as gateway ${base(o.url)} shows it is not a valid data item: ${e.message}`);
    throw e;
  }
}
