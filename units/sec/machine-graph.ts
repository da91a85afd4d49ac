/**
 * Renders an xstate machine's definition (what `machine.definition` exports: states, their
 * transitions, guards, invocations) as a mermaid state diagram, so the docs show the machines
 * as they are in code. `node --import tsx units/sec/machine-graph.ts` prints the three.
 */
import { pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { hostingMachine } from './hosting-machine.js';
import { livenessMachine } from './liveness-machine.js';
import { publicationMachine } from './publication-machine.js';

interface Transition {
  eventType: string;
  target?: readonly unknown[];
  guard?: unknown;
}

interface Node {
  id: string;
  key: string;
  type: string;
  initial?: { target: readonly unknown[] };
  states: Record<string, Node>;
  transitions: Transition[];
  invoke: { id: string; src: unknown }[];
}

/** Targets are state nodes (their JSON form is `#id`); a mermaid id is the path with `_`. */
const name = (target: unknown) => {
  const id = typeof target === 'string' ? target : (target as { id: string }).id;
  return id.replace(/^#/, '').replace(/\./g, '_');
};

function eventLabel(t: Transition): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(t.eventType);
  const event = done ? `done(${done[1]})` : t.eventType;
  const g = t.guard;
  const guard = typeof g === 'string' ? g : g && typeof g === 'object' && 'type' in g ? String((g as { type: unknown }).type) : undefined;
  return guard ? `${event} [${guard}]` : event;
}

function render(node: Node, depth: number, out: string[], root = false): void {
  const pad = '  '.repeat(depth);
  const self = name(node.id);
  const children = Object.values(node.states);
  if (children.length > 0) {
    // The root's states are the diagram's; a nested compound state is a `state x { }` block.
    const inner = root ? pad : pad + '  ';
    if (!root) out.push(`${pad}state ${self} {`);
    if (node.initial?.target[0]) out.push(`${inner}[*] --> ${name(node.initial.target[0])}`);
    for (const c of children) out.push(`${inner}state "${c.key}" as ${name(c.id)}`);
    for (const c of children) render(c, root ? depth : depth + 1, out);
    if (!root) out.push(`${pad}}`);
  }
  if (node.type === 'final') out.push(`${pad}${self} --> [*]`);
  for (const inv of node.invoke) out.push(`${pad}note right of ${self} : invokes ${typeof inv.src === 'string' ? inv.src : inv.id} as ${inv.id}`);
  for (const t of node.transitions) {
    // A transition without a target forwards or records (shown as a self-loop).
    const targets = t.target && t.target.length > 0 ? t.target : [node.id];
    for (const target of targets) out.push(`${pad}${self} --> ${name(target)} : ${eventLabel(t)}`);
  }
}

/** The machine as a mermaid `stateDiagram-v2`. */
export function stateGraph(machine: AnyStateMachine): string {
  const out = ['stateDiagram-v2'];
  render(machine.root.definition as unknown as Node, 0, out, true);
  return out.join('\n');
}

export const MACHINES = { hosting: hostingMachine, liveness: livenessMachine, publication: publicationMachine } as const;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [key, m] of Object.entries(MACHINES)) process.stdout.write(`### ${key}\n\n\`\`\`mermaid\n${stateGraph(m)}\n\`\`\`\n\n`);
}
