/**
 * The SU's replicated log (units/su/replica.ts) on NATS JetStream: a sequencer claims its
 * process by taking the lease (lease.ts) and opening a writer on the replicated log
 * (replicated-log.ts) with the lease's revision as fencing token — the writer's fence makes
 * every earlier writer's next append fail — then catches up from the stream.
 *
 * A lost lease (another node took it, or it could not be renewed in time) is reported to the
 * sequencer, which stops; even before it does, the new owner's fence refuses its appends.
 */
import type { NatsConnection } from 'nats';
import { LogDiverged, NotOwner, type ReplicaWriter, type SuReplica } from '../su/replica.js';
import { IdIndex, type IdIndexOptions } from './id-index.js';
import { LeaseHeld, LeaseManager, type LeaseOptions } from './lease.js';
import { LogWriter, ReplicatedLog, type ReplicatedLogOptions } from './replicated-log.js';

export interface ClusterReplicaOptions {
  lease?: LeaseOptions;
  log?: ReplicatedLogOptions;
  /** Where messages are indexed by id (see id-index.ts). */
  ids: IdIndexOptions;
}

export interface ClusterReplica extends SuReplica {
  readonly log: ReplicatedLog;
  readonly leases: LeaseManager;
  readonly ids: IdIndex;
}

export async function clusterReplica(nc: NatsConnection, node: string, o: ClusterReplicaOptions): Promise<ClusterReplica> {
  const leases = await LeaseManager.open(nc, node, o.lease);
  const log = await ReplicatedLog.open(nc, o.log);
  const ids = await IdIndex.open(nc, o.ids);
  return {
    log,
    leases,
    ids,
    async claim(processId: string, localNext: number): Promise<ReplicaWriter> {
      let lease;
      try {
        lease = await leases.acquire(processId);
      } catch (e) {
        if (e instanceof LeaseHeld) throw new NotOwner(processId, e.holder);
        throw e;
      }
      try {
        const writer = await LogWriter.open(log, processId, lease.token, node);
        // Runs are replicated before they are committed here, so a local slot the stream lacks
        // means the stream lost data (or was replaced): refuse to write on top of it.
        if (localNext > writer.nextSlot) {
          throw new LogDiverged(`${processId}: this node's log goes to slot ${localNext - 1}, the replicated log only to ${writer.nextSlot - 1}`);
        }
        const missing = await writer.missing(localNext);
        let lostCb: ((e: Error) => void) | undefined;
        let lost: Error | undefined;
        lease.startRenewing((e) => {
          lost = e;
          lostCb?.(e);
        });
        return {
          missing,
          // The run and the index of its messages, together (a message's first slot is its home).
          append: async (run) => {
            await Promise.all([writer.appendRun(run), ids.add(run.filter((r) => r.kind === 'message').map((r) => ({ messageId: r.messageId, processId })))]);
          },
          release: async () => {
            lease.stopRenewing();
            await lease.release();
          },
          onLost(cb) {
            lostCb = cb;
            if (lost) cb(lost);
          },
        };
      } catch (e) {
        await lease.release().catch(() => undefined);
        throw e;
      }
    },
  };
}
