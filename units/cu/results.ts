/**
 * Pages of a process's evaluations (`GET /results`, `GET /cron`), as the reference CU pages them:
 * results of scheduled and cron messages in log order, between two positions and two timestamps
 * (from exclusive, to inclusive), ascending or descending.
 *
 * A page is bounded twice: by `limit` edges and by `maxBytes` of JSON (it always holds one edge
 * when any is in range), so that no page follows what processes put in their outputs. Results
 * are read from LMDB one at a time as the page takes them, merged by position from the results
 * and the crons tables. Positions follow timestamps (a slot's Timestamp never decreases, and the
 * crons after a slot come before the next one's), so a timestamp bound is found by binary search
 * and ends the scan, rather than being a filter over the whole log.
 */
import { comparePositions, type Position } from './engine.js';
import type { EvalOutput } from './message.js';
import type { CronRecord, CuStore, ResultRecord } from './store.js';

export interface ResultsPage {
  pageInfo: { hasNextPage: boolean };
  edges: { node: EvalOutput; cursor: string }[];
}

export interface ResultsQuery {
  /** Positions: after `lo`, up to `hi`. */
  lo: Position;
  hi: Position;
  /** Timestamps (ms): after `fromTs`, up to `toTs`. */
  fromTs?: number;
  toTs?: number;
  desc: boolean;
  limit: number;
  maxBytes: number;
  /** Cron results only. */
  onlyCron?: boolean;
}

/** The reference CU's cursor: base64 of { timestamp, ordinate, cron, sort }. */
export function cursorOf(r: { timestamp: number; slot: number; cron?: string | undefined }, sort: 'ASC' | 'DESC'): string {
  return Buffer.from(JSON.stringify({ timestamp: r.timestamp, ordinate: String(r.slot), ...(r.cron ? { cron: r.cron } : {}), sort })).toString('base64');
}

/** A scheduled message's result or a cron message's, with its place in the log. */
interface Evaluation {
  position: Position;
  timestamp: number;
  cron?: string;
  output: EvalOutput;
}

function* evaluations(results: Iterable<ResultRecord>, crons: Iterable<CronRecord>, desc: boolean): Generator<Evaluation> {
  const a = results[Symbol.iterator]();
  const b = crons[Symbol.iterator]();
  try {
    let x = a.next();
    let y = b.next();
    while (!x.done || !y.done) {
      const r = x.done ? undefined : { position: { slot: x.value.slot, cron: -1 }, timestamp: x.value.timestamp, output: x.value.output };
      const c = y.done ? undefined : { position: { slot: y.value.slot, cron: y.value.at }, timestamp: y.value.at, cron: y.value.cron, output: y.value.output };
      if (r && (!c || (desc ? -1 : 1) * comparePositions(r.position, c.position) < 0)) {
        yield r;
        x = a.next();
      } else {
        yield c!;
        y = b.next();
      }
    }
  } finally {
    a.return?.();
    b.return?.();
  }
}

/** The first slot whose result's Timestamp is > `ts`; undefined when a result is missing on the way. */
function firstSlotAfter(store: CuStore, processId: string, ts: number): number | undefined {
  let lo = 0;
  let hi = store.lastResultSlot(processId) + 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = store.result(processId, mid);
    if (!r) return undefined;
    if (r.timestamp > ts) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const later = (a: Position, b: Position) => (comparePositions(a, b) >= 0 ? a : b);
const earlier = (a: Position, b: Position) => (comparePositions(a, b) <= 0 ? a : b);

export function resultsPage(store: CuStore, processId: string, q: ResultsQuery): ResultsPage {
  let { lo, hi } = q;
  // Start the scan where the timestamp bound on its side begins (slot s-1's crons may be after it).
  if (!q.desc && q.fromTs !== undefined) {
    const s = firstSlotAfter(store, processId, q.fromTs);
    if (s !== undefined) lo = later(lo, { slot: s - 1, cron: -1 });
  }
  if (q.desc && q.toTs !== undefined) {
    const s = firstSlotAfter(store, processId, q.toTs);
    if (s !== undefined) hi = earlier(hi, { slot: s - 1, cron: Number.MAX_SAFE_INTEGER });
  }
  const results = q.onlyCron ? [] : store.resultsBetween(processId, { from: lo.slot, to: hi.slot, reverse: q.desc });
  const crons = store.cronsBetween(processId, { from: [lo.slot, lo.cron], to: [hi.slot, hi.cron], reverse: q.desc });
  const sort = q.desc ? 'DESC' : 'ASC';
  const edges: ResultsPage['edges'] = [];
  let bytes = 0;
  for (const e of evaluations(results, crons, q.desc)) {
    if (comparePositions(e.position, lo) <= 0 || comparePositions(e.position, hi) > 0) continue;
    // Past the timestamp bound ahead of the scan: nothing further is in range.
    if (!q.desc && q.toTs !== undefined && e.timestamp > q.toTs) break;
    if (q.desc && q.fromTs !== undefined && e.timestamp <= q.fromTs) break;
    if ((q.fromTs !== undefined && e.timestamp <= q.fromTs) || (q.toTs !== undefined && e.timestamp > q.toTs)) continue;
    if (edges.length >= q.limit) return { pageInfo: { hasNextPage: true }, edges };
    bytes += JSON.stringify(e.output).length;
    if (edges.length > 0 && bytes > q.maxBytes) return { pageInfo: { hasNextPage: true }, edges };
    edges.push({ node: e.output, cursor: cursorOf({ timestamp: e.timestamp, slot: e.position.slot, cron: e.cron }, sort) });
  }
  return { pageInfo: { hasNextPage: false }, edges };
}
