import type { StartSpec } from '../behaviour.js';
import type { ActorContext } from '../context.js';
import { SpecError } from '../errors.js';
import type { StartResult } from '../behaviour.js';
import type { AutoShutdown, ChildSpec, ChildType, Restart, Shutdown, Strategy, SupervisorSpec } from './types.js';

/** A child spec with every default filled in. */
export interface Spec {
  id: string;
  start: StartSpec | ((ctx: ActorContext, extra?: unknown) => Promise<StartResult>);
  restart: Restart;
  shutdown: Shutdown;
  type: ChildType;
  significant: boolean;
}

export interface Flags {
  strategy: Strategy;
  intensity: number;
  period: number;
  autoShutdown: AutoShutdown;
}

const STRATEGIES: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const RESTARTS: Restart[] = ['permanent', 'transient', 'temporary'];
const TYPES: ChildType[] = ['worker', 'supervisor'];
const AUTO: AutoShutdown[] = ['never', 'any_significant', 'all_significant'];

function oneOf<T>(field: string, value: unknown, allowed: T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (!allowed.includes(value as T)) throw new SpecError(field, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

/** Validates supervisor flags (OTP's supervisor_data check). */
export function checkFlags(spec: SupervisorSpec): Flags {
  const strategy = oneOf('strategy', spec.strategy, STRATEGIES, 'one_for_one');
  const intensity = spec.intensity ?? 1;
  if (!Number.isInteger(intensity) || intensity < 0) throw new SpecError('intensity', `must be an integer >= 0 (got ${intensity})`);
  const period = spec.period ?? 5;
  if (!Number.isInteger(period) || period < 1) throw new SpecError('period', `must be an integer >= 1 second (got ${period})`);
  const autoShutdown = oneOf('autoShutdown', spec.autoShutdown, AUTO, 'never');
  if (strategy === 'simple_one_for_one' && autoShutdown !== 'never') {
    throw new SpecError('autoShutdown', "simple_one_for_one supervisors cannot shut down automatically (use 'never')");
  }
  return { strategy, intensity, period, autoShutdown };
}

/** Validates one child spec and fills defaults; the error names the bad field. */
export function checkChildSpec(c: ChildSpec, autoShutdown: AutoShutdown): Spec {
  if (typeof c !== 'object' || c === null) throw new SpecError('child', 'must be an object');
  if (typeof c.id !== 'string' || c.id === '') throw new SpecError('id', 'must be a non-empty string');
  const where = `child ${c.id}`;
  const start = c.start;
  const validStart =
    typeof start === 'function' ||
    (typeof start === 'object' && start !== null && (typeof start.behaviour === 'string' || typeof start.behaviour === 'object'));
  if (!validStart) throw new SpecError(`${where}: start`, 'must be { behaviour, args } or a function');
  const restart = oneOf(`${where}: restart`, c.restart, RESTARTS, 'permanent');
  const type = oneOf(`${where}: type`, c.type, TYPES, 'worker');
  const shutdown = c.shutdown ?? (type === 'supervisor' ? 'infinity' : 5000);
  if (!(shutdown === 'brutal_kill' || shutdown === 'infinity' || (Number.isInteger(shutdown) && shutdown >= 0))) {
    throw new SpecError(`${where}: shutdown`, `must be 'brutal_kill', 'infinity' or ms >= 0 (got ${JSON.stringify(shutdown)})`);
  }
  const significant = c.significant ?? false;
  if (typeof significant !== 'boolean') throw new SpecError(`${where}: significant`, 'must be a boolean');
  if (significant && restart === 'permanent') throw new SpecError(`${where}: significant`, 'a permanent child cannot be significant');
  if (significant && autoShutdown === 'never') {
    throw new SpecError(`${where}: significant`, "significant children need autoShutdown 'any_significant' or 'all_significant'");
  }
  return { id: c.id, start, restart, shutdown, type, significant };
}

/** Validates all child specs (unique ids; exactly one for simple_one_for_one). */
export function checkStartSpec(children: ChildSpec[], flags: Flags): Spec[] {
  if (!Array.isArray(children)) throw new SpecError('children', 'must be an array');
  if (flags.strategy === 'simple_one_for_one' && children.length !== 1) {
    throw new SpecError('children', `simple_one_for_one takes exactly one child spec (got ${children.length})`);
  }
  const seen = new Set<string>();
  return children.map((c) => {
    const s = checkChildSpec(c, flags.autoShutdown);
    if (seen.has(s.id)) throw new SpecError(`child ${s.id}: id`, 'duplicate child id');
    seen.add(s.id);
    return s;
  });
}
