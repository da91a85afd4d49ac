/**
 * The origin's state in the node's LMDB environment:
 *
 *   sec.machines  processId → the hosting machine's persisted snapshot (JSON text)
 *   sec.hosting   processId → { state, host, reason }: the view the SUs read synchronously
 *                 (SuRuntime.hosting) to refuse messages for a process they no longer host
 *   sec.items     challenge id → bytes the origin needs after a restart (a liveness challenge's message)
 *
 * A machine's snapshot and its view are written in one transaction.
 */
import type { Store, Table } from '../../runtime/store.js';
import type { Host } from './hosting-machine.js';

export type Lifecycle = 'hosted' | 'challenged' | 'unhosted';

export interface HostingRecord {
  state: Lifecycle;
  host: Host;
  reason?: string;
}

export class SecStore {
  private readonly machines: Table<string, string>;
  private readonly hosting: Table<HostingRecord, string>;
  private readonly items: Table<Uint8Array, string>;

  constructor(private readonly store: Store) {
    this.machines = store.db('sec.machines');
    this.hosting = store.db('sec.hosting');
    this.items = store.db('sec.items', { encoding: 'binary' });
  }

  save(processId: string, snapshot: unknown, record: HostingRecord): Promise<void> {
    const text = JSON.stringify(snapshot);
    return this.store.transact(() => {
      this.machines.put(processId, text);
      this.hosting.put(processId, record);
    });
  }

  snapshot(processId: string): unknown {
    const t = this.machines.get(processId);
    return t === undefined ? undefined : JSON.parse(t);
  }

  /** Every process the origin has a machine for. */
  processes(): string[] {
    return [...this.machines.getKeys()] as string[];
  }

  record(processId: string): HostingRecord | undefined {
    return this.hosting.get(processId);
  }

  putItem(id: string, raw: Uint8Array): Promise<void> {
    return this.store.transact(() => {
      this.items.put(id, Buffer.from(raw));
    });
  }

  item(id: string): Uint8Array | undefined {
    return this.items.get(id);
  }

  /**
   * Why the SU `suAddress` may not schedule new messages for `processId` (undefined: it may).
   * A process the origin never heard of is hosted by whoever holds it.
   */
  refusal(processId: string, suAddress: string): string | undefined {
    const r = this.hosting.get(processId);
    if (!r) return undefined;
    if (r.state === 'unhosted') {
      return `Process ${processId} is unhosted (${r.reason ?? 'challenge failed'}): no SU schedules its messages until an SU's offer is accepted (POST /sec/offer)`;
    }
    if (r.host.address !== suAddress) return `Process ${processId} is hosted by the SU ${r.host.address}${r.host.url ? ` at ${r.host.url}` : ''}, not by this SU`;
    return undefined;
  }
}
