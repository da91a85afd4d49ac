/**
 * What a node counts about its actors for operators (the observer, /metrics): restarts per
 * supervisor and per child name, and the recent crashes with their reasons.
 */

export interface CrashRecord {
  /** ms since the epoch. */
  at: number;
  pid: string;
  name?: string;
  reason: string;
}

/** Actors by name (or pid) restarted, and crashes, kept for this many entries. */
const KEEP = 100;

export class NodeStats {
  /** Restarts done by each supervisor (by its name, or its pid when it has none). */
  readonly supervisorRestarts = new Map<string, number>();
  /** Abnormal exits per actor name: under a supervisor, each is a restart of that name. */
  readonly crashesByName = new Map<string, number>();
  /** The most recent crashes, oldest first. */
  readonly crashes: CrashRecord[] = [];
  /** Child ids of live supervised actors, by pid key (forgotten when they die). */
  readonly childIds = new Map<string, string>();
  private listeners = new Set<(c: CrashRecord) => void>();

  labelled(pid: string, childId: string): void {
    this.childIds.set(pid, childId);
  }

  forget(pid: string): void {
    this.childIds.delete(pid);
  }

  private restartListeners = new Set<(supervisor: string) => void>();

  restarted(supervisor: string): void {
    this.supervisorRestarts.set(supervisor, (this.supervisorRestarts.get(supervisor) ?? 0) + 1);
    // An unnamed supervisor is known by its child id (its pid changes with every restart of it).
    const label = this.childIds.get(supervisor) ?? supervisor;
    for (const l of this.restartListeners) l(label);
  }

  onRestart(listener: (supervisor: string) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  crashed(c: CrashRecord): void {
    this.crashes.push(c);
    if (this.crashes.length > KEEP) this.crashes.shift();
    if (c.name !== undefined) {
      this.crashesByName.set(c.name, (this.crashesByName.get(c.name) ?? 0) + 1);
      // Bounded: dynamic children (one per AO process) would grow it without end.
      if (this.crashesByName.size > 10 * KEEP) this.crashesByName.delete(this.crashesByName.keys().next().value!);
    }
    for (const l of this.listeners) l(c);
  }

  onCrash(listener: (c: CrashRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
