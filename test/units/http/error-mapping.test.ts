/**
 * The one error mapping: each unit's typed error is answered with its status and
 * `{ error: <its message> }`; the same error from another node of a cluster (a ServiceError
 * carrying its name and status) is answered the same; anything else is a 500 whose body says
 * nothing of the error, logged with it. The handler is checked over a real socket too.
 */
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, ServiceError } from '../../../runtime/index.js';
import { InvalidBundle, InvalidDataItem, SignerUnavailable } from '../../../units/ans104/index.js';
import { CuError } from '../../../units/cu/api.js';
import { InvalidCheckpoint } from '../../../units/cu/checkpoint-item.js';
import { InvalidCron } from '../../../units/cu/cron.js';
import { ProcessUnavailable } from '../../../units/cu/engine.js';
import { InvalidLimit } from '../../../units/cu/limits.js';
import { InvalidDryRun } from '../../../units/cu/message.js';
import { GatewayRefused, GatewayUnreachable } from '../../../units/cu/module-gateway.js';
import { ModuleNotFound } from '../../../units/cu/modules.js';
import { EvaluatorGone } from '../../../units/cu/worker/client.js';
import { UploadRefused } from '../../../units/gateway/uploads.js';
import { mapError } from '../../../units/http/error-mapping.js';
import { unitRoutes } from '../../../units/http/unit-routes.js';
import { MuError } from '../../../units/mu/api.js';
import { MuStartError } from '../../../units/mu/launcher.js';
import { BodyTooLarge } from '../../../units/network/bounded-body.js';
import { GatewayUnavailable } from '../../../units/network/gateway-client.js';
import { RemoteMismatch, RemoteRefused, RemoteUnavailable } from '../../../units/network/remote-su.js';
import { Rejected } from '../../../units/sec/requests.js';
import { SchedulerUnavailable } from '../../../units/su/client.js';
import { SuError } from '../../../units/su/routes.js';

const cases: [string, Error, number, string][] = [
  ['SuError', new SuError('Process not found: x'), 400, 'Process not found: x'],
  ['SuError 409', new SuError('process moved', 409), 409, 'process moved'],
  ['MuError', new MuError(429, 'too many monitors'), 429, 'too many monitors'],
  ['MuError 503', new MuError(503, 'module cannot be looked up'), 503, 'module cannot be looked up'],
  ['CuError', new CuError(501, 'no wallet'), 501, 'no wallet'],
  ['Rejected', new Rejected('not staked', 403), 403, 'not staked'],
  ['InvalidCheckpoint', new InvalidCheckpoint('untrusted signer', 403), 403, 'untrusted signer'],
  ['RemoteRefused', new RemoteRefused('bad item', 400), 400, 'bad item'],
  ['InvalidDataItem', new InvalidDataItem('truncated', 'the item ends early'), 400, 'the item ends early'],
  ['InvalidBundle', new InvalidBundle('not a bundle'), 400, 'not a bundle'],
  ['UploadRefused', new UploadRefused('signature not valid'), 400, 'signature not valid'],
  ['InvalidDryRun', new InvalidDryRun('Tags must be a list'), 400, 'Tags must be a list'],
  ['InvalidCron', new InvalidCron('bad interval'), 400, 'bad interval'],
  ['InvalidLimit', new InvalidLimit('bad size'), 400, 'bad size'],
  ['ModuleNotFound', new ModuleNotFound('no module m'), 404, 'no module m'],
  ['ProcessUnavailable', new ProcessUnavailable('no process p'), 404, 'no process p'],
  ['ProcessUnavailable unprocessable', new ProcessUnavailable('bad limits', 'unprocessable'), 422, 'bad limits'],
  ['SchedulerUnavailable', new SchedulerUnavailable('no sequencer'), 503, 'unavailable now, try again: no sequencer'],
  ['CallError', new CallError('timeout', 'su'), 503, 'unavailable now, try again: call to su failed: timeout'],
  ['MuStartError', new MuStartError('cannot start'), 503, 'unavailable now, try again: cannot start'],
  ['SignerUnavailable', new SignerUnavailable('pool closed'), 503, 'unavailable now, try again: pool closed'],
  ['RemoteUnavailable', new RemoteUnavailable('down'), 503, 'unavailable now, try again: down'],
  ['GatewayUnavailable', new GatewayUnavailable('down'), 503, 'unavailable now, try again: down'],
  ['GatewayUnreachable', new GatewayUnreachable('down'), 503, 'unavailable now, try again: down'],
  ['EvaluatorGone', new EvaluatorGone('worker died'), 503, 'unavailable now, try again: worker died'],
  ['RemoteMismatch', new RemoteMismatch('not an item'), 502, 'not an item'],
  ['GatewayRefused', new GatewayRefused('too large'), 502, 'too large'],
  ['BodyTooLarge', new BodyTooLarge('answer too large'), 502, 'answer too large'],
  // From another node of the cluster: a service call's error carries the original's name and status.
  ['a remote CuError', new ServiceError('CuError', 'process p has no checkpoint', 404), 404, 'process p has no checkpoint'],
  ['a remote SchedulerUnavailable', new ServiceError('SchedulerUnavailable', 'no sequencer'), 503, 'unavailable now, try again: no sequencer'],
  ['a remote InvalidDataItem', new ServiceError('InvalidDataItem', 'bad tags'), 400, 'bad tags'],
];

