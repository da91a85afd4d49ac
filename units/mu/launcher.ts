/**
 * Starts MU actors under their dynamic supervisors, by name: a push job `mu/job/<id>` or a
 * monitor `mu/cron/<processId>`. Starting one that runs already answers its pid, so resuming
 * a job twice (a parent re-starting its children after a restart, and the MU's resume at start)
 * never runs two actors for one job.
 */
import { startChild, terminateChild, type Caller, type Pid } from '../../runtime/index.js';
import type { PushJobProtocol } from './push-job.js';

export const MU_JOBS = 'mu.jobs';
export const MU_MONITORS = 'mu.monitors';

export const monitorName = (processId: string) => `mu/cron/${processId}`;

export interface NameRegistry {
  whereis(name: string): Pid | undefined;
}

/** The supervisor could not start the actor. */
export class MuStartError extends Error {
  override readonly name = 'MuStartError';
}

/** A name already taken is answered with its actor by the start itself (supervisors/named-children.ts). */
async function ensure(caller: Caller, supervisor: string, extra: unknown): Promise<Pid | undefined> {
  const r = await startChild(caller, supervisor, extra);
  if ('ok' in r) return r.ok ?? undefined;
  const e = r.error;
  throw new MuStartError(`cannot start ${JSON.stringify(extra)} under ${supervisor}: ${String(typeof e === 'object' ? JSON.stringify(e) : e)}`);
}

/** Starts the job's actor (or finds it running); undefined when the job had already ended. */
export const startJob = async (caller: Caller, id: string) => (await ensure(caller, MU_JOBS, { id })) as Pid<PushJobProtocol> | undefined;

export const startMonitor = (caller: Caller, processId: string) => ensure(caller, MU_MONITORS, { processId });

export async function stopMonitor(caller: Caller, names: NameRegistry, processId: string): Promise<void> {
  const pid = names.whereis(monitorName(processId));
  if (pid) await terminateChild(caller, MU_MONITORS, pid);
}
