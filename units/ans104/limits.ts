/**
 * The one set of limits on ANS-104 data items, applied wherever an item is accepted (the HTTP
 * edges, the parser) and wherever one is made (the MU's outbox, the SU's assignments, the AO-Sec
 * origin): what the node accepts from outside is exactly what it can sign itself, so an item
 * built inside can never be one its own parser refuses.
 *
 * ANS-104 allows at most 128 tags, names up to 1024 bytes and values up to 3072 bytes; arbundles
 * caps the encoded tag block at 4096 bytes. A whole item (headers, tags, data) that a client sends
 * or the node signs is at most 10 MiB, the body limit of the node's HTTP routes.
 */
export const ITEM_LIMITS = {
  maxTags: 128,
  maxNameBytes: 1024,
  maxValueBytes: 3072,
  maxTagBytes: 4096,
  maxItemBytes: 10 * 1024 * 1024,
} as const;

/**
 * The ANS-104 signature types this node accepts: the ones it verifies itself and AO uses.
 * Every other type (Solana, Aptos, typed Ethereum, …) is refused as unsupported: arbundles'
 * verifiers for some of them accept forgeries (multi-aptos with an empty bitmap verifies).
 */
export const SUPPORTED_SIGNATURE_TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'Arweave RSA-4096'],
  [2, 'Ed25519'],
  [3, 'Ethereum secp256k1'],
]);

export const supportedSignatureTypes = (): string =>
  [...SUPPORTED_SIGNATURE_TYPES].map(([type, name]) => `${type} (${name})`).join(', ');
