/**
 * The zod pieces the routes declare their params and query strings with. Each says, when it
 * refuses a value, which parameter is wrong and why, in words a client can act on: the error
 * mapping (error-mapping.ts) answers these messages as the 400's reason.
 */
import { z } from 'zod';
import { isTxId, parseExclude } from '../su/validate.js';

/** A query parameter given twice arrives as an array: the last one counts, as the reference units do. */
const lastOf = (v: unknown): unknown => (Array.isArray(v) ? v[v.length - 1] : v);

const shown = (v: unknown, n = 64): string => String(v).slice(0, n);

/** One query value (the last when repeated), absent or a string. */
export const queryString = () => z.preprocess(lastOf, z.string().optional());

const ID_CHARS = /^[A-Za-z0-9_-]{43}$/;

/**
 * A transaction id (43 characters of canonical base64url): `what` names it in the reason, e.g.
 * "process-id must be a transaction id (43 base64url characters), got 'abc'". `loose` takes any
 * 43 base64url characters (the CU's and AO-Sec's routes: an id that names nothing is their 404).
 */
export function txId(what: string, kind = 'a transaction id', o: { loose?: boolean } = {}) {
  const ok = o.loose ? (s: string) => ID_CHARS.test(s) : isTxId;
  return z
    .string({ error: `${what} is required: ${kind} (43 base64url characters)` })
    .refine(ok, { error: (iss) => `${what} must be ${kind} (43 base64url characters), got '${shown(iss.input)}'` });
}

/** An optional query parameter holding a transaction id (the last when repeated). */
export function txIdQuery(name: string, kind?: string, o?: { loose?: boolean }) {
  return z.preprocess(lastOf, txId(name, kind, o).optional());
}

/** A query parameter holding a transaction id that must be there. */
export function requiredTxIdQuery(name: string, kind?: string, o?: { loose?: boolean }) {
  return z.preprocess(lastOf, txId(name, kind, o));
}

/**
 * An optional integer query parameter, at least `min`; an empty value counts as absent.
 * `describe` says what it must be when it is not (default: "an integer >= min").
 */
export function intQuery(name: string, min: number, describe = `an integer >= ${min}`) {
  return z.preprocess(
    (v) => {
      const s = lastOf(v);
      return s === '' ? undefined : s;
    },
    z
      .string()
      .refine((s) => /^-?\d{1,16}$/.test(s) && Number(s) >= min, { error: (iss) => `${name} must be ${describe}, got '${shown(iss.input, 32)}'` })
      .transform(Number)
      .optional(),
  );
}

/** One of a few words (the last when repeated), or absent. */
export function enumQuery<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  return z.preprocess(lastOf, z.enum(values, { error: (iss) => `${name} must be ${values.join(' or ')}, got '${shown(iss.input, 32)}'` }).optional());
}

/** A query parameter that matters by being there (`&base-layer`), whatever its value. */
export const flagQuery = () => z.preprocess((v) => (v === undefined ? undefined : true), z.literal(true).optional());

/**
 * An assignment's `exclude` (comma-separated, possibly repeated): the field names, checked
 * (su/validate.ts's limits).
 */
export function excludeQuery() {
  return z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((raw, ctx) => {
      const parsed = parseExclude(raw);
      if ('ok' in parsed) return parsed.ok;
      ctx.issues.push({ code: 'custom', message: parsed.error, input: raw });
      return z.NEVER;
    });
}

/**
 * `POST /?process-id=&assign=[&base-layer][&exclude=]`: an assignment of an existing message
 * (the SU's and the MU's, which forwards it), both ids or neither; `bothOrNeither` is what the
 * unit answers when only one is given.
 */
export function assignQuery(bothOrNeither: string) {
  return z
    .object({
      'process-id': txIdQuery('process-id', 'a process id'),
      assign: txIdQuery('assign'),
      'base-layer': flagQuery(),
      exclude: excludeQuery(),
    })
    .refine((q) => (q['process-id'] === undefined) === (q.assign === undefined), { error: bothOrNeither });
}
