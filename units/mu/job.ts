/**
 * A push job: one message on its way through the node, and its durable record.
 *
 * A push is a tree of jobs. The client's item is the root; every message, spawn or assignment
 * its evaluation produced is a child job, and so on down. Each job goes through stages, and its
 * record says which stage it reached, so a restarted job actor goes on from there:
 *
 *   schedule  → the SU gives the item (or the assignment) a slot
 *   result    → the CU evaluates it; its outbox becomes child jobs, signed and written with
 *               the parent's move to `done` in one transaction
 *   done      → children (if any) are started; nothing else to do
 *
 * `failed` and `skipped` end a job with a reason. A child's item is signed once and kept in its
 * record before it is pushed, so a retried push sends the same item and the SU (which dedupes by
 * id) never assigns it a second slot.
 */

export type JobKind = 'message' | 'spawn' | 'assign';
export type JobStage = 'schedule' | 'result' | 'done' | 'failed' | 'skipped';

export interface JobRecord {
  /** The pushed item's id; for an assignment, `<messageId>@<processId>`. */
  id: string;
  kind: JobKind;
  /** The process the item goes to (for a spawn: the new process, i.e. the item's id). */
  processId: string;
  /** The message the SU assigns (the item's id, or the assigned message's). */
  messageId: string;
  /** The signed item (absent for assignments). */
  raw?: Uint8Array;
  /** The root job of the push this job belongs to. */
  root: string;
  /** The first message of the push (tagged Pushed-For on what it causes); absent for cron pushes. */
  pushedFor?: string;
  /** The job whose outbox made this one (absent for a root). */
  parent?: string;
  /** 0 for a root. */
  depth: number;
  /** Ask the CU for the result and push its outbox (false for casts and spawns). */
  follow: boolean;
  /** For a spawn from an outbox: the spawning process, told `Action=Spawned` once scheduled. */
  spawnedBy?: { processId: string; tags: { name: string; value: string }[] };
  /** For an assignment: transactions the SU should not assign with it (`exclude`). */
  exclude?: string[];
  stage: JobStage;
  /** Bumped by every write; a write must name the revision it replaces (see MuStore.write). */
  rev: number;
  slot?: number;
  /** The SU's assignment, once scheduled. */
  assignmentId?: string;
  children?: string[];
  /** Why the job failed or was skipped, or what of its outbox was not pushed. */
  reason?: string;
  createdAt: number;
  updatedAt: number;
}

export const isTerminal = (r: JobRecord) => r.stage === 'done' || r.stage === 'failed' || r.stage === 'skipped';

export const assignJobId = (messageId: string, processId: string) => `${messageId}@${processId}`;

export const jobName = (id: string) => `mu/job/${id}`;
