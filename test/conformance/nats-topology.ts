/**
 * Placeholder until the NATS topology lands (nodes joined through a real nats-server). It has
 * the shape of the others so the NATS test file compiles; starting it fails loudly.
 */
import type { Topology } from './topology.js';

export const natsTopology: Topology = {
  name: 'NATS',
  async start() {
    throw new Error('not yet: the NATS topology is not implemented');
  },
};
