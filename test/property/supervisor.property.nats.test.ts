/**
 * The supervisor property with the children on another node, across a real nats-server: the
 * supervisor starts them remotely by behaviour name, and every signal between them (starts,
 * exits, the shutdown protocol's monitors) crosses NATS.
 */
import { afterAll } from 'vitest';
import { examples } from './supervisor.examples.js';
import { supervisorProperty } from './supervisor.suite.js';
import { natsPair } from './topology.js';

const nats = natsPair();
afterAll(() => nats.dispose());

supervisorProperty(nats, { numRuns: 100, examples: examples.map((e) => e.scenario) });
