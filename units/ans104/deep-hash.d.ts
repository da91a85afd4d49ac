/** Types of deep-hash.js (plain JavaScript so that worker threads can load it). */
export type DeepHashChunk = Uint8Array | DeepHashChunk[];

/** The deep hash of a blob: sha384(sha384("blob" + len) ‖ sha384(blob)). */
export function deepHashBlob(data: Uint8Array): Buffer;
export function deepHash(data: DeepHashChunk): Buffer;

/** A list deep hash computed one chunk at a time. */
export class DeepHashList {
  private constructor(acc: Buffer, remaining: number);
  /** Starts the hash of a list of `length` chunks. */
  static start(length: number): DeepHashList;
  /** Starts a list and folds `chunks` in: keep it and `fork` it for each item sharing them. */
  static prefix(length: number, chunks: Uint8Array[]): DeepHashList;
  fork(): DeepHashList;
  push(chunk: Uint8Array): this;
  /** Folds in a chunk by its deep hash (for a chunk that repeats: hash it once). */
  pushHashed(chunkHash: Uint8Array): this;
  digest(): Buffer;
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

/** The first five chunks of an item's signature data (up to the target), to fork per item. */
export function dataItemPrefix(signatureType: number, owner: Uint8Array, target?: Uint8Array): DeepHashList;

/** What an ANS-104 signature signs (arbundles' getSignatureData), synchronously. */
export function dataItemSignatureData(p: SignatureDataParts): Buffer;
