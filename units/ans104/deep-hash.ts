/**
 * Arweave's deep hash (SHA-384), synchronous on node:crypto — the message an ANS-104 item's
 * signature covers: deepHash(["dataitem", "1", sigType, owner, target, anchor, tags, data]).
 * Signing worker threads load it too (through assignment-core.ts), so it imports node: only.
 *
 * arbundles computes the same value asynchronously, a promise per hash. Here it is a plain
 * function, and a list hash can be folded chunk by chunk from a saved accumulator: a signer
 * whose owner never changes hashes the first chunks once (`dataItemPrefix`, then `fork`).
 */
import * as crypto from 'node:crypto';

export type DeepHashChunk = Uint8Array | DeepHashChunk[];

// crypto.hash (one shot, Node >= 20.12) costs about two thirds of a createHash round trip.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

function sha384(a: Uint8Array, b?: Uint8Array): Buffer {
  if (oneShot) return oneShot('sha384', b === undefined ? a : Buffer.concat([a, b]), 'buffer');
  const h = crypto.createHash('sha384');
  h.update(a);
  if (b !== undefined) h.update(b);
  return h.digest();
}

const blobTags = new Map<number, Buffer>();

/** sha384("blob" + length), memoised for the lengths that repeat. */
function blobTag(length: number): Buffer {
  let tag = blobTags.get(length);
  if (!tag) {
    tag = sha384(Buffer.from(`blob${length}`));
    if (blobTags.size < 4096) blobTags.set(length, tag);
  }
  return tag;
}

/** The deep hash of a blob: sha384(sha384("blob" + len) ‖ sha384(blob)). */
export function deepHashBlob(data: Uint8Array): Buffer {
  return sha384(blobTag(data.byteLength), sha384(data));
}

export function deepHash(data: DeepHashChunk): Buffer {
  if (!Array.isArray(data)) return deepHashBlob(data);
  let acc = sha384(Buffer.from(`list${data.length}`));
  for (const chunk of data) acc = sha384(acc, deepHash(chunk));
  return acc;
}

/** A list deep hash computed one chunk at a time. */
export class DeepHashList {
  #acc: Buffer;
  #remaining: number;

  private constructor(acc: Buffer, remaining: number) {
    this.#acc = acc;
    this.#remaining = remaining;
  }

  /** Starts the hash of a list of `length` chunks. */
  static start(length: number): DeepHashList {
    return new DeepHashList(sha384(Buffer.from(`list${length}`)), length);
  }

  /** Starts a list and folds `chunks` in: keep it and `fork` it for each item sharing them. */
  static prefix(length: number, chunks: Uint8Array[]): DeepHashList {
    const list = DeepHashList.start(length);
    for (const c of chunks) list.push(c);
    return list;
  }

  fork(): DeepHashList {
    return new DeepHashList(this.#acc, this.#remaining);
  }

  push(chunk: Uint8Array): this {
    return this.pushHashed(deepHashBlob(chunk));
  }

  /** Folds in a chunk by its deep hash (for a chunk that repeats: hash it once). */
  pushHashed(chunkHash: Uint8Array): this {
    if (this.#remaining === 0) throw new Error('deep hash list: more chunks than its declared length');
    this.#acc = sha384(this.#acc, chunkHash);
    this.#remaining--;
    return this;
  }

  digest(): Buffer {
    if (this.#remaining !== 0) throw new Error(`deep hash list: ${this.#remaining} chunks missing`);
    return this.#acc;
  }
}

export interface SignatureDataParts {
  signatureType: number;
  owner: Uint8Array;
  /** 32 bytes, or absent */
  target?: Uint8Array;
  /** 32 bytes, or absent */
  anchor?: Uint8Array;
  /** The Avro tag block exactly as in the item (empty when there are no tags). */
  tagBytes: Uint8Array;
  data: Uint8Array;
}

const EMPTY = Buffer.alloc(0);
const DATAITEM = Buffer.from('dataitem');
const ONE = Buffer.from('1');

/** The first five chunks of an item's signature data (up to the target), to fork per item. */
export function dataItemPrefix(signatureType: number, owner: Uint8Array, target?: Uint8Array): DeepHashList {
  return DeepHashList.prefix(8, [DATAITEM, ONE, Buffer.from(String(signatureType)), owner, target ?? EMPTY]);
}

/** What an ANS-104 signature signs (arbundles' getSignatureData), synchronously. */
export function dataItemSignatureData(p: SignatureDataParts): Buffer {
  return dataItemPrefix(p.signatureType, p.owner, p.target)
    .push(p.anchor ?? EMPTY)
    .push(p.tagBytes)
    .push(p.data)
    .digest();
}
