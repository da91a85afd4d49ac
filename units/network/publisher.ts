/**
 * The actor `network/publisher`: keeps this node findable by other nodes. It publishes the SU's
 * Scheduler-Location record (signed by the SU wallet, with its URL and Time-To-Live) once the
 * node's URL is known, again when the URL changes and at half the TTL; and it publishes each
 * spawn the SU hosts, so that other nodes find a process's `Scheduler` through the gateway.
 *
 * Spawns are published oldest first and marked in LMDB once the bundler has them, so a restart
 * goes on where it stopped; a pass walks back from the newest spawn until a run of marked ones.
 * What fails is tried again with backoff (a bundler down for a while holds nothing up but this).
 */
import type { Behaviour } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { SignedDataItem, Wallet } from '../ans104/index.js';
import { schedulerLocation } from '../gateway/index.js';

export const PUBLISHER = 'network/publisher';

/** Longest wait after failures, ms. */
const MAX_BACKOFF_MS = 30_000;
/** Spawns published per pass at most (the rest on the next, at once). */
const PER_PASS = 100;
/**
 * A pass ends after this many published spawns in a row: logs commit on their own, so a spawn
 * can be indexed just after a newer one was published.
 */
const LOOK_BACK = 256;

export interface PublisherArgs {
  /** The SU's URL (`<node>/su`) once the listener is bound. */
  url(): string | undefined;
  wallet: Wallet;
  ttlMs: number;
  everyMs: number;
  /** Hands an item to the bundler; rejects when it was not taken. */
  upload(raw: Uint8Array): Promise<void>;
  /** Process ids the SU hosts, newest first, and a spawn's bytes. */
  spawns(): Iterable<string>;
  spawn(id: string): Uint8Array | undefined;
  store: Store;
  /** Told of each record signed (the node's own gateway serves it too). */
  signed?(item: SignedDataItem): void;
  now?(): number;
}

interface State {
  args: PublisherArgs;
  published: { url: string; at: number } | undefined;
  failures: number;
}

const TICK = { tag: 'publish' } as const;

/** Spawns already published (process id → unix ms). */
const publishedSpawns = (store: Store) => store.db<number, string>('network-published-spawns');

async function publishLocation(s: State): Promise<void> {
  const url = s.args.url();
  if (!url) return;
  const now = (s.args.now ?? Date.now)();
  if (s.published && s.published.url === url && now - s.published.at < s.args.ttlMs / 2) return;
  const item = await schedulerLocation(s.args.wallet, url, s.args.ttlMs);
  s.args.signed?.(item);
  await s.args.upload(item.raw);
  s.published = { url, at: now };
}

/** Publishes unpublished spawns; answers whether some are left for the next pass. */
async function publishSpawns(s: State): Promise<boolean> {
  const table = publishedSpawns(s.args.store);
  const todo: string[] = [];
  let seen = 0;
  for (const id of s.args.spawns()) {
    if (table.get(id) === undefined) {
      todo.push(id);
      seen = 0;
    } else if (++seen >= LOOK_BACK) break;
  }
  const batch = todo.reverse().slice(0, PER_PASS);
  for (const id of batch) {
    const raw = s.args.spawn(id);
    if (raw) await s.args.upload(raw);
    await table.put(id, (s.args.now ?? Date.now)());
  }
  return todo.length > batch.length;
}

export const publisher: Behaviour<PublisherArgs, State> = {
  init(args, ctx) {
    ctx.send(ctx.self, TICK);
    return { ok: { args, published: undefined, failures: 0 } };
  },

  async handleInfo(msg: typeof TICK, s, ctx) {
    if (msg?.tag !== TICK.tag) return { state: s };
    let more = false;
    try {
      await publishLocation(s);
      more = await publishSpawns(s);
      s.failures = 0;
    } catch (e) {
      s.failures++;
      const delay = Math.min(MAX_BACKOFF_MS, s.args.everyMs * 2 ** s.failures);
      ctx.log.warn({ err: (e as Error).message, delay }, 'publishing to the bundler failed; trying again');
      ctx.sendAfter(delay, TICK);
      return { state: s };
    }
    if (more) ctx.send(ctx.self, TICK);
    else ctx.sendAfter(s.args.everyMs, TICK);
    return { state: s };
  },
};

/** Uploads to a bundler's `POST <bundler>/tx`. */
export function bundlerUpload(bundler: string, timeoutMs: number): (raw: Uint8Array) => Promise<void> {
  return async (raw) => {
    const r = await fetch(`${bundler}/tx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw), signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text().catch(() => '');
    if (!r.ok) throw new Error(`bundler ${bundler} answered ${r.status}: ${text.slice(0, 200)}`);
  };
}
