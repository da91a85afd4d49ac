/**
 * How the origin reaches Scheduler Units: by address, each through a port that can read its
 * log, ask it to schedule, and hand a log over to it. `localScheduler` is an SU on a node in
 * this process (its log, read-only, and its SuClient). The origin only reaches SUs registered here; an
 * SU over HTTP would be another implementation of the same port.
 */
import type { ScheduleReply, SlotRecord, Su, SuClient } from '../su/index.js';

export interface SchedulerPort {
  address: string;
  url?: string;
  /** The spawn item of `processId`, if this SU holds its log. */
  spawn(processId: string): Uint8Array | undefined;
  /** The last slot in its log of `processId`. */
  head(processId: string): number | undefined;
  slot(processId: string, slot: number): SlotRecord | undefined;
  /** Slots `from`..`to`, ascending. */
  slots(processId: string, from: number, to: number): SlotRecord[];
  schedule(processId: string, messageId: string, raw: Uint8Array): Promise<ScheduleReply>;
  /**
   * Takes over a log: writes the given slots (0..n, signed by the previous SU) verbatim, so that
   * this SU's sequencer continues at n+1 with the hash chain from slot n.
   */
  adopt(processId: string, slots: SlotRecord[]): Promise<void>;
}

export class Schedulers {
  private readonly ports = new Map<string, SchedulerPort>();

  constructor(ports: SchedulerPort[] = []) {
    for (const p of ports) this.add(p);
  }

  add(port: SchedulerPort): void {
    this.ports.set(port.address, port);
  }

  get(address: string): SchedulerPort | undefined {
    return this.ports.get(address);
  }

  /** The SU that holds `processId`'s spawn. */
  holding(processId: string): { port: SchedulerPort; spawn: Uint8Array } | undefined {
    for (const port of this.ports.values()) {
      const spawn = port.spawn(processId);
      if (spawn) return { port, spawn };
    }
    return undefined;
  }
}

const PAGE = 1000;

/** `url`: where the SU is served, or a function answering it once the listener is up. */
export function localScheduler(su: Su, client: SuClient, url?: string | (() => string | undefined)): SchedulerPort {
  return {
    address: su.address,
    get url() {
      return typeof url === 'function' ? url() : url;
    },
    spawn: (processId) => su.log.slot(processId, 0)?.item,
    head: (processId) => su.log.process(processId)?.head.slot,
    slot: (processId, slot) => su.log.slot(processId, slot),
    slots(processId, from, to) {
      const out: SlotRecord[] = [];
      for (let at = from; at <= to; ) {
        const page = su.log.slotRange(processId, at, to, PAGE);
        if (page.length === 0) break;
        out.push(...page);
        at = page[page.length - 1]!.slot + 1;
      }
      return out;
    },
    schedule: (processId, messageId, raw) => client.schedule(processId, { op: 'message', id: messageId, raw }),
    // Through the process's sequencer (in a cluster, its owner's), which writes the log as any
    // run: replicated first, then committed; it refuses to rewrite a log that holds anything.
    async adopt(processId, slots) {
      const r = await client.schedule(processId, { op: 'adopt', slots });
      if ('error' in r) throw new Error(r.error);
    },
  };
}
