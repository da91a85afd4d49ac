/**
 * A data item as Arweave's GraphQL `Transaction` type shows it. The fields follow arweave.net
 * for an ANS-104 item that is not (yet) in a block: `block` is null, `parent` and `bundledIn`
 * too unless the item came in an uploaded bundle (items.ts sets them then),
 * `fee` and `quantity` are zero, `anchor` and `recipient` are empty strings when absent, the
 * anchor is the base64url of its 32 bytes, `data.type` is the Content-Type tag (or null).
 */
import { ownerAddress, parseDataItem, tagValue, type Tag } from '../ans104/index.js';

export interface Amount {
  winston: string;
  ar: string;
}

export interface TransactionNode {
  id: string;
  anchor: string;
  signature: string;
  recipient: string;
  owner: { address: string; key: string };
  fee: Amount;
  quantity: Amount;
  data: { size: string; type: string | null };
  tags: Tag[];
  block: { id: string; timestamp: number; height: number; previous: string } | null;
  parent: { id: string } | null;
  bundledIn: { id: string } | null;
}

const ZERO: Amount = { winston: '0', ar: '0.000000000000' };

/** The node for raw item bytes; throws InvalidDataItem when the bytes are not an item. */
export function transactionNode(raw: Uint8Array): TransactionNode {
  const item = parseDataItem(raw);
  return {
    id: item.id,
    anchor: item.rawAnchor ? Buffer.from(item.rawAnchor).toString('base64url') : '',
    signature: item.signature,
    recipient: item.target ?? '',
    owner: { address: ownerAddress(item), key: item.owner },
    fee: ZERO,
    quantity: ZERO,
    data: { size: String(item.data.length), type: tagValue(item.tags, 'Content-Type') ?? null },
    tags: item.tags.map((t) => ({ name: t.name, value: t.value })),
    block: null,
    parent: null,
    bundledIn: null,
  };
}
