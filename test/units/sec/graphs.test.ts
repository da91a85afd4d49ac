/** docs/sec-machines.md shows the machines as they are defined. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MACHINES, stateGraph } from '../../../units/sec/machine-graph.js';

const doc = readFileSync(new URL('../../../docs/sec-machines.md', import.meta.url), 'utf8');

describe('machine graphs', () => {
  for (const [key, machine] of Object.entries(MACHINES)) {
    it(`the ${key} machine's graph in the docs matches its definition`, () => {
      const graph = stateGraph(machine);
      expect(graph).toContain('stateDiagram-v2');
      expect(doc).toContain(`### ${key}\n\n\`\`\`mermaid\n${graph}\n\`\`\``);
    });
  }
});
