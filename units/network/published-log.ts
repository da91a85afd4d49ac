/**
 * How far each process's log is published to the bundler (durable, in LMDB): the highest slot
 * up to which every slot's assignment and message went up in an accepted bundle. Slots are
 * published in order, so one number per process says it all.
 */
import type { Store, Table } from '../../runtime/store.js';

export interface PublishedStatus {
  /** Every slot up to this one is published; -1 when none is. */
  through: number;
  /** Slots in the log not published yet. */
  backlog: number;
}

export class PublishedLog {
  private readonly marks: Table<number, string>;

  constructor(private readonly store: Store) {
    this.marks = store.db<number, string>('network-published-log');
  }

  through(processId: string): number {
    return this.marks.get(processId) ?? -1;
  }

  /** The status of a log whose next slot is `nextSlot`. */
  status(processId: string, nextSlot: number): PublishedStatus {
    const through = Math.min(this.through(processId), nextSlot - 1);
    return { through, backlog: nextSlot - 1 - through };
  }

  /** Records what one accepted bundle held: process id → its last slot in it (in one commit). */
  mark(through: ReadonlyMap<string, number>): Promise<void> {
    return this.store.transact(() => {
      for (const [processId, slot] of through) if (slot > this.through(processId)) void this.marks.put(processId, slot);
    });
  }
}
