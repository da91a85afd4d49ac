/**
 * Where the conformance suite runs: a node for supervisors (and the test's inbox) and a node
 * for the children they start. The same suite runs on every topology.
 */
import { LocalBus, Node, type Clock } from '../../runtime/index.js';

export interface Nodes {
  supNode: Node;
  childNode: Node;
  stop(): Promise<void>;
}

export interface Topology {
  name: string;
  start(opts?: { clock?: Clock }): Promise<Nodes>;
}

let serial = 0;

/** Two nodes on one in-process bus; every message, local or not, goes through the codec. */
export const localTopology: Topology = {
  name: 'local bus, two nodes',
  async start(opts) {
    const bus = new LocalBus();
    const n = ++serial;
    const supNode = await Node.start({ name: `sup${n}`, bus, clock: opts?.clock, encodeLocal: true });
    const childNode = await Node.start({ name: `child${n}`, bus, clock: opts?.clock, encodeLocal: true });
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

/** One node: supervisors and children side by side (childNode === supNode). */
export const singleNodeTopology: Topology = {
  name: 'local, one node',
  async start(opts) {
    const node = await Node.start({ name: `solo${++serial}`, clock: opts?.clock, encodeLocal: true });
    return { supNode: node, childNode: node, stop: () => node.stop(1000) };
  },
};
