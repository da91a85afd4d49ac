/**
 * The Scheduler-Location record: a data item signed by the SU's wallet that tells ao's tools
 * where that SU listens (ao-scheduler-utils' `validate` / `locate` read its `Url` and
 * `Time-To-Live` tags from the newest such item owned by the scheduler's address). A node makes
 * one at start, once its URL is known, and serves it through its gateway.
 */
import type { Signer } from '@dha-team/arbundles';
import { createDataItem, type SignedDataItem, type Tag } from '../ans104/index.js';

/** How long tools may cache the location: one day (ao's SUs use 1–2 days). */
export const DEFAULT_LOCATION_TTL_MS = 24 * 60 * 60 * 1000;

export function schedulerLocationTags(url: string, ttlMs: number): Tag[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`scheduler location: '${url}' is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`scheduler location: '${url}' is not an http(s) URL`);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new TypeError(`scheduler location: Time-To-Live must be a positive integer of ms, got ${ttlMs}`);
  return [
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Variant', value: 'ao.TN.1' },
    { name: 'Type', value: 'Scheduler-Location' },
    { name: 'Url', value: url },
    { name: 'Time-To-Live', value: String(ttlMs) },
  ];
}

/** The signed Scheduler-Location item for `url` (e.g. `http://host:port/su`). */
export function schedulerLocation(wallet: { signer: Signer }, url: string, ttlMs = DEFAULT_LOCATION_TTL_MS): Promise<SignedDataItem> {
  return createDataItem({ data: '', tags: schedulerLocationTags(url, ttlMs) }, wallet);
}
