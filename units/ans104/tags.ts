/**
 * ANS-104 tags: checks against the limits (limits.ts; parsing and signing enforce the same ones),
 * and a bounded Avro decoder for untrusted tag bytes.
 *
 * arbundles' own decoder (`deserializeTags`) trusts the Avro block counts and string lengths it
 * reads: a negative string length walks its cursor backwards, so a few crafted bytes make it loop
 * and allocate until the process dies. Untrusted items are decoded here instead; arbundles sees
 * only bytes this decoder has accepted.
 */
import { InvalidDataItem } from './errors.js';
import { ITEM_LIMITS } from './limits.js';

export interface Tag {
  name: string;
  value: string;
}

/** Validates tags to be signed; returns the encoded size of the tag block. */
export function checkTagsToSign(tags: unknown): number {
  if (!Array.isArray(tags)) throw new InvalidDataItem('bad-tag', 'tags must be an array of { name, value } strings');
  if (tags.length > ITEM_LIMITS.maxTags) {
    throw new InvalidDataItem('too-many-tags', `${tags.length} tags; ANS-104 allows at most ${ITEM_LIMITS.maxTags}`);
  }
  if (tags.length === 0) return 0;
  let size = longSize(tags.length) + 1; // block count ... terminating 0
  tags.forEach((tag: unknown, i) => {
    const t = tag as Partial<Tag> | null;
    if (typeof t?.name !== 'string' || typeof t?.value !== 'string') {
      throw new InvalidDataItem('bad-tag', `tag ${i}: name and value must both be strings`);
    }
    const nameBytes = Buffer.byteLength(t.name);
    const valueBytes = Buffer.byteLength(t.value);
    checkTagLengths(i, t.name, nameBytes, valueBytes);
    size += longSize(nameBytes) + nameBytes + longSize(valueBytes) + valueBytes;
  });
  if (size > ITEM_LIMITS.maxTagBytes) {
    throw new InvalidDataItem('tags-too-large', `tags encode to ${size} bytes; the limit is ${ITEM_LIMITS.maxTagBytes}`);
  }
  return size;
}

function checkTagLengths(i: number, name: string, nameBytes: number, valueBytes: number): void {
  if (nameBytes > ITEM_LIMITS.maxNameBytes || valueBytes > ITEM_LIMITS.maxValueBytes) {
    throw new InvalidDataItem(
      'tag-too-long',
      `tag ${i} ('${name.slice(0, 40)}'): name ${nameBytes} bytes, value ${valueBytes} bytes; ` +
        `limits are ${ITEM_LIMITS.maxNameBytes} and ${ITEM_LIMITS.maxValueBytes}`,
    );
  }
}

/** Bytes of the zigzag varint Avro writes for a non-negative long. */
function longSize(n: number): number {
  let m = n * 2;
  let bytes = 1;
  while (m >= 128) {
    m = Math.floor(m / 128);
    bytes++;
  }
  return bytes;
}

/**
 * Decodes an Avro array of { name: string, value: string } records holding exactly `count`
 * items. Bytes after the array's terminating block are ignored, as arbundles does (they are
 * still covered by the signature).
 */
export function decodeTags(bytes: Buffer, count: number): Tag[] {
  const c = { buf: bytes, pos: 0 };
  const tags: Tag[] = [];
  for (;;) {
    let n = readLong(c);
    if (n === 0) break;
    if (n < 0) {
      n = -n;
      readLong(c); // a negative block count is followed by the block's byte size
    }
    if (tags.length + n > count) {
      throw new InvalidDataItem('tag-count-mismatch', `tag block holds more than the ${count} tags the header declares`);
    }
    for (let i = 0; i < n; i++) {
      const name = readString(c);
      const value = readString(c);
      checkTagLengths(tags.length, name.s, name.bytes, value.bytes);
      tags.push({ name: name.s, value: value.s });
    }
  }
  if (tags.length !== count) {
    throw new InvalidDataItem('tag-count-mismatch', `header declares ${count} tags, tag block holds ${tags.length}`);
  }
  return tags;
}

interface Cursor {
  buf: Buffer;
  pos: number;
}

function readLong(c: Cursor): number {
  let acc = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.buf.length) throw new InvalidDataItem('bad-tag-encoding', 'tag block ends inside a number');
    const b = c.buf[c.pos++]!;
    acc += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return acc % 2 === 0 ? acc / 2 : -(acc + 1) / 2;
    scale *= 128;
  }
  throw new InvalidDataItem('bad-tag-encoding', 'tag block holds a number longer than 10 bytes');
}

/** A string and its encoded length in bytes (what the limits count). */
function readString(c: Cursor): { s: string; bytes: number } {
  const len = readLong(c);
  if (len < 0 || c.pos + len > c.buf.length) {
    throw new InvalidDataItem('bad-tag-encoding', `tag string of length ${len} does not fit in the tag block`);
  }
  const s = c.buf.toString('utf8', c.pos, c.pos + len);
  c.pos += len;
  return { s, bytes: len };
}
