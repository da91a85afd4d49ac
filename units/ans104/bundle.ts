/**
 * ANS-104 binary bundles: the data of a `Bundle-Format: binary`, `Bundle-Version: 2.0.0` item.
 * Layout: the item count (32 bytes, little-endian), then per item its size (32 bytes, little-
 * endian) and its id (the 32 raw bytes, the SHA-256 of its signature), then the items' bytes in
 * that order. The items are signed already; only the bundle item around them is signed anew.
 */
import type { Tag } from './tags.js';
import { parseDataItem, tagValue } from './data-item.js';

export const BUNDLE_TAGS: readonly Tag[] = [
  { name: 'Bundle-Format', value: 'binary' },
  { name: 'Bundle-Version', value: '2.0.0' },
];

/** Bytes that are not a binary bundle of data items. */
export class InvalidBundle extends Error {
  override readonly name = 'InvalidBundle';
}

/** Whether an item's tags say its data is a binary bundle. */
export function isBundle(tags: readonly Tag[]): boolean {
  return tagValue(tags, 'Bundle-Format') === 'binary' && tagValue(tags, 'Bundle-Version') === '2.0.0';
}

function long32(n: number): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32 && v > 0; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** A 32-byte little-endian number; bundles past 2^53 bytes do not exist, so the high bytes are 0. */
function readLong32(b: Uint8Array, at: number): number {
  for (let i = at + 7; i < at + 32; i++) if (b[i] !== 0) throw new InvalidBundle('a size or count is out of range');
  let v = 0;
  for (let i = at + 6; i >= at; i--) v = v * 256 + b[i]!;
  if (!Number.isSafeInteger(v)) throw new InvalidBundle('a size or count is out of range');
  return v;
}

/** The binary bundle of signed items (their raw bytes), in order. */
export function bundleItems(raws: readonly Uint8Array[]): Uint8Array {
  const header = new Uint8Array(32 + 64 * raws.length);
  header.set(long32(raws.length), 0);
  raws.forEach((raw, i) => {
    header.set(long32(raw.byteLength), 32 + 64 * i);
    header.set(Buffer.from(parseDataItem(raw).id, 'base64url'), 32 + 64 * i + 32);
  });
  return Buffer.concat([header, ...raws]);
}

/**
 * The items of a binary bundle, each parsed (not verified) and checked against the id its header
 * names; throws InvalidBundle (or InvalidDataItem for an item that is not one).
 */
export function unbundle(data: Uint8Array): Uint8Array[] {
  if (data.byteLength < 32) throw new InvalidBundle('shorter than its item count');
  const count = readLong32(data, 0);
  let at = 32 + 64 * count;
  if (at > data.byteLength) throw new InvalidBundle(`${count} items do not fit in ${data.byteLength} bytes`);
  const items: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = readLong32(data, 32 + 64 * i);
    if (at + size > data.byteLength) throw new InvalidBundle(`item ${i} runs past the end of the bundle`);
    const raw = data.subarray(at, at + size);
    const id = Buffer.from(data.subarray(32 + 64 * i + 32, 32 + 64 * i + 64)).toString('base64url');
    if (parseDataItem(raw).id !== id) throw new InvalidBundle(`item ${i} is not the item its header names (${id})`);
    items.push(raw);
    at += size;
  }
  return items;
}
