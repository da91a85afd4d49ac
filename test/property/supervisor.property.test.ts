/**
 * The supervisor property on one node and on two nodes of an in-process bus, after a check
 * of the model itself against hand-worked OTP traces.
 */
import { describe, expect, it } from 'vitest';
import { examples } from './supervisor.examples.js';
import { predict } from './supervisor.model.js';
import { supervisorProperty } from './supervisor.suite.js';
import { localBusPair, oneNode } from './topology.js';

describe('the supervisor model on hand-worked traces', () => {
  for (const [i, { scenario, trace }] of examples.entries()) {
    it(`example ${i + 1} (${scenario.strategy})`, () => {
      expect(predict(scenario, scenario.offsetMs)).toEqual(trace);
    });
  }
});

const scenarios = examples.map((e) => e.scenario);
supervisorProperty(oneNode, { numRuns: 300, examples: scenarios });
supervisorProperty(localBusPair, { numRuns: 200, examples: scenarios });
