/**
 * A data item put back together from its parts as an Arweave gateway shows them: GraphQL gives
 * an item's signature, owner key, target (`recipient`), anchor and tags, `/raw/<id>` its data.
 * The bytes are laid out as ANS-104 has them (data-item.ts), so the item can be parsed and its
 * signature verified like any other: a gateway that changed any part is caught by the
 * signature, and one that answers for another id by the id (the hash of the signature).
 *
 * The signature type is not among the parts: it is the supported type whose signature and
 * owner lengths match (Arweave 512/512, Ed25519 64/32, Ethereum 65/65).
 */
import { serializeTags, SIG_CONFIG } from '@dha-team/arbundles';
import { InvalidDataItem } from './errors.js';
import { SUPPORTED_SIGNATURE_TYPES, supportedSignatureTypes } from './limits.js';
import { checkTagsToSign, type Tag } from './tags.js';

export interface ItemParts {
  /** base64url */
  signature: string;
  /** base64url of the owner's public key */
  owner: string;
  /** base64url of 32 bytes; absent or '' for none */
  target?: string;
  /** base64url of 32 bytes; absent or '' for none */
  anchor?: string;
  tags: Tag[];
  data: Uint8Array;
}

const LENGTHS = SIG_CONFIG as Record<number, { sigLength: number; pubLength: number }>;

function signatureTypeOf(signature: Buffer, owner: Buffer): number {
  for (const type of SUPPORTED_SIGNATURE_TYPES.keys()) {
    const c = LENGTHS[type];
    if (c && c.sigLength === signature.length && c.pubLength === owner.length) return type;
  }
  throw new InvalidDataItem(
    'unsupported-signature-type',
    `a ${signature.length}-byte signature with a ${owner.length}-byte owner key is none of the supported signature types ${supportedSignatureTypes()}`,
  );
}

function optional32(value: string | undefined, what: string): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length !== 32) throw new InvalidDataItem(what === 'target' ? 'bad-target' : 'bad-anchor', `${what} must be 32 bytes, got ${bytes.length}`);
  return bytes;
}

/** The item's bytes (not verified: parse and verify them as any item). */
export function assembleDataItem(p: ItemParts): Uint8Array {
  const signature = Buffer.from(p.signature, 'base64url');
  const owner = Buffer.from(p.owner, 'base64url');
  const type = signatureTypeOf(signature, owner);
  const target = optional32(p.target, 'target');
  const anchor = optional32(p.anchor, 'anchor');
  checkTagsToSign(p.tags);
  const tags = p.tags.length ? serializeTags(p.tags) : Buffer.alloc(0);
  const head = Buffer.alloc(2);
  head.writeUInt16LE(type);
  const counts = Buffer.alloc(16);
  counts.writeBigUInt64LE(BigInt(p.tags.length), 0);
  counts.writeBigUInt64LE(BigInt(tags.length), 8);
  const presence = (b: Buffer | undefined) => (b ? [Buffer.from([1]), b] : [Buffer.from([0])]);
  return Buffer.concat([head, signature, owner, ...presence(target), ...presence(anchor), counts, tags, p.data]);
}
