/**
 * Where a process is scheduled, found as ao-scheduler-utils finds it: the process's `Scheduler`
 * tag names an SU wallet; that wallet's newest Scheduler-Location record (signed by it, so only
 * the SU itself can say where it is) gives its `Url` and how long the answer may be kept
 * (`Time-To-Live`, ms). Answers are cached: a process's tags for good (a spawn never changes),
 * a location until its TTL runs out.
 */
import { tagValue, type Tag } from '../ans104/index.js';
import type { GatewayClient } from './gateway-client.js';

/** Processes whose tags are kept, and SU locations (oldest dropped first). */
const CACHED = 10_000;

export interface Location {
  /** The SU's URL, as its record gives it (e.g. http://host:port/su). */
  url: string;
  /** Unix ms after which it is looked up again. */
  expires: number;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > CACHED) map.delete(map.keys().next().value!);
}

export class SchedulerLocator {
  private readonly processes = new Map<string, { owner: string; tags: Tag[] }>();
  private readonly locations = new Map<string, Location>();

  constructor(
    readonly gateway: GatewayClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** The spawn's owner and tags of a process the gateway knows; undefined for anything else (a wallet, say). */
  async process(processId: string): Promise<{ owner: string; tags: Tag[] } | undefined> {
    const hit = this.processes.get(processId);
    if (hit) return hit;
    const head = await this.gateway.item(processId);
    if (!head || tagValue(head.tags, 'Type') !== 'Process' || !tagValue(head.tags, 'Scheduler')) return undefined;
    const found = { owner: head.owner, tags: head.tags };
    remember(this.processes, processId, found);
    return found;
  }

  /** The URL of the SU with wallet `address`; undefined when it has published no record. */
  async locate(address: string): Promise<Location | undefined> {
    const hit = this.locations.get(address);
    if (hit && hit.expires > this.now()) return hit;
    const record = await this.gateway.schedulerLocation(address);
    const url = record && tagValue(record.tags, 'Url');
    const ttl = Number(record && tagValue(record.tags, 'Time-To-Live'));
    if (!url || !/^https?:\/\//.test(url)) return undefined;
    const location = { url: url.replace(/\/+$/, ''), expires: this.now() + (Number.isSafeInteger(ttl) && ttl > 0 ? ttl : 0) };
    remember(this.locations, address, location);
    return location;
  }

  /** Drops a cached location (its SU stopped answering there: it may have moved). */
  forget(address: string): void {
    this.locations.delete(address);
  }
}
