/**
 * Placement of actors (`su/<processId>`, …) on cluster members by rendezvous hashing (highest
 * random weight): each (key, member) pair gets a pseudo-random weight, and a key's owner is
 * the live member with the highest weight. Deterministic (every node computes the same owner
 * from the same member list, in any order), and minimal: when a member leaves, only the keys
 * it owned move (each to its second choice); a member that joins takes ~1/n of the keys.
 *
 * The weight is the first 8 bytes of sha256(member ‖ 0x00 ‖ key), compared as an unsigned
 * 64-bit integer; equal weights (practically never) are broken by member name.
 */
import { createHash } from 'node:crypto';

export function weight(key: string, member: string): bigint {
  return createHash('sha256').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}

/** The member that owns `key` among `members`; undefined when there are none. */
export function owner(key: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestW = -1n;
  for (const m of members) {
    const w = weight(key, m);
    if (w > bestW || (w === bestW && best !== undefined && m < best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}

/** All members in `key`'s order of preference: owner first, then who takes over if it dies. */
export function ranking(key: string, members: Iterable<string>): string[] {
  return [...new Set(members)]
    .map((m) => ({ m, w: weight(key, m) }))
    .sort((a, b) => (a.w === b.w ? (a.m < b.m ? -1 : 1) : a.w > b.w ? -1 : 1))
    .map((x) => x.m);
}

/** Owner of every key. */
export function assign(keys: Iterable<string>, members: Iterable<string>): Map<string, string | undefined> {
  const ms = [...new Set(members)];
  const out = new Map<string, string | undefined>();
  for (const k of keys) out.set(k, owner(k, ms));
  return out;
}
