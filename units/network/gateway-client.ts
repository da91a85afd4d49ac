/**
 * What this node asks of an Arweave gateway's GraphQL (arweave.net, or another aotp node's
 * gateway): an item's owner and tags by id, and a wallet's newest Scheduler-Location record, in
 * the queries @permaweb/ao-scheduler-utils sends. A gateway that cannot be reached, or answers
 * with an error, is GatewayUnavailable (try again later); an answer without the item is not.
 */
import type { Tag } from '../ans104/index.js';
import { boundedText } from './bounded-body.js';

/** Most bytes of one answer: the queries ask for one item's id, owner and tags. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export class GatewayUnavailable extends Error {
  override readonly name = 'GatewayUnavailable';
}

export interface ItemHead {
  id: string;
  owner: string;
  tags: Tag[];
}

const ITEM = `query GetItem($ids: [ID!]!) {
  transactions(ids: $ids, first: 1) { edges { node { id owner { address } tags { name value } } } }
}`;

const LOCATION = `query GetSchedulerLocation($owner: String!) {
  transactions(owners: [$owner], tags: [{ name: "Data-Protocol", values: ["ao"] }, { name: "Type", values: ["Scheduler-Location"] }], sort: HEIGHT_DESC, first: 1) {
    edges { node { id owner { address } tags { name value } } }
  }
}`;

interface Edges {
  data?: { transactions?: { edges?: { node: { id: string; owner: { address: string }; tags: Tag[] } }[] } };
  errors?: { message: string }[];
}

/** Answers a GraphQL request in-process (a node that is its own network's gateway asks itself so). */
export type LocalGraphQL = (request: { query: string; variables: Record<string, unknown> }) => { status: number; body: unknown };

export class GatewayClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
    private readonly local?: LocalGraphQL,
  ) {}

  private async query(query: string, variables: Record<string, unknown>): Promise<ItemHead | undefined> {
    let body: Edges;
    if (this.local) body = this.local({ query, variables }).body as Edges;
    else try {
      const r = await fetch(`${this.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await boundedText(r, MAX_ANSWER_BYTES);
      if (!r.ok) throw new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
      body = JSON.parse(text) as Edges;
    } catch (e) {
      throw new GatewayUnavailable(`gateway ${this.url} did not answer: ${(e as Error).message}`);
    }
    if (body.errors?.length) throw new GatewayUnavailable(`gateway ${this.url}: ${body.errors[0]!.message}`);
    const node = body.data?.transactions?.edges?.[0]?.node;
    return node ? { id: node.id, owner: node.owner.address, tags: node.tags } : undefined;
  }

  /** An item's owner address and tags; undefined when the gateway does not know it. */
  async item(id: string): Promise<ItemHead | undefined> {
    const head = await this.query(ITEM, { ids: [id] });
    return head?.id === id ? head : undefined;
  }

  /** The newest Scheduler-Location record signed by `address`. */
  async schedulerLocation(address: string): Promise<ItemHead | undefined> {
    const head = await this.query(LOCATION, { owner: address });
    return head?.owner === address ? head : undefined;
  }
}
