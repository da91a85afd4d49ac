/**
 * What a memory image (protocol.ts MemoryImage) is checked with, in an evaluator thread and on
 * the main thread alike (a checkpoint signed by another CU is checked before it is kept): the
 * memory hash over the image's pages, the image's checksum, and decompressing its pages.
 * node: modules only.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { Codec } from './protocol.js';

export const PAGE = 65536;
const HASH_DOMAIN = Buffer.from('aotp-memory-v1');

/** sha256 over the memory size and each non-zero page with its index (hex). */
export function memoryHash(size: number, indices: ArrayLike<number>, pageAt: (k: number) => Uint8Array): string {
  const hash = createHash('sha256').update(HASH_DOMAIN);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(size));
  hash.update(head);
  const idx = Buffer.alloc(4);
  for (let k = 0; k < indices.length; k++) {
    idx.writeUInt32LE(indices[k]!);
    hash.update(idx).update(pageAt(k));
  }
  return hash.digest('hex');
}

export const checksumOf = (pages: Uint8Array, data: Uint8Array) => createHash('sha256').update(pages).update(data).digest('hex');

/** The stored pages, concatenated; throws on an unknown codec or bad data. */
export function decompress(codec: Codec, data: Uint8Array): Buffer {
  if (codec === 'none') return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (codec === 'gzip') return zlib.gunzipSync(data);
  if (codec === 'brotli') return zlib.brotliDecompressSync(data);
  throw new Error(`unknown codec ${String(codec)}`);
}
