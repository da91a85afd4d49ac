/**
 * Supervisors on one node and their children on another, joined through a real nats-server
 * (started once per test file on a free loopback port, stopped after the file's last test).
 * Each case gets its own subject prefix, so cases never hear each other.
 */
import { afterAll } from 'vitest';
import { NatsTransport, Node } from '../../runtime/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import type { Topology } from './topology.js';

let server: Promise<NatsServerHandle> | undefined;
let serial = 0;

// Registered when a test file imports this module: the file's own teardown stops its server
// (a test worker may be ended without its process 'exit' handlers running).
afterAll(async () => {
  const s = await server;
  server = undefined;
  await s?.stop();
});

export const natsTopology: Topology = {
  name: 'NATS, two nodes',
  async start(opts) {
    server ??= startNatsServer();
    const { url } = await server;
    const cluster = `conf${process.pid}x${++serial}`;
    const transport = () => new NatsTransport({ servers: url, cluster, heartbeatMs: 200 });
    const supNode = await Node.start({ name: 'sup', transport: transport(), clock: opts?.clock, encodeLocal: true });
    const childNode = await Node.start({ name: 'child', transport: transport(), clock: opts?.clock, encodeLocal: true });
    await supNode.connect('child');
    await childNode.connect('sup');
    return {
      supNode,
      childNode,
      async stop() {
        await supNode.stop(1000);
        await childNode.stop(1000);
      },
    };
  },
};
