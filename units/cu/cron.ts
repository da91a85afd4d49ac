/**
 * Cron messages, as the reference CU makes them (servers/cu domain/lib/loadMessages.js): a
 * process spawned with `Cron-Interval: 10-minutes` (and `Cron-Tag-<Name>: <value>` tags that
 * follow it) gets, every interval, a message the CU itself generates — no SU slot, no id —
 * with those tags, From and Owner the process owner, Cron true.
 *
 * Where one goes in the log: a cron message at time T is evaluated after every scheduled
 * message whose Timestamp is <= T and before the first one after T; crons at the same T go in
 * increasing interval. Times are whole seconds counted from the spawn's Timestamp: T_k =
 * floor(spawn / 1 s) + k·interval, k >= 1. So the crons between two slots are a function of the
 * log, and every CU generates the same ones. After the last slot, crons are generated up to the
 * present minus a safety margin (a slot whose Timestamp is older than that is assumed to be
 * visible in the log already).
 *
 * Only time-based intervals: this node's SU follows no Arweave network, so block-based ones
 * (`N-blocks`) would never fire; they are reported and ignored.
 */
import type { Tag } from '../ans104/index.js';
import type { AoMessage } from './message.js';

export interface Cron {
  /** As in the tag, e.g. `10-minutes`; the result's `cron` is `<index>-<interval>`. */
  interval: string;
  /** Seconds. */
  seconds: number;
  tags: Tag[];
  /** Position in the process's tags (the reference's index). */
  index: number;
}

export class InvalidCron extends Error {
  override readonly name = 'InvalidCron';
}

const SECONDS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86_400, day: 86_400, days: 86_400,
  w: 604_800, week: 604_800, weeks: 604_800,
  y: 31_557_600, yr: 31_557_600, yrs: 31_557_600, year: 31_557_600, years: 31_557_600,
};

export interface ParsedCrons {
  crons: Cron[];
  /** Intervals this CU does not run (block-based). */
  ignored: string[];
}

/** The crons of a process from its tags (each Cron-Tag-* belongs to the Cron-Interval before it). */
export function parseCrons(tags: readonly Tag[]): ParsedCrons {
  const all: { interval: string; seconds: number | undefined; tags: Tag[] }[] = [];
  for (const t of tags) {
    if (t.name === 'Cron-Interval') {
      const [value, unit] = t.value.split('-').map((s) => s.trim());
      const n = Number.parseInt(value ?? '', 10);
      const u = (unit ?? '').toLowerCase();
      if (!(n > 0) || String(n) !== value) throw new InvalidCron(`Cron-Interval '${t.value}': expected <number>-<unit>, e.g. 10-minutes`);
      if (u === 'block' || u === 'blocks') all.push({ interval: t.value, seconds: undefined, tags: [] });
      else {
        const unitSeconds = SECONDS[u];
        if (unitSeconds === undefined) throw new InvalidCron(`Cron-Interval '${t.value}': unknown unit '${unit ?? ''}'`);
        all.push({ interval: t.value, seconds: n * unitSeconds, tags: [] });
      }
    } else {
      const m = /^Cron-Tag-(.+)$/.exec(t.name);
      if (m) {
        const last = all[all.length - 1];
        if (!last) throw new InvalidCron(`${t.name} comes before any Cron-Interval`);
        last.tags.push({ name: m[1]!, value: t.value });
      }
    }
  }
  const crons: Cron[] = [];
  const ignored: string[] = [];
  all.forEach((c, index) => {
    if (c.seconds === undefined) ignored.push(c.interval);
    else crons.push({ interval: c.interval, seconds: c.seconds, tags: c.tags, index });
  });
  // Same time: the more frequent first (as the reference orders time-based crons).
  crons.sort((a, b) => a.seconds - b.seconds || a.index - b.index);
  return { crons, ignored };
}

export interface CronTick {
  /** Unix ms. */
  at: number;
  cron: Cron;
}

/**
 * The cron times t with `from` <= t < `before` (and t <= `until`), in order, at most `max`.
 * `origin` is the spawn's Timestamp.
 */
export function ticks(crons: readonly Cron[], origin: number, from: number, before: number, until: number, max: number): CronTick[] {
  if (crons.length === 0 || max <= 0) return [];
  const base = Math.floor(origin / 1000) * 1000;
  const hi = Math.min(before - 1, until);
  const out: CronTick[] = [];
  // Per cron, the next tick at or after `from`; merge by time (then cron order).
  const next = crons.map((c) => {
    const step = c.seconds * 1000;
    const k = Math.max(1, Math.ceil((from - base) / step));
    return base + k * step;
  });
  while (out.length < max) {
    let best = -1;
    for (let i = 0; i < crons.length; i++) if (next[i]! <= hi && (best < 0 || next[i]! < next[best]!)) best = i;
    if (best < 0) break;
    out.push({ at: next[best]!, cron: crons[best]! });
    next[best]! += crons[best]!.seconds * 1000;
  }
  return out;
}

/** The reference's name for a cron in results and cursors. */
export const cronName = (c: Cron) => `${c.index}-${c.interval}`;

export function cronMessage(processId: string, owner: string, tick: CronTick, blockHeight: number): AoMessage {
  return {
    Owner: owner,
    Target: processId,
    From: owner,
    Tags: tick.cron.tags,
    Timestamp: tick.at,
    'Block-Height': blockHeight,
    Cron: true,
  };
}
