/**
 * Watches every call a node makes (gen_server:call: an answer, or an error at its timeout at the
 * latest): a call that settles after its timeout, or is still waiting past it, is a violation.
 */
import type { Node } from '../runtime/index.js';

export interface OpenCall {
  /** The calling node's incarnation. */
  node: string;
  alive: () => boolean;
  started: number;
  deadline: number;
  what: string;
}

export class CallWatch {
  readonly open = new Set<OpenCall>();
  readonly late: string[] = [];

  /** Wraps `node.call` (the one entry every actor's and every client's call goes through). */
  watch(node: Node, owner: string, alive: () => boolean, defaultTimeout = 5000): void {
    const call = node.call;
    const watched = ((target, request, options) => {
      const timeout = options?.timeout ?? defaultTimeout;
      const started = node.clock.now();
      const p = call(target, request, options);
      if (!Number.isFinite(timeout)) return p;
      const op = (request as { op?: unknown })?.op;
      const entry: OpenCall = { node: owner, alive, started, deadline: started + timeout, what: `call to ${String(target)}${typeof op === 'string' ? ` (${op})` : ''}` };
      this.open.add(entry);
      const done = () => {
        this.open.delete(entry);
        const now = node.clock.now();
        if (alive() && now > entry.deadline + 1e-6) this.late.push(`${entry.what} from ${entry.node} at ${started.toFixed(0)} settled at ${now.toFixed(0)}, past its ${timeout} ms timeout`);
      };
      p.then(done, done);
      return p;
    }) as Node['call'];
    // An own field of the node, read by every process at each call: replaced here, not in the runtime.
    Object.defineProperty(node, 'call', { value: watched });
  }

  /** Calls still waiting past their deadline (of incarnations still alive). */
  overdue(now: number): string[] {
    return [...this.open].filter((c) => c.deadline < now && c.alive()).map((c) => `${c.what} from ${c.node} at ${c.started.toFixed(0)} still waits, past its deadline ${c.deadline.toFixed(0)}`);
  }
}