describe('mapError', () => {
  it.each(cases)('%s', (_name, err, status, error) => {
    expect(mapError(err)).toMatchObject({ status, error });
  });

  it('an error of no known kind is a 500 that does not show its message, logged as an error', () => {
    expect(mapError(new Error('secret path /var/lib/x'))).toEqual({ status: 500, error: 'internal error', log: 'error' });
    expect(mapError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toEqual({ status: 500, error: 'internal error', log: 'error' });
    expect(mapError('thrown string')).toEqual({ status: 500, error: 'internal error', log: 'error' });
    // A status on an error the mapping does not know is not trusted.
    expect(mapError(Object.assign(new Error('x'), { status: 404 })).status).toBe(500);
  });

  it('unavailable parts are logged as warnings, not errors', () => {
    expect(mapError(new SchedulerUnavailable('x')).log).toBe('warn');
    expect(mapError(new SuError('x')).log).toBeUndefined();
  });
});

describe('the handler, over a socket', () => {
  let app: { close(): Promise<unknown> } | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function serve(throwing: Error, lines: string[] = []) {
    const server = Fastify({ loggerInstance: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) });
    app = server;
    await server.register(
      unitRoutes((u) => {
        u.get('/x', async () => {
          throw throwing;
        });
        u.post('/small', { bodyLimit: 16 }, async () => ({ ok: true }));
      }),
      { prefix: '/unit' },
    );
    return server.listen({ port: 0, host: '127.0.0.1' });
  }

  it('a typed error is its status and reason; a 503 says when to come back', async () => {
    const url = await serve(new SchedulerUnavailable('no sequencer'));
    const r = await fetch(`${url}/unit/x`);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(await r.json()).toEqual({ error: 'unavailable now, try again: no sequencer' });
  });

  it('an unknown error is a generic 500, and the log has it', async () => {
    const lines: string[] = [];
    const url = await serve(new Error('secret path /var/lib/x'), lines);
    const r = await fetch(`${url}/unit/x`);
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: 'internal error' });
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'route failed');
    expect(logged?.err?.message).toBe('secret path /var/lib/x');
  });

  it("a body over the route's limit is a 413 naming the limit", async () => {
    const url = await serve(new Error('unused'));
    const r = await fetch(`${url}/unit/small`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: 'x'.repeat(64) }) });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: 'the body is larger than 16 bytes' });
  });
});
