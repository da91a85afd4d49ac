import { mkdirSync } from 'node:fs';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { Config } from '../config/schema.js';
import { NatsTransport, Node, supervisorSpec, type Pid } from '../runtime/index.js';
import { nodeTree } from '../supervisors/node-tree.js';
import { nodeRoutes } from '../units/http/node-routes.js';

export interface RunningNode {
  node: Node;
  root: Pid;
  url: string;
  log: Logger;
  stop(): Promise<void>;
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
  const node = await Node.start({ name: config.nodeName, logger: log, transport });
  let url = '';
  const tree = nodeTree({
    http: { host: config.host, port: config.port, onListening: (u) => (url = u) },
    plugins: [{ prefix: '/', plugin: nodeRoutes(node, () => ({ bus: config.nats ? 'nats' : 'local' })) }],
    shutdownMs: config.shutdownMs,
  });
  const started = await node.spawn(supervisorSpec(tree), { name: 'root' });
  if (!('ok' in started)) {
    await node.stop();
    throw new Error(`node failed to start: ${JSON.stringify(started)}`);
  }
  return {
    node,
    root: started.ok,
    url,
    log,
    stop: () => node.stop(config.shutdownMs * 2),
  };
}
