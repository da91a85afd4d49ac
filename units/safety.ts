/**
 * Safety mechanisms a simulation may switch off, one at a time, to show that it notices their
 * absence (the mutation test, sim/mutations.ts) — as FoundationDB's BUGGIFY points do. Outside
 * that test every one is on; nothing else switches them.
 *
 * - `fencing`: a new owner of a process log fences the replicated log before it writes, and every
 *   append names the entry it follows, so a stale writer is refused;
 * - `su-dedupe`: the SU gives a message it has already scheduled its existing slot (in the
 *   sequencer, and again in the store's append);
 * - `mu-signed-once`: a push job's outbox is signed once and written with the job's move to
 *   `done` only if no other incarnation moved the job first (the job's revision; in a cluster
 *   also one node's writes of a job going one after the other);
 * - `killed-handler-guard`: a handler still running in an actor that was killed writes and
 *   records nothing.
 */
export type Mechanism = 'fencing' | 'su-dedupe' | 'mu-signed-once' | 'killed-handler-guard';

export const MECHANISMS: readonly Mechanism[] = ['fencing', 'su-dedupe', 'mu-signed-once', 'killed-handler-guard'];

const off = new Set<Mechanism>();

/** Whether `m` is on (always, except in a mutation test). */
export const enforced = (m: Mechanism): boolean => off.size === 0 || !off.has(m);

/** For the mutation test only: switches `m` off until `restore`. */
export function switchOff(m: Mechanism): void {
  off.add(m);
}

export function restoreAll(): void {
  off.clear();
}
