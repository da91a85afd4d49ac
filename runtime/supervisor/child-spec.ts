/**
 * Validating a policy, as OTP's supervisor does (check_flags, check_childspec, check_startspec):
 * defaults filled in, and every problem reported as data (`SpecProblem`: kind, offending value,
 * child id), in OTP's order of checks, so callers can match on it.
 */
import type { StartSpec } from '../behaviour.js';
import { isSendable } from '../codec.js';
import { SpecError } from '../errors.js';
import type {
  AutoShutdown,
  ChildSpec,
  ChildSpecView,
  ChildStartFn,
  ChildType,
  Flags,
  PolicyError,
  Restart,
  Shutdown,
  SpecProblem,
  Strategy,
} from './types.js';

/** A child spec with every default filled in. */
export interface Spec {
  id: string;
  start: StartSpec | ChildStartFn;
  restart: Restart;
  shutdown: Shutdown;
  type: ChildType;
  significant: boolean;
}

const STRATEGIES: Strategy[] = ['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'];
const RESTARTS: Restart[] = ['permanent', 'transient', 'temporary'];
const TYPES: ChildType[] = ['worker', 'supervisor'];
const AUTO: AutoShutdown[] = ['never', 'any_significant', 'all_significant'];

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (v: unknown) => (typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

function fail(field: string, message: string, problem: SpecProblem): never {
  throw new SpecError(field, message, problem);
}

function oneOf<T>(field: string, value: unknown, allowed: T[], dflt: T, problem: (v: unknown) => SpecProblem): T {
  if (value === undefined) return dflt;
  if (!allowed.includes(value as T)) fail(field, `must be one of ${allowed.join(', ')} (got ${show(value)})`, problem(value));
  return value as T;
}

/** Validates supervisor flags (OTP's check_flags); unknown flags are ignored. Throws a SpecError. */
export function checkFlags(spec: unknown): Flags {
  if (!isObject(spec)) fail('flags', `must be an object (got ${show(spec)})`, { kind: 'invalid_type', value: spec });
  const strategy = oneOf('strategy', spec.strategy, STRATEGIES, 'one_for_one', (value) => ({ kind: 'invalid_strategy', value }));
  const intensity = spec.intensity ?? 1;
  if (!Number.isInteger(intensity) || (intensity as number) < 0) {
    fail('intensity', `must be an integer >= 0 (got ${show(intensity)})`, { kind: 'invalid_intensity', value: intensity });
  }
  const period = spec.period ?? 5;
  if (!Number.isInteger(period) || (period as number) < 1) {
    fail('period', `must be an integer >= 1 second (got ${show(period)})`, { kind: 'invalid_period', value: period });
  }
  const autoShutdown = oneOf('autoShutdown', spec.autoShutdown, AUTO, 'never', (value) => ({ kind: 'invalid_auto_shutdown', value }));
  if (strategy === 'simple_one_for_one' && autoShutdown !== 'never') {
    fail('autoShutdown', "simple_one_for_one supervisors cannot shut down automatically (use 'never')", {
      kind: 'bad_combination',
      value: { strategy, autoShutdown },
    });
  }
  return { strategy, intensity: intensity as number, period: period as number, autoShutdown };
}

function validStart(start: unknown): start is StartSpec | ChildStartFn {
  if (typeof start === 'function') return true;
  if (!isObject(start)) return false;
  const b = start.behaviour;
  return typeof b === 'string' || (typeof b === 'object' && b !== null && typeof (b as { init?: unknown }).init === 'function');
}

/** Validates one child spec and fills defaults (OTP's check_childspec). Throws a SpecError. */
export function checkChildSpec(c: unknown, autoShutdown: AutoShutdown): Spec {
  if (!isObject(c)) fail('child', `must be an object (got ${show(c)})`, { kind: 'invalid_child_spec', value: c });
  if (c.id === undefined) fail('id', 'is missing', { kind: 'missing_id', value: c });
  if (typeof c.id !== 'string' || c.id === '') fail('id', `must be a non-empty string (got ${show(c.id)})`, { kind: 'invalid_id', value: c.id });
  const id = c.id;
  const where = `child ${id}`;
  if (c.start === undefined) fail(`${where}: start`, 'is missing', { kind: 'missing_start', value: c });
  if (!validStart(c.start)) {
    fail(`${where}: start`, 'must be { behaviour, args } or a function', { kind: 'invalid_start', value: c.start, id });
  }
  const start = c.start;
  const restart = oneOf(`${where}: restart`, c.restart, RESTARTS, 'permanent', (value) => ({ kind: 'invalid_restart_type', value, id }));
  const significant = c.significant ?? false;
  if (typeof significant !== 'boolean') {
    fail(`${where}: significant`, `must be a boolean (got ${show(significant)})`, { kind: 'invalid_significant', value: significant, id });
  }
  if (significant && autoShutdown === 'never') {
    fail(`${where}: significant`, "significant children need autoShutdown 'any_significant' or 'all_significant'", {
      kind: 'bad_combination',
      value: { autoShutdown, significant },
      id,
    });
  }
  if (significant && restart === 'permanent') {
    fail(`${where}: significant`, 'a permanent child cannot be significant', { kind: 'bad_combination', value: { restart, significant }, id });
  }
  const type = oneOf(`${where}: type`, c.type, TYPES, 'worker', (value) => ({ kind: 'invalid_child_type', value, id }));
  const shutdown = c.shutdown ?? (type === 'supervisor' ? 'infinity' : 5000);
  if (!(shutdown === 'brutal_kill' || shutdown === 'infinity' || (Number.isInteger(shutdown) && (shutdown as number) >= 0))) {
    fail(`${where}: shutdown`, `must be 'brutal_kill', 'infinity' or ms >= 0 (got ${show(shutdown)})`, { kind: 'invalid_shutdown', value: shutdown, id });
  }
  return { id, start, restart, shutdown: shutdown as Shutdown, type, significant };
}

/** A policy that passed every check. */
export interface Policy {
  flags: Flags;
  /** In start order. */
  specs: Spec[];
}

/**
 * Checks a whole policy (flags, then children) as OTP's supervisor init does: answers the
 * checked policy, or the error a supervisor's start (and a policy change) fails with.
 */
export function checkPolicy(spec: unknown): Policy | { error: PolicyError } {
  if (!isObject(spec)) return { error: { bad_return: spec } };
  let flags: Flags;
  try {
    flags = checkFlags(spec);
  } catch (e) {
    if (e instanceof SpecError) return { error: { supervisor_data: e.problem } };
    throw e;
  }
  const children = spec.children;
  if (!Array.isArray(children) || (flags.strategy === 'simple_one_for_one' && children.length !== 1)) {
    return { error: { bad_start_spec: children } };
  }
  const seen = new Set<string>();
  const specs: Spec[] = [];
  try {
    for (const c of children) {
      const s = checkChildSpec(c, flags.autoShutdown);
      if (seen.has(s.id)) return { error: { start_spec: { kind: 'duplicate_child_name', value: s.id } } };
      seen.add(s.id);
      specs.push(s);
    }
  } catch (e) {
    if (e instanceof SpecError) return { error: { start_spec: e.problem } };
    throw e;
  }
  return { flags, specs };
}

/** A child spec as a reply can carry it (a start that is code, not data, is described). */
export function specView(spec: Spec): ChildSpecView {
  const { id, restart, shutdown, type, significant } = spec;
  return { id, start: startView(spec.start), restart, shutdown, type, significant };
}

function startView(start: Spec['start']): ChildSpecView['start'] {
  if (typeof start === 'function') return { opaque: `function ${start.name || '(anonymous)'}` };
  if (isSendable(start)) return start;
  return { opaque: typeof start.behaviour === 'string' ? `behaviour ${start.behaviour} with arguments that are not plain data` : 'a behaviour given as code' };
}
