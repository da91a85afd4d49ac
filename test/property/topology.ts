/**
 * Where the property and chaos tests run: a node for the supervisors (and the test's inbox)
 * and a node for the children they start, which may be the same node. Every message, local or
 * not, goes through the codec.
 */
import { LocalBus, NatsTransport, Node, type Clock } from '../../runtime/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

export interface Nodes {
  supNode: Node;
  childNode: Node;
  stop(): Promise<void>;
}

export interface Topology {
  name: string;
  /** `clock` goes to the supervisor node (the one whose time restart intensity reads). */
  start(opts?: { clock?: Clock }): Promise<Nodes>;
}

let serial = 0;

export const oneNode: Topology = {
  name: 'one node',
  async start(opts) {
    const node = await Node.start({ name: `solo${++serial}`, clock: opts?.clock, encodeLocal: true });
    return { supNode: node, childNode: node, stop: () => node.stop(1000) };
  },
};

export const localBusPair: Topology = {
  name: 'two nodes, local bus',
  async start(opts) {
    const bus = new LocalBus();
    const n = ++serial;
    const supNode = await Node.start({ name: `sup${n}`, bus, clock: opts?.clock, encodeLocal: true });
    const childNode = await Node.start({ name: `child${n}`, bus, encodeLocal: true });
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

/**
 * Two nodes joined through a real nats-server, started on first use and stopped by
 * `dispose()` (call it from afterAll). Each start gets its own subject prefix.
 */
export function natsPair(): Topology & { dispose(): Promise<void> } {
  let server: Promise<NatsServerHandle> | undefined;
  return {
    name: 'two nodes, NATS',
    async start(opts) {
      server ??= startNatsServer();
      const { url } = await server;
      const cluster = `prop${process.pid}x${++serial}`;
      const transport = () => new NatsTransport({ servers: url, cluster, heartbeatMs: 500 });
      const supNode = await Node.start({ name: 'sup', transport: transport(), clock: opts?.clock, encodeLocal: true });
      const childNode = await Node.start({ name: 'child', transport: transport(), encodeLocal: true });
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
    async dispose() {
      const s = await server;
      server = undefined;
      await s?.stop();
    },
  };
}

/** Rejects with a readable message when `p` has not settled within `ms` of real time. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** `n` times the env var PROP_SCALE (default 1): property runs, scaled up for longer hunts. */
export function scaled(n: number): number {
  const scale = Number(process.env.PROP_SCALE ?? '1');
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}
