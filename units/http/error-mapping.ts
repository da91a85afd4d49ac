/**
 * One mapping from what a route throws to what the client is answered: a status and
 * `{ "error": "<reason>" }`, the shape every unit answers errors in. Every unit's routes use it
 * (unit-routes.ts), so the same error is the same answer whichever unit it reaches through.
 *
 * Errors are told apart by name, not class: an error thrown by a unit on another node of the
 * cluster comes back as a ServiceError carrying the original's name, message and status
 * (runtime/service.ts), and is answered as the original would have been.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ServiceError } from '../../runtime/index.js';

export interface MappedError {
  status: number;
  /** The reason the client reads. */
  error: string;
  /** How the node logs it: a 5xx of its own is an error, an unavailable part a warning. */
  log?: 'warn' | 'error';
}

/**
 * Errors that carry the status they are to be answered with (the units' own HTTP-facing errors,
 * a refusal of the AO-Sec origin, a checkpoint refused, another SU's 4xx).
 */
const WITH_STATUS = new Set(['SuError', 'MuError', 'CuError', 'Rejected', 'InvalidCheckpoint', 'RemoteRefused']);

/** What the request carried cannot be taken: 400, with the reason. */
const BAD_REQUEST = new Set(['InvalidDataItem', 'InvalidBundle', 'UploadRefused', 'InvalidDryRun', 'InvalidCron', 'InvalidLimit']);

/** A part the request needs cannot be reached now; the same request may pass later: 503. */
const UNAVAILABLE = new Set([
  'CallError',
  'SchedulerUnavailable',
  'MuStartError',
  'SignerUnavailable',
  'RemoteUnavailable',
  'GatewayUnavailable',
  'GatewayUnreachable',
  'EvaluatorGone',
]);

/** Another operator's node or a gateway answered what cannot be right: 502. */
const BAD_UPSTREAM = new Set(['RemoteMismatch', 'GatewayRefused', 'BodyTooLarge']);

const NOT_FOUND = new Set(['ModuleNotFound']);

type Thrown = Error & { status?: unknown; statusCode?: unknown; code?: unknown; validation?: unknown; validationContext?: string };

const isStatus = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 400 && n <= 599;

/** Reasons of a schema failure: each zod issue's message (params.ts words them to name the parameter). */
function validationReason(err: Thrown): string {
  if (!hasZodFastifySchemaValidationErrors(err)) return err.message;
  const messages = [...new Set(err.validation.map((v) => v.message))];
  return messages.join('; ');
}

/** The answer to an error thrown by a route, or by fastify before the route ran. */
export function mapError(e: unknown, bodyLimit?: number): MappedError {
  const err: Thrown = e instanceof Error ? e : new Error(String(e));
  const name = err.name;
  if (err.code === 'FST_ERR_VALIDATION' || Array.isArray(err.validation)) return { status: 400, error: validationReason(err) };
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
    return { status: 413, error: bodyLimit === undefined ? 'the body is too large' : `the body is larger than ${bodyLimit} bytes` };
  }
  if (WITH_STATUS.has(name) && isStatus(err.status)) return { status: err.status, error: err.message, ...(err.status >= 500 ? { log: 'warn' as const } : {}) };
  // A unit's error from another node, answered as there (ServiceError takes the original's name).
  if (e instanceof ServiceError && isStatus(err.status)) return { status: err.status, error: err.message };
  if (BAD_REQUEST.has(name)) return { status: 400, error: err.message };
  if (NOT_FOUND.has(name)) return { status: 404, error: err.message };
  if (name === 'ProcessUnavailable') return { status: err.code === 'unprocessable' ? 422 : 404, error: err.message };
  if (UNAVAILABLE.has(name)) return { status: 503, error: `unavailable now, try again: ${err.message}`, log: 'warn' };
  if (BAD_UPSTREAM.has(name)) return { status: 502, error: err.message, log: 'warn' };
  // fastify's own 4xx (a body that does not parse, a content type no parser takes, …).
  if (typeof err.code === 'string' && err.code.startsWith('FST_') && isStatus(err.statusCode) && err.statusCode < 500) return { status: err.statusCode, error: err.message };
  return { status: 500, error: 'internal error', log: 'error' };
}

/** The fastify error handler every unit's routes use. */
export function errorMapping(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const m = mapError(err, req.routeOptions.bodyLimit);
  if (m.log === 'error') req.log.error({ err, method: req.method, url: req.url }, 'route failed');
  else if (m.log === 'warn') req.log.warn({ err: err.message, method: req.method, url: req.url, status: m.status }, 'route answered an error');
  if (m.status === 503) reply.header('retry-after', '1');
  return reply.code(m.status).send({ error: m.error });
}
