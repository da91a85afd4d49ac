/**
 * Key order as LMDB keeps it (lmdb-js' ordered-binary encoding), for the keys the units use:
 * null < booleans < numbers < strings < bytes; numbers by value; strings by their UTF-8 bytes;
 * arrays element by element, a prefix before what extends it.
 */
import type { Key } from '../store.js';

const rank = (k: Key): number =>
  k === null ? 0 : typeof k === 'boolean' ? 1 : typeof k === 'number' ? 2 : typeof k === 'string' ? 3 : k instanceof Uint8Array ? 4 : 5;

/** Whether every character sorts the same in UTF-16 and UTF-8 (no surrogates). */
const plain = (s: string) => !/[\ud800-\udfff]/.test(s);

function compareStrings(a: string, b: string): number {
  if (plain(a) && plain(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function compareKeys(a: Key, b: Key): number {
  const aa = Array.isArray(a);
  const ba = Array.isArray(b);
  if (aa || ba) {
    const x = (aa ? a : [a]) as readonly Key[];
    const y = (ba ? b : [b]) as readonly Key[];
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const c = compareKeys(x[i]!, y[i]!);
      if (c !== 0) return c;
    }
    return x.length - y.length;
  }
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
      return Number(a) - Number(b);
    case 2:
      return (a as number) - (b as number);
    case 3:
      return compareStrings(a as string, b as string);
    case 4:
      return Buffer.compare(a as Uint8Array, b as Uint8Array);
    default:
      return 0;
  }
}

/** A key as a string, to find it in a map (equal keys, equal strings). */
export function keyId(k: Key): string {
  if (Array.isArray(k)) return `[${(k as readonly Key[]).map(keyId).join(',')}]`;
  if (k instanceof Uint8Array) return `b${Buffer.from(k).toString('hex')}`;
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** A copy the caller cannot change under the store. */
export function copyKey<K extends Key>(k: K): K {
  if (Array.isArray(k)) return (k as readonly Key[]).map(copyKey) as unknown as K;
  if (k instanceof Uint8Array) return Buffer.from(k) as unknown as K;
  return k;
}
