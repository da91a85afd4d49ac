/**
 * The CU's log reader on a network: a process this node's SU hosts is read from it as before;
 * any other process the gateway knows is read from the SU its `Scheduler` tag names, page by
 * page over that SU's HTTP API (as the reference CU reads every log). Which SU that is is
 * remembered once found (a process's Scheduler never changes; its SU's URL is looked up again
 * when its record's TTL runs out or it stops answering).
 *
 * Finding a message by id (what lets the CU answer "never assigned" at once) is offered for the
 * logs this node holds only: for a remote log the CU reads on until the message shows up.
 */
import { tagValue } from '../ans104/index.js';
import type { ProcessInfo, ScheduledMessage, ScheduleReader } from '../schedule.js';
import { GatewayUnavailable } from './gateway-client.js';
import { RemoteUnavailable, type RemoteSu } from './remote-su.js';
import type { SchedulerLocator } from './scheduler-locator.js';

/** What the CU asks of its reader besides ScheduleReader (units/cu/api.ts): optional there too. */
interface Finder {
  find(id: string, processId?: string): unknown;
  whenAppended?(processId: string, messageId: string, abort: AbortSignal): Promise<void>;
  hosts?(processId: string): boolean;
}

export type NetworkReader = ScheduleReader & Partial<Finder> & { findsIn(processId: string): boolean };

/** Slots a remote page holds at most (the reference SU's default page). */
const REMOTE_PAGE = 100;

export function networkReader(local: ScheduleReader & Partial<Finder>, locator: SchedulerLocator, remote: RemoteSu, localAddress: string): NetworkReader {
  /** Processes found to be scheduled elsewhere → their SU's address. */
  const elsewhere = new Map<string, string>();

  const suUrl = async (address: string): Promise<string> => {
    const location = await locator.locate(address);
    if (!location) throw new RemoteUnavailable(`SU ${address} has no Scheduler-Location record on ${locator.gateway.url}`);
    return location.url;
  };

  /** Runs `ask` against the SU's URL; one that stopped answering is looked up again next time. */
  const there = async <T>(address: string, ask: (url: string) => Promise<T>): Promise<T> => {
    try {
      return await ask(await suUrl(address));
    } catch (e) {
      if (e instanceof RemoteUnavailable || e instanceof GatewayUnavailable) locator.forget(address);
      throw e;
    }
  };

  const reader: NetworkReader = {
    async process(processId): Promise<ProcessInfo | undefined> {
      const mine = await local.process(processId);
      if (mine) return mine;
      const found = await locator.process(processId);
      const scheduler = found && tagValue(found.tags, 'Scheduler');
      if (!scheduler || scheduler === localAddress) return undefined;
      const info = await there(scheduler, (url) => remote.process(url, processId));
      elsewhere.set(processId, scheduler);
      return info;
    },
    async read(processId, from, to, limit = Number.MAX_SAFE_INTEGER, maxBytes?: number): Promise<ScheduledMessage[]> {
      const scheduler = elsewhere.get(processId);
      if (scheduler === undefined) return local.read(processId, from, to, limit, maxBytes);
      return there(scheduler, (url) => remote.read(url, processId, from, to, Math.min(limit, REMOTE_PAGE)));
    },
    findsIn: (processId) => !elsewhere.has(processId) && (local.hosts?.(processId) ?? true),
  };
  if (local.find) {
    const find = local.find.bind(local);
    reader.find = (id, processId) => find(id, processId);
  }
  if (local.whenAppended) {
    const whenAppended = local.whenAppended.bind(local);
    reader.whenAppended = (processId, messageId, abort) => whenAppended(processId, messageId, abort);
  }
  return reader;
}
