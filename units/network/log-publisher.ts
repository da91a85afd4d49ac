/**
 * The actor `network/log-publisher`: publishes what the SU assigns (paper 5.3, condition 2: the
 * signed assignment and the message are persisted on Arweave). Each pass takes the unpublished
 * slots of the logs that grew, oldest first, puts their assignments and messages in one ANS-104
 * binary bundle, signs it with the SU wallet and hands it to the bundler; once the bundler has
 * taken it, each log's mark (published-log.ts) moves past those slots. A slot too large for a
 * bundle goes up as its items, one by one. A restart goes on from
 * the marks, so a slot may go up twice (a crash between upload and mark) but none is left out.
 *
 * Passes are started by the SU's commits rather than by a timer; while the bundler refuses or is
 * out of reach, passes wait out a growing backoff and commits only add to the backlog.
 */
import type { Behaviour } from '../../runtime/index.js';
import { BUNDLE_TAGS, bundleItems, createDataItem, type Wallet } from '../ans104/index.js';
import type { SuLogReader } from '../su/log-reader.js';
import type { PublishedLog } from './published-log.js';

export const LOG_PUBLISHER = 'network/log-publisher';

/** Longest wait after failures, ms. */
const MAX_BACKOFF_MS = 30_000;
/**
 * Item bytes one bundle holds at most: under the 10 MiB an item may have (ITEM_LIMITS), which
 * aotp's own gateway and the SU hold uploads to, with room for the headers.
 */
export const BUNDLE_BYTES = 8 * 1024 * 1024;

export interface LogPublisherArgs {
  wallet: Wallet;
  log: Pick<SuLogReader, 'heads' | 'process' | 'slotsFrom' | 'onAppended'>;
  published: PublishedLog;
  /** Hands an item to the bundler; rejects when it was not taken. */
  upload(raw: Uint8Array): Promise<void>;
  /** Backoff base after a failure, ms. */
  everyMs: number;
  /** Item bytes per bundle (default BUNDLE_BYTES). */
  bundleBytes?: number;
}

interface State {
  args: LogPublisherArgs;
  /** Processes whose logs may have unpublished slots. */
  dirty: Set<string>;
  /** A pass is queued (coalesces the wake-ups of many commits). */
  queued: boolean;
  /** Waiting out a backoff: commits do not start a pass. */
  backingOff: boolean;
  failures: number;
  stop: () => void;
}

const PASS = { tag: 'publish-log' } as const;
/** The pass at the end of a backoff: the only one that runs while backing off (one retry chain). */
const RETRY = { tag: 'publish-log', retry: true } as const;

/** One bundle's worth: its items, and each log's last slot in it. */
interface Batch {
  raws: Uint8Array[];
  through: Map<string, number>;
  /** One slot too large for a bundle: its items go up one by one, as single items. */
  alone?: boolean;
}

/** The next bundle's items, from the dirty logs; logs published to their end leave `dirty`. */
function nextBatch(s: State): Batch {
  const budget = s.args.bundleBytes ?? BUNDLE_BYTES;
  const batch: Batch = { raws: [], through: new Map() };
  let bytes = 0;
  for (const processId of s.dirty) {
    const last = (s.args.log.process(processId)?.nextSlot ?? 0) - 1;
    const from = s.args.published.through(processId) + 1;
    let reached = from - 1;
    for (const slot of s.args.log.slotsFrom(processId, from, last)) {
      const raws = slot.item ? [slot.assignment, slot.item] : [slot.assignment];
      const size = raws.reduce((n, r) => n + r.byteLength + 64, 0);
      if (bytes > 0 && bytes + size > budget) break;
      // A slot larger than a bundle may be (a message near the 10 MiB an item may have): its
      // items go up as they are, each within an item's limit.
      if (size > budget) batch.alone = true;
      batch.raws.push(...raws);
      bytes += size;
      reached = slot.slot;
      if (bytes >= budget) break;
    }
    if (reached >= from) batch.through.set(processId, reached);
    if (reached >= last) s.dirty.delete(processId);
    if (bytes >= budget) break;
  }
  return batch;
}

async function pass(s: State): Promise<void> {
  const batch = nextBatch(s);
  if (batch.raws.length === 0) return;
  try {
    if (batch.alone) for (const raw of batch.raws) await s.args.upload(raw);
    else await s.args.upload((await createDataItem({ data: bundleItems(batch.raws), tags: [...BUNDLE_TAGS] }, s.args.wallet)).raw);
    await s.args.published.mark(batch.through);
  } catch (e) {
    for (const processId of batch.through.keys()) s.dirty.add(processId);
    throw e;
  }
}

export const logPublisher: Behaviour<LogPublisherArgs, State> = {
  init(args, ctx) {
    const s: State = { args, dirty: new Set(), queued: true, backingOff: false, failures: 0, stop: () => undefined };
    // What an earlier run left unpublished, then whatever the SU commits from now on.
    for (const { processId, nextSlot } of args.log.heads()) {
      if (args.published.through(processId) < nextSlot - 1) s.dirty.add(processId);
    }
    s.stop = args.log.onAppended((processId) => {
      s.dirty.add(processId);
      if (s.queued || s.backingOff) return;
      s.queued = true;
      ctx.send(ctx.self, PASS);
    });
    ctx.send(ctx.self, PASS);
    return { ok: s };
  },

  async handleInfo(msg: typeof PASS | typeof RETRY, s, ctx) {
    if (msg?.tag !== PASS.tag) return { state: s };
    if ('retry' in msg) s.backingOff = false;
    else {
      s.queued = false;
      if (s.backingOff) return { state: s };
    }
    try {
      await pass(s);
      s.failures = 0;
    } catch (e) {
      s.failures++;
      s.backingOff = true;
      const delay = Math.min(MAX_BACKOFF_MS, s.args.everyMs * 2 ** s.failures);
      ctx.log.warn({ err: (e as Error).message, delay, logs: s.dirty.size }, 'publishing assignments to the bundler failed; trying again');
      ctx.sendAfter(delay, RETRY);
      return { state: s };
    }
    if (s.dirty.size > 0) {
      s.queued = true;
      ctx.send(ctx.self, PASS);
    }
    return { state: s };
  },

  terminate(_reason, s) {
    s.stop();
  },
};
