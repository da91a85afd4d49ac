/**
 * `aotp verify --nats URL[,URL]`: reads every process's log from the replicated stream and
 * checks the invariants (units/cluster/verify.ts): no gaps, no slot assigned twice, no message
 * in two slots, an unbroken hash chain, fencing tokens that never go down. With `--data-dir`
 * (repeatable), each node's LMDB log is compared with the stream as well.
 */
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'nats';
import { Store } from '../runtime/store.js';
import { ReplicatedLog } from '../units/cluster/replicated-log.js';
import { isNotFound } from '../units/cluster/retry.js';
import { verify, type VerifyReport } from '../units/cluster/verify.js';
import { readSuLog } from '../units/su/log-reader.js';

export interface VerifyClusterOptions {
  servers: string[];
  cluster?: string;
  /** Data dirs of nodes whose LMDB logs are compared with the stream (nodes stopped). */
  dataDirs?: string[];
  auth?: Pick<ConnectionOptions, 'user' | 'pass' | 'token'>;
}

export interface ClusterVerdict {
  cluster: string;
  /** Process logs checked; 0 means nothing was checked (no such cluster, or it has no logs yet). */
  processes: number;
  violations: number;
  reports: VerifyReport[];
}

const violations = (r: VerifyReport) =>
  r.gaps + r.duplicates + r.conflicts + r.outOfOrder + r.messageRepeats + r.hashChainBreaks + r.tokenRegressions + (r.local ? r.local.missing + r.local.extra + r.local.mismatched : 0);

export async function verifyCluster(o: VerifyClusterOptions): Promise<ClusterVerdict> {
  const cluster = o.cluster ?? 'aotp';
  const nc = await connect({ servers: o.servers, ...o.auth });
  const stores = (o.dataDirs ?? []).map((d) => Store.open(join(d, 'lmdb')));
  try {
    const stream = `${cluster.toUpperCase()}_SU_LOG`;
    const jsm = await nc.jetstreamManager();
    const prefix = `${cluster}.su.log.`;
    // Read-only: a cluster without a stream (a typo in --cluster) has nothing to check, and
    // must not get one created by the checker.
    const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!info) return { cluster, processes: 0, violations: 0, reports: [] };
    const log = await ReplicatedLog.open(nc, { prefix: `${cluster}.su`, stream });
    const processIds = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)).sort();
    const reports: VerifyReport[] = [];
    for (const processId of processIds) {
      const entries = await log.read(processId);
      const base = verify(processId, entries);
      reports.push(base);
      // Each node's own log must be a prefix-consistent copy of the stream's.
      for (const store of stores) {
        const su = readSuLog(store);
        const local = su.slotRange(processId, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        if (local.length > 0) reports.push(verify(processId, entries, { local }));
      }
    }
    return { cluster, processes: processIds.length, violations: reports.reduce((n, r) => n + violations(r), 0), reports };
  } finally {
    for (const s of stores) await s.close();
    await nc.close();
  }
}

/** Checking nothing is not a pass: `aotp verify` exits 1 with this. */
export function nothingChecked(v: ClusterVerdict): string | undefined {
  return v.processes === 0 ? `no process logs found for cluster ${v.cluster}` : undefined;
}

export function formatVerdict(v: ClusterVerdict): string {
  const bad = v.reports.filter((r) => violations(r) > 0);
  const lines = [`${v.processes} process log(s) checked, ${v.violations} violation(s)`];
  for (const r of bad) lines.push(`  ${r.processId}: ${r.problems.slice(0, 5).join('; ')}`);
  return lines.join('\n');
}
