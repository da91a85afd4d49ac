import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { Config } from '../config/schema.js';
import { DuplicateNode, formatReason, NatsTransport, Node, type ExitReason, type Pid } from '../runtime/index.js';
import { checkDataDir, checkDataDirIdentity, checkModulesDir, checkPort, ensureWallets, knownWallets, StartError, writeDataDirIdentity } from './preflight.js';
import { claimClusterIdentity, clusterChecks, identityMismatch } from './cluster-identity.js';
import { logNatsStatus } from './nats-status.js';
import { Store } from '../runtime/store.js';
import { composeNode, type ComposedNode } from '../supervisors/node.js';
import { startRoot } from '../supervisors/root.js';
import type { Health } from '../units/http/health.js';
import { NodeMetrics } from '../units/http/metrics.js';
import { clusterReplica, type ClusterReplica } from '../units/cluster/su-replica.js';
import { isTransient } from '../units/cluster/retry.js';
import { crashPoint } from '../units/cluster/crash-point.js';
import type { Cu } from '../units/cu/index.js';
import type { Mu } from '../units/mu/index.js';
import type { Sec } from '../units/sec/index.js';
import type { Su } from '../units/su/index.js';

export interface RunningNode {
  node: Node;
  /** The node's LMDB environment. */
  store: Store;
  health: Health;
  /** `stopping` once a stop began: readiness fails, new work (POST) is answered 503. */
  lifecycle: { stopping: boolean };
  /** On NATS, with other nodes to take its work over. */
  clustered: boolean;
  root: Pid;
  /** Resolves with the root supervisor's exit reason if it ever exits. */
  exited: Promise<ExitReason>;
  url: string;
  log: Logger;
  su: Su;
  cu: Cu;
  mu: Mu;
  sec: Sec;
  stop(): Promise<void>;
}

