import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { Config } from '../config/schema.js';
import { NatsTransport, Node, supervisorSpec, type Pid } from '../runtime/index.js';
import { Store } from '../runtime/store.js';
import { cuTree } from '../supervisors/cu.js';
import { nodeTree } from '../supervisors/node-tree.js';
import { secTree } from '../supervisors/sec.js';
import { SEQUENCERS, suTree } from '../supervisors/su.js';
import { loadOrCreateWallet, loadWallet } from '../units/ans104/index.js';
import { nodeRoutes } from '../units/http/node-routes.js';
import { createCu, type Cu } from '../units/cu/index.js';
import { createSec, localScheduler, type Sec } from '../units/sec/index.js';
import { createSu, suClient, type Su } from '../units/su/index.js';

export interface RunningNode {
  node: Node;
  root: Pid;
  url: string;
  log: Logger;
  su: Su;
  cu: Cu;
  sec: Sec;
  stop(): Promise<void>;
}

/** The SU's wallet: the configured file, or `<dataDir>/su-wallet.json` (created on first start). */
async function suWallet(config: Config, log: Logger) {
  if (config.su.wallet) return loadWallet(config.su.wallet);
  const { wallet, created, path } = await loadOrCreateWallet(config.dataDir, { kind: config.su.walletKind, fileName: 'su-wallet.json' });
  if (created) log.info({ path, address: wallet.address, kind: wallet.kind }, `created a new ${wallet.kind} SU wallet at ${path}`);
  return wallet;
}

/** The CU's wallet: the configured file, or `<dataDir>/cu-wallet.json` (created on first start). */
async function cuWallet(config: Config, log: Logger) {
  if (config.cu.wallet) return loadWallet(config.cu.wallet);
  const { wallet, created, path } = await loadOrCreateWallet(config.dataDir, { kind: config.cu.walletKind, fileName: 'cu-wallet.json' });
  if (created) log.info({ path, address: wallet.address, kind: wallet.kind }, `created a new ${wallet.kind} CU wallet at ${path}`);
  return wallet;
}

/** Starts a node and its supervision tree from a validated config. */
export async function startNode(config: Config, logger?: Logger): Promise<RunningNode> {
  const log = logger ?? createLogger({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });
  const transport = config.nats
    ? new NatsTransport({
        servers: config.nats.servers,
        cluster: config.nats.cluster,
        heartbeatMs: config.nats.heartbeatMs,
        downAfterMs: config.nats.downAfterMs,
        auth: { user: config.nats.user, pass: config.nats.pass, token: config.nats.token },
      })
    : undefined;
  const wallet = await suWallet(config, log);
  // One LMDB environment per node; each unit keeps its sub-databases in it.
  const store = Store.open(join(config.dataDir, 'lmdb'));
  // The AO-Sec origin's view of who hosts what; the SU refuses processes it no longer hosts.
  const sec = createSec({ store, config: config.sec });
  const su = createSu({
    wallet,
    store,
    signers: config.su.signers ?? (wallet.kind === 'rsa' ? availableParallelism() : 0),
    idleMs: config.su.idleMs,
    maxRun: config.su.maxRun,
    hosting: sec.hosting(wallet.address),
  });
  let cu: Cu;
  try {
    // Registers the bundled aos modules (signed by the CU wallet) so that processes can be
    // spawned with no network.
    cu = await createCu({ store, wallet: await cuWallet(config, log), reader: su.reader, config: config.cu });
  } catch (e) {
    await su.close();
    await store.close();
    throw e;
  }
  const release = async () => {
    await cu.close();
    await su.close();
    await store.close();
  };
  let node: Node;
  try {
    node = await Node.start({ name: config.nodeName, logger: log, transport });
  } catch (e) {
    await release();
    throw e;
  }
  let url = '';
  const client = suClient(node, node, SEQUENCERS, config.su.callTimeoutMs);
  sec.schedulers.add(localScheduler(su, client, () => (url ? `${url}/su` : undefined)));
  const tree = nodeTree({
    http: { host: config.host, port: config.port, onListening: (u) => (url = u) },
    plugins: [
      { prefix: '/', plugin: nodeRoutes(node, () => ({ bus: config.nats ? 'nats' : 'local', su: su.address, cu: cu.address })) },
      { prefix: '/su', plugin: su.routes(client) },
      { prefix: '/cu', plugin: cu.routes(cu.api(node)) },
      { prefix: '/sec', plugin: sec.routes(node) },
    ],
    shutdownMs: config.shutdownMs,
    units: [
      suTree(su.runtime, {
        intensity: config.su.restartIntensity,
        period: config.su.restartPeriod,
        shutdownMs: config.shutdownMs,
      }),
      cuTree(cu.runtime, {
        names: node,
        intensity: config.cu.restartIntensity,
        period: config.cu.restartPeriod,
        shutdownMs: config.shutdownMs,
      }),
      secTree(
        sec.originArgs((processId, message) => cu.api(node).dryRun(processId, message)),
        { intensity: config.sec.restartIntensity, period: config.sec.restartPeriod, shutdownMs: config.shutdownMs },
      ),
    ],
  });
  const started = await node.spawn(supervisorSpec(tree), { name: 'root' });
  if (!('ok' in started)) {
    await node.stop();
    await release();
    throw new Error(`node failed to start: ${JSON.stringify(started)}`);
  }
  return {
    node,
    root: started.ok,
    url,
    log,
    su,
    cu,
    sec,
    stop: async () => {
      await node.stop(config.shutdownMs * 2);
      await release();
    },
  };
}
