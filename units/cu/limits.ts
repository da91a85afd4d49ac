/**
 * Memory-Limit and Compute-Limit, read as the reference CU reads them: the process's tag
 * overrides the module's; a memory limit is a size like `1-gb`, `512-mb`, `16777216` (the dash
 * is dropped, units are powers of 1024); a compute limit is an integer amount of gas.
 */
import { tagValue, type Tag } from '../ans104/index.js';

const UNITS: Record<string, number> = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 };

/** Bytes of a size such as `1-gb` or `1.5gb` or `4096`; undefined when it is not one. */
export function parseSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*-?\s*([kmgtp]?b)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNITS[(m[2] ?? 'b').toLowerCase()];
  if (!Number.isFinite(n) || unit === undefined) return undefined;
  return Math.floor(n * unit);
}

export class InvalidLimit extends Error {
  override readonly name = 'InvalidLimit';
}

export interface Limits {
  /** Bytes. */
  memory: number;
  /** Gas per message (enforced by the metering formats). */
  compute: number;
}

export interface LimitBounds {
  /** The largest Memory-Limit this CU accepts, bytes. */
  maxMemory: number;
  /** The largest Compute-Limit this CU accepts. */
  maxCompute: number;
}

/** A process's limits from its tags and its module's, checked against what this CU accepts. */
export function processLimits(processTags: readonly Tag[], moduleTags: readonly Tag[], bounds: LimitBounds): Limits {
  const rawMemory = tagValue(processTags, 'Memory-Limit') ?? tagValue(moduleTags, 'Memory-Limit');
  const rawCompute = tagValue(processTags, 'Compute-Limit') ?? tagValue(moduleTags, 'Compute-Limit');
  if (rawMemory === undefined) throw new InvalidLimit('no Memory-Limit on the process or its module');
  if (rawCompute === undefined) throw new InvalidLimit('no Compute-Limit on the process or its module');
  const memory = parseSize(rawMemory);
  if (memory === undefined || memory <= 0) throw new InvalidLimit(`Memory-Limit '${rawMemory}' is not a size (e.g. 1-gb, 512-mb, 16777216)`);
  if (memory > bounds.maxMemory) throw new InvalidLimit(`Memory-Limit '${rawMemory}' exceeds what this CU supports (${bounds.maxMemory} bytes)`);
  if (!/^\s*\d+\s*$/.test(rawCompute)) throw new InvalidLimit(`Compute-Limit '${rawCompute}' is not an integer`);
  const compute = Number.parseInt(rawCompute, 10);
  if (!(compute > 0)) throw new InvalidLimit(`Compute-Limit '${rawCompute}' must be positive`);
  if (compute > bounds.maxCompute) throw new InvalidLimit(`Compute-Limit '${rawCompute}' exceeds what this CU supports (${bounds.maxCompute})`);
  return { memory, compute };
}