/** Starts a node and its supervision tree from a validated config. */
export async function startNode(config: Config, logger?: Logger): Promise<RunningNode> {
  const log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const startedAt = Date.now();
  // Checks first: nothing (data dir, wallet, stream, bucket) is created until they pass.
  checkDataDir(config.dataDir);
  checkModulesDir(config.cu.modulesDir);
  await checkPort(config.host, config.port);
  const dataDirIdentity = checkDataDirIdentity(config);
  const known = await knownWallets(config);
  const transport = config.nats
    ? new NatsTransport({
        servers: config.nats.servers,
        cluster: config.nats.cluster,
        heartbeatMs: config.nats.heartbeatMs,
        downAfterMs: config.nats.downAfterMs,
        auth: { user: config.nats.user, pass: config.nats.pass, token: config.nats.token, ...(config.nats.tls ? { tls: config.nats.tls } : {}) },
        // Not a member (nothing is placed here) until every check has passed.
        observer: true,
        uniqueNameWaitMs: 500,
      })
    : undefined;
  const node = await Node.start({ name: config.nodeName, logger: log, transport }).catch((e: Error & { code?: string }) => {
    if (e instanceof DuplicateNode) throw new StartError(e.message);
    // The first connection to NATS failed (nobody there, credentials, TLS): a start error, exit 2.
    if (transport) throw Object.assign(new StartError(`${e.message.split('\n')[0]} (check nats.servers / --nats, and that nats-server runs there)`), { code: e.code });
    throw e;
  });
  // Clustered: one writer per process log, kept by a lease and a replicated stream on NATS.
  let replica: ClusterReplica | undefined;
  /** Replicas of the cluster's streams and buckets (as the servers allow: see clusterChecks). */
  let replicas = config.nats?.replicas ?? 3;
  let wallets: Awaited<ReturnType<typeof ensureWallets>>;
  try {
    const addresses = Object.fromEntries(Object.entries(known).map(([u, w]) => [u, w.wallet.address]));
    const files = Object.fromEntries(Object.entries(known).map(([u, w]) => [u, w.path]));
    const checked = transport && config.nats
      ? await clusterChecks(transport.connection, { cluster: config.nats.cluster, servers: config.nats.servers, replicas: config.nats.replicas, addresses, files })
      : undefined;
    mkdirSync(config.dataDir, { recursive: true });
    wallets = await ensureWallets(config, known, (unit, wallet, path) =>
      log.info({ path, address: wallet.address, kind: wallet.kind }, `created a new ${wallet.kind} ${unit.toUpperCase()} wallet at ${path}`),
    );
    writeDataDirIdentity(config.dataDir, dataDirIdentity);
    if (transport && config.nats && checked) {
      replicas = checked.replicas;
      const mine = { su: wallets.su.address, mu: wallets.mu.address, cu: wallets.cu.address };
      if (!checked.identity) {
        const recorded = await claimClusterIdentity(transport.connection, { cluster: config.nats.cluster, addresses: mine, by: config.nodeName, at: Date.now(), replicas: checked.replicas }, checked.replicas);
        const bad = identityMismatch(recorded, mine, files);
        if (bad) throw new StartError(bad);
        // Nodes started together: the one that recorded first chose the replicas.
        replicas = recorded.replicas ?? replicas;
      }
      replica = await clusterReplica(transport.connection, config.nodeName, {
        // A process whose owner membership knows to be down is taken over at once (the log's
        // fence keeps one writer); the lease's ttl matters only for owners up but not renewing.
        lease: { ttlMs: config.nats.leaseTtlMs, replicas, holderDown: (holder) => node.knownDown(holder) },
        log: { replicas, prefix: `${config.nats.cluster}.su`, stream: `${config.nats.cluster.toUpperCase()}_SU_LOG` },
        ids: { cluster: config.nats.cluster, replicas },
      });
      node.setDraining(false);
      void logNatsStatus(transport.connection, log);
    }
  } catch (e) {
    await node.stop();
    // JetStream still not answering after the retries (no leader, servers without -js).
    if (isTransient(e)) throw new StartError(`JetStream did not answer (${(e as Error).message}): check that the NATS servers run with -js and, clustered, that a majority of them are up`);
    throw e;
  }
  const metrics = new NodeMetrics({ node, clustered: replica !== undefined });
  // One LMDB environment per node; each unit keeps its sub-databases in it.
  const store = Store.open(join(config.dataDir, 'lmdb'));
  let composed: ComposedNode;
  try {
    composed = await composeNode(config, {
      node,
      store,
      wallets,
      log,
      metrics,
      startedAt,
      ...(replica && transport && config.nats
        ? {
            cluster: {
              replica,
              nc: transport.connection,
              name: config.nats.cluster,
              replicas,
              heartbeatMs: config.nats.heartbeatMs,
              ...(config.chaos ? { crashAt: crashPoint(process.env.AOTP_CRASH_AT) } : {}),
            },
          }
        : {}),
    });
  } catch (e) {
    await store.close();
    await node.stop();
    throw e;
  }
  const { su, cu, mu, sec, health, lifecycle } = composed;
  // The tree's `lmdb` owner closes the store when the tree stops; closing it here too covers a
  // tree that never started (closing twice is closing once).
  const release = async () => {
    await composed.close();
    await store.close();
  };
  const started = await startRoot(node, composed.tree);
  if ('error' in started) {
    await node.stop();
    await release();
    throw new Error(`node failed to start: ${whyNotStarted(started.error)}`);
  }
  return {
    node,
    store,
    health,
    lifecycle,
    clustered: replica !== undefined,
    root: started.pid,
    exited: started.exited,
    url: composed.url(),
    log,
    su,
    cu,
    mu,
    sec,
    stop: async () => {
      await node.stop(config.shutdownMs * 2);
      await release();
    },
  };
}

/** A supervisor's start failure (`{shutdown: {failed_to_start_child: {id, reason}}}`), as one line. */
function whyNotStarted(e: unknown): string {
  const f = (e as { shutdown?: { failed_to_start_child?: { id: string; reason: unknown } } })?.shutdown?.failed_to_start_child;
  if (f) return `${f.id}: ${whyNotStarted(f.reason)}`;
  if (e instanceof Error) return e.message;
  const c = e as { code?: unknown; message?: unknown };
  if (typeof c?.message === 'string') return c.message;
  if (typeof c?.code === 'string') return c.code;
  return formatReason(e);
}
