// Arweave's deep hash (SHA-384), synchronous on node:crypto — the message an ANS-104 item's
// signature covers: deepHash(["dataitem", "1", sigType, owner, target, anchor, tags, data]).
//
// Plain JavaScript (types in deep-hash.d.ts) because signing worker threads load it, and a
// worker thread has no TypeScript loader.
//
// arbundles computes the same value asynchronously, a promise per hash. Here it is a plain
// function, and a list hash can be folded chunk by chunk from a saved accumulator: a signer
// whose owner never changes hashes the first chunks once (`dataItemPrefix`, then `fork`).
import * as crypto from 'node:crypto';

// crypto.hash (one shot, Node >= 20.12) costs about two thirds of a createHash round trip.
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

function sha384(a, b) {
  if (oneShot) return oneShot('sha384', b === undefined ? a : Buffer.concat([a, b]), 'buffer');
  const h = crypto.createHash('sha384');
  h.update(a);
  if (b !== undefined) h.update(b);
  return h.digest();
}

const blobTags = new Map();

/** sha384("blob" + length), memoised for the lengths that repeat. */
function blobTag(length) {
  let tag = blobTags.get(length);
  if (!tag) {
    tag = sha384(Buffer.from(`blob${length}`));
    if (blobTags.size < 4096) blobTags.set(length, tag);
  }
  return tag;
}

export function deepHashBlob(data) {
  return sha384(blobTag(data.byteLength), sha384(data));
}

export function deepHash(data) {
  if (!Array.isArray(data)) return deepHashBlob(data);
  let acc = sha384(Buffer.from(`list${data.length}`));
  for (const chunk of data) acc = sha384(acc, deepHash(chunk));
  return acc;
}

export class DeepHashList {
  #acc;
  #remaining;

  constructor(acc, remaining) {
    this.#acc = acc;
    this.#remaining = remaining;
  }

  static start(length) {
    return new DeepHashList(sha384(Buffer.from(`list${length}`)), length);
  }

  static prefix(length, chunks) {
    const list = DeepHashList.start(length);
    for (const c of chunks) list.push(c);
    return list;
  }

  fork() {
    return new DeepHashList(this.#acc, this.#remaining);
  }

  push(chunk) {
    return this.pushHashed(deepHashBlob(chunk));
  }

  pushHashed(chunkHash) {
    if (this.#remaining === 0) throw new Error('deep hash list: more chunks than its declared length');
    this.#acc = sha384(this.#acc, chunkHash);
    this.#remaining--;
    return this;
  }

  digest() {
    if (this.#remaining !== 0) throw new Error(`deep hash list: ${this.#remaining} chunks missing`);
    return this.#acc;
  }
}

const EMPTY = Buffer.alloc(0);
const DATAITEM = Buffer.from('dataitem');
const ONE = Buffer.from('1');

export function dataItemPrefix(signatureType, owner, target) {
  return DeepHashList.prefix(8, [DATAITEM, ONE, Buffer.from(String(signatureType)), owner, target ?? EMPTY]);
}

export function dataItemSignatureData(p) {
  return dataItemPrefix(p.signatureType, p.owner, p.target)
    .push(p.anchor ?? EMPTY)
    .push(p.tagBytes)
    .push(p.data)
    .digest();
}
