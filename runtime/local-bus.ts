import type { Transport, TransportHandlers } from './transport.js';

interface Attached {
  creation: number;
  handlers: TransportHandlers;
}

/**
 * The in-process bus: nodes in one OS process, frames handed over as encoded bytes (so what
 * works here works over NATS). `disconnect` makes a node vanish for the others, as a crash would.
 */
export class LocalBus {
  private readonly nodes = new Map<string, Attached>();

  attach(name: string, creation: number, handlers: TransportHandlers): void {
    if (this.nodes.has(name)) throw new Error(`a node named ${name} is already on this bus`);
    for (const [other, n] of this.nodes) {
      n.handlers.nodeUp?.(name, creation);
      handlers.nodeUp?.(other, n.creation);
    }
    this.nodes.set(name, { creation, handlers });
  }

  /** Remove a node; every other node sees it go down. */
  disconnect(name: string): void {
    const gone = this.nodes.get(name);
    if (!gone) return;
    this.nodes.delete(name);
    queueMicrotask(() => {
      for (const n of this.nodes.values()) n.handlers.nodeDown(name, gone.creation);
    });
  }

  deliver(to: string, frame: Uint8Array): boolean {
    const target = this.nodes.get(to);
    if (!target) return false;
    // Microtasks run in FIFO order: frames between two nodes keep their order.
    queueMicrotask(() => {
      if (this.nodes.get(to) === target) target.handlers.frame(frame);
    });
    return true;
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  transport(): Transport {
    return new LocalTransport(this);
  }
}

class LocalTransport implements Transport {
  private name = '';

  constructor(private readonly bus: LocalBus) {}

  async start(self: { name: string; creation: number }, handlers: TransportHandlers): Promise<void> {
    this.name = self.name;
    this.bus.attach(self.name, self.creation, handlers);
  }

  send(node: string, frame: Uint8Array): boolean {
    return this.bus.deliver(node, frame);
  }

  members(): string[] {
    return this.bus.names();
  }

  async whenUp(node: string): Promise<void> {
    // In-process nodes are up from their start; there is nothing to wait for.
    if (!this.bus.names().includes(node)) throw new Error(`node ${node} is not on this bus`);
  }

  async stop(): Promise<void> {
    this.bus.disconnect(this.name);
  }
}
