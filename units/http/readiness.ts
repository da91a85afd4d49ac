/** What /health/ready asks of a node (see health.ts). */
import type { NatsConnection } from 'nats';
import type { Node } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { HealthCheck } from './health.js';

export interface ReadinessArgs {
  node: Node;
  store: Store;
  /** On NATS: the connection; with `stream`, the SU log's JetStream stream. */
  nc?: NatsConnection;
  stream?: string;
  lifecycle: { stopping: boolean };
}

export function readinessChecks(o: ReadinessArgs): HealthCheck[] {
  const checks: HealthCheck[] = [
    {
      name: 'lifecycle',
      check: () => (o.lifecycle.stopping ? 'stopping: handing work over before exit' : o.node.draining ? 'draining: no new work is placed here' : undefined),
      cacheMs: 0,
    },
    {
      // A committed write: LMDB open, the disk writable and syncing.
      name: 'store',
      check: async () => {
        if (o.store.closed) return 'the LMDB environment is closed';
        await o.store.transact(() => o.store.db('health').put('probe', Date.now()));
        return undefined;
      },
      cacheMs: 2000,
    },
  ];
  const nc = o.nc;
  if (nc) {
    checks.push({ name: 'nats', check: () => (o.node.busConnected ? undefined : 'disconnected from every NATS server (reconnecting)'), cacheMs: 0 });
    const stream = o.stream;
    if (stream) {
      checks.push({
        // The SU log's stream answers (it needs a JetStream leader): without it no slot can be assigned.
        name: 'jetstream',
        check: async () => {
          if (!o.node.busConnected) return 'no NATS connection';
          const jsm = await nc.jetstreamManager({ timeout: 1500 });
          await jsm.streams.info(stream);
          return undefined;
        },
      });
    }
  }
  return checks;
}
