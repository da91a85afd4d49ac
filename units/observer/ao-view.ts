/**
 * What a node adds to the observer about AO: the processes it works on (a sequencer or a
 * process actor here, or push jobs in flight), each with its owner, the SU's slot, the CU's
 * evaluated slot and how far behind it is, the slots since its last checkpoint, the slots of
 * its log not yet published (when a bundler is named), and its push jobs by stage. Store reads and short calls to live actors only: it never starts an actor.
 */
import { isTerminal, type JobStage } from '../mu/index.js';
import type { Mu } from '../mu/index.js';
import type { Node } from '../../runtime/index.js';
import type { SuLogReader } from '../su/log-reader.js';
import type { ProcessStatus } from '../cu/process.js';

export interface AoProcessView {
  id: string;
  owner: string;
  /** The SU's last slot (-1: nothing assigned yet), when this node holds the log. */
  suSlot?: number;
  /** The CU's evaluated slot, when its process actor is resident here. */
  cuSlot?: number;
  /** suSlot - cuSlot. */
  lag?: number;
  /** Slots evaluated since the last checkpoint. */
  sinceCheckpoint?: number;
  /** Slots of its log not yet published to the bundler, when this node publishes logs. */
  unpublished?: number;
  sequencer: boolean;
  computing: boolean;
  jobs: number;
}

export interface AoView {
  processes: AoProcessView[];
  /** Push jobs running here, by stage. */
  jobs: Partial<Record<JobStage, number>>;
  /** Processes left out past the limit. */
  truncated: number;
}

export interface AoViewArgs {
  node: Node;
  su: Pick<SuLogReader, 'process'>;
  mu: Mu;
  /** The owner of a process (clustered: rendezvous over the members); absent: this node. */
  owner?: (processId: string) => string;
  /** How far a log is published (network/published-log.ts), when a bundler is named. */
  published?: (processId: string) => { backlog: number } | undefined;
  limit?: number;
}

export function aoView(a: AoViewArgs): () => Promise<AoView> {
  return async () => {
    const ids = new Map<string, { sequencer: boolean; computing: boolean; jobs: number }>();
    const entry = (id: string) => {
      let e = ids.get(id);
      if (!e) ids.set(id, (e = { sequencer: false, computing: false, jobs: 0 }));
      return e;
    };
    const jobs: Partial<Record<JobStage, number>> = {};
    for (const { name } of a.node.actors()) {
      if (name?.startsWith('su/')) entry(name.slice(3)).sequencer = true;
      else if (name?.startsWith('cu/')) entry(name.slice(3)).computing = true;
      else if (name?.startsWith('mu/job/')) {
        // Jobs in flight are actors: their records say where they are (the store's full scan is not for every second).
        const j = a.mu.store.job(name.slice(7));
        if (!j || isTerminal(j)) continue;
        jobs[j.stage] = (jobs[j.stage] ?? 0) + 1;
        entry(j.processId).jobs++;
      }
    }
    const limit = a.limit ?? 500;
    const chosen = [...ids].slice(0, limit);
    const processes = await Promise.all(
      chosen.map(async ([id, e]): Promise<AoProcessView> => {
        const record = a.su.process(id);
        const v: AoProcessView = { id, owner: a.owner?.(id) ?? a.node.name, ...e };
        if (record) v.suSlot = record.nextSlot - 1;
        const published = record ? a.published?.(id) : undefined;
        if (published) v.unpublished = published.backlog;
        if (e.computing) {
          // A busy process actor may not answer at once: then its numbers are left out this time.
          const r = await a.node.call<{ ok?: ProcessStatus }>(`cu/${id}`, { op: 'status' }, { timeout: 250 }).catch(() => undefined);
          if (r?.ok) {
            v.cuSlot = r.ok.slot;
            v.sinceCheckpoint = Math.max(0, r.ok.slot - r.ok.lastCheckpoint.slot);
            if (v.suSlot !== undefined) v.lag = Math.max(0, v.suSlot - v.cuSlot);
          }
        }
        return v;
      }),
    );
    return { processes: processes.sort((x, y) => x.id.localeCompare(y.id)), jobs, truncated: ids.size - chosen.length };
  };
}
