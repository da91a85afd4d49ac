/**
 * A cluster's identity: the SU, MU and CU addresses its nodes share (processes name the SU,
 * aos trusts the MU), kept in the JetStream KV bucket `<cluster>_identity` by the first node
 * that starts. Every later node must present the same addresses, or it is refused at start.
 */
import type { NatsConnection } from 'nats';
import { isNotFound, isTransient, retrying } from '../units/cluster/retry.js';
import { StartError, UNITS, type Unit } from './preflight.js';

export interface ClusterIdentity {
  cluster: string;
  addresses: Record<Unit, string>;
  /** The node that recorded it, and when. */
  by: string;
  at: number;
  /** Replicas of the cluster's streams and buckets, as its first node chose them (absent in older records). */
  replicas?: number;
}

const bucket = (cluster: string) => `${cluster}_identity`;
const KEY = 'units';

/** How long JetStream may stay unanswering (a cluster just started, electing its leaders). */
const BUDGET_MS = 30_000;

/** A JetStream that never answered, as a start error with the fix. */
const unanswered = (e: unknown, what: string) =>
  isTransient(e) ? new StartError(`JetStream did not answer ${what} within ${BUDGET_MS / 1000} s (${(e as Error).message}): check that the NATS servers run with -js and, clustered, that a majority of them are up`) : e;

/** The recorded identity, or undefined when none is (creates nothing). */
export async function readClusterIdentity(nc: NatsConnection, cluster: string): Promise<ClusterIdentity | undefined> {
  try {
    return await retrying(async () => {
      const jsm = await nc.jetstreamManager({ timeout: 5000 });
      try {
        await jsm.streams.info(`KV_${bucket(cluster)}`);
      } catch (e) {
        if (isNotFound(e)) return undefined; // no such bucket: the first node of this cluster
        throw e;
      }
      const kv = await nc.jetstream({ timeout: 5000 }).views.kv(bucket(cluster), { bindOnly: true });
      const e = await kv.get(KEY);
      return e && e.operation === 'PUT' ? (JSON.parse(new TextDecoder().decode(e.value)) as ClusterIdentity) : undefined;
    }, { budgetMs: BUDGET_MS });
  } catch (e) {
    throw unanswered(e, `for cluster ${cluster}'s identity`);
  }
}

/** Why `addresses` cannot join `identity`, or undefined when they match. A unit absent from `addresses` has no wallet yet. */
export function identityMismatch(identity: ClusterIdentity, addresses: Partial<Record<Unit, string>>, files: Partial<Record<Unit, string>>): string | undefined {
  for (const unit of UNITS) {
    const U = unit.toUpperCase();
    const want = identity.addresses[unit];
    const have = addresses[unit];
    if (have === undefined) {
      return `this node has no ${U} wallet, and cluster ${identity.cluster} runs with ${U} address ${want}: give it the cluster's wallet file (${unit}.wallet), as aotp init writes them`;
    }
    if (have !== want) {
      return `this node's ${U} wallet (${files[unit] ?? 'file'}, address ${have}) is not cluster ${identity.cluster}'s (${U} address ${want}, recorded by ${identity.by}): start it with the cluster's wallet files, as aotp init writes them`;
    }
  }
  return undefined;
}

/** Records `identity` unless one is there already; answers the one that is recorded. */
export async function claimClusterIdentity(nc: NatsConnection, identity: ClusterIdentity, replicas: number): Promise<ClusterIdentity> {
  try {
    return await retrying(async () => {
      const kv = await nc.jetstream({ timeout: 5000 }).views.kv(bucket(identity.cluster), { replicas, history: 1 });
      try {
        await kv.create(KEY, new TextEncoder().encode(JSON.stringify(identity)));
        return identity;
      } catch (e) {
        if (isTransient(e)) throw e;
        // Another node recorded one first (nodes started together): that one is the cluster's.
        const now = await readClusterIdentity(nc, identity.cluster);
        if (now) return now;
        throw new StartError(`cannot record cluster ${identity.cluster}'s identity in JetStream: ${(e as Error).message}`);
      }
    }, { budgetMs: BUDGET_MS });
  } catch (e) {
    throw unanswered(e, `when recording cluster ${identity.cluster}'s identity`);
  }
}

/**
 * What a clustered start checks once connected, before it creates anything on NATS: JetStream
 * is on, this node's wallets are the cluster's, and the replicas: those the cluster recorded, or
 * for its first node those asked for, which must fit the servers the cluster reports (absent:
 * that count, at most 3). Answers the replicas to use and the recorded
 * identity (undefined: this is the cluster's first node).
 */
export async function clusterChecks(
  nc: NatsConnection,
  o: { cluster: string; servers: string[]; replicas: number | undefined; addresses: Partial<Record<Unit, string>>; files: Partial<Record<Unit, string>> },
): Promise<{ replicas: number; identity: ClusterIdentity | undefined }> {
  const info = nc.info;
  const at = info ? `${info.host}:${info.port}` : o.servers.join(', ');
  if (info && !info.jetstream) throw new StartError(`the NATS server at ${at} has no JetStream: start nats-server with -js (and a store dir, -sd)`);
  const identity = await readClusterIdentity(nc, o.cluster);
  const bad = identity && identityMismatch(identity, o.addresses, o.files);
  if (bad) throw new StartError(bad);
  // A cluster that exists already keeps the replicas its first node chose: a node starting while
  // one of its servers is down (a machine coming back) must not be refused for it.
  if (identity?.replicas !== undefined) {
    if (o.replicas !== undefined && o.replicas !== identity.replicas) {
      throw new StartError(`nats.replicas is ${o.replicas} but cluster ${o.cluster} runs with ${identity.replicas} replicas (recorded by ${identity.by}): set nats.replicas to ${identity.replicas} or leave it out`);
    }
    return { replicas: identity.replicas, identity };
  }
  const servers = Math.max(1, info?.connect_urls?.length ?? 1);
  const replicas = o.replicas ?? Math.min(3, servers);
  if (replicas > servers) {
    throw new StartError(
      servers === 1
        ? `nats.replicas is ${replicas} but the NATS server at ${at} is a single server, not a cluster: set nats.replicas to 1, or connect to a NATS cluster of ${replicas} or more servers`
        : `nats.replicas is ${replicas} but the NATS cluster at ${at} reports ${servers} servers: set nats.replicas to ${servers} or fewer, or add servers`,
    );
  }
  return { replicas, identity };
}
