/**
 * A stopping node as a lame duck: it stops taking new work (readiness 503, POSTs answered 503),
 * leaves the cluster's members so placement gives its processes to the others, and waits —
 * at most `drainMs` — until it writes no process log (its sequencers stopped, their leases
 * released) and runs no push job. Only then is its tree stopped; until then HTTP answers, and
 * reads are routed to the new owners.
 */
import type { Logger } from '../runtime/index.js';
import type { RunningNode } from './start.js';

export interface DrainProgress {
  /** Process logs this node still writes (`su/<process>` sequencers). */
  logs: number;
  /** Push jobs still running here (`mu/job/<id>`). */
  jobs: number;
}

export async function lameDuck(running: RunningNode, o: { drainMs: number; log: Logger; abort?: AbortSignal }): Promise<DrainProgress> {
  const { node, lifecycle } = running;
  const started = Date.now();
  lifecycle.stopping = true;
  const clustered = running.clustered;
  const count = (): DrainProgress => {
    let logs = 0;
    let jobs = 0;
    for (const a of node.actors()) {
      if (a.name?.startsWith('su/')) logs++;
      else if (a.name?.startsWith('mu/job/')) jobs++;
    }
    // On the in-process bus nobody can take a process log over; the push jobs resume from LMDB.
    return clustered ? { logs, jobs } : { logs: 0, jobs: 0 };
  };
  if (clustered) node.setDraining(true);
  let left = count();
  o.log.info({ ...left, drainMs: o.drainMs }, `draining: no new work; handing over ${left.logs} process log(s), finishing ${left.jobs} push job(s)`);
  let last = `${left.logs}/${left.jobs}`;
  /** Process logs wait for a member to take them; with none left (all stopping at once), they cannot. */
  const nobodyToTakeOver = () => clustered && node.members().every((m) => m === node.name);
  const waiting = () => (left.logs > 0 && !nobodyToTakeOver()) || left.jobs > 0;
  while (waiting() && Date.now() - started < o.drainMs && !o.abort?.aborted) {
    await new Promise((r) => setTimeout(r, 100));
    left = count();
    if (`${left.logs}/${left.jobs}` !== last) {
      last = `${left.logs}/${left.jobs}`;
      o.log.info(left, `draining: ${left.logs} process log(s), ${left.jobs} push job(s) still here`);
    }
  }
  const ms = Date.now() - started;
  if (left.logs > 0 && left.jobs === 0 && nobodyToTakeOver()) o.log.warn({ ...left, ms }, `no other member to hand ${left.logs} process log(s) to: stopping with them (their leases are released on stop)`);
  else if (left.logs === 0 && left.jobs === 0) o.log.info({ ms }, `drained in ${ms} ms`);
  else o.log.warn({ ...left, ms }, `drain ${o.abort?.aborted ? 'cut short by a second signal' : `not done within ${o.drainMs} ms`}: stopping with ${left.logs} process log(s) and ${left.jobs} push job(s) here (the jobs resume from its store on restart; the logs' leases expire)`);
  return left;
}
