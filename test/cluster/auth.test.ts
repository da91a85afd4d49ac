/**
 * NATS credentials and TLS from config: a node with the right ones joins its NATS server; wrong
 * or missing ones fail startNode fast with an error that says why (no endless reconnecting).
 * Each group starts its own nats-server (user/pass, token, TLS-only) and stops it by pid.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../cli/start.js';
import { clusterWallets, type ClusterWallets } from '../support/aotp-cluster.js';
import { ConfigError, loadConfig } from '../../config/load.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const dirs: string[] = [];
const running: RunningNode[] = [];
const servers: NatsServerHandle[] = [];

function dir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** The nodes of one NATS server form one cluster: they share its wallets (a node with others is refused). */
let wallets: ClusterWallets;
beforeAll(async () => {
  wallets = await clusterWallets();
  dirs.push(wallets.dir);
});
const shared = () => ({ su: { wallet: join(wallets.dir, 'su.json') }, mu: { wallet: join(wallets.dir, 'mu.json') }, cu: { wallet: join(wallets.dir, 'cu.json') } });

function config(nodeName: string, nats: Record<string, unknown>) {
  return loadConfig({ dataDir: dir(`aotp-auth-${nodeName}-`), port: 0, logLevel: 'silent', nodeName, nats: { replicas: 1, heartbeatMs: 200, ...nats }, ...shared() }, {});
}

async function start(nodeName: string, nats: Record<string, unknown>): Promise<RunningNode> {
  const n = await startNode(config(nodeName, nats));
  running.push(n);
  return n;
}

/** startNode's rejection, within `ms` (a hang or an endless retry fails the test). */
async function startFails(nodeName: string, nats: Record<string, unknown>, ms = 10_000): Promise<Error> {
  const t0 = Date.now();
  const outcome = await Promise.race([
    start(nodeName, nats).then(
      () => new Error('startNode resolved'),
      (e: unknown) => e as Error,
    ),
    new Promise<Error>((resolve) => setTimeout(() => resolve(new Error(`startNode still pending after ${ms} ms`)), ms).unref()),
  ]);
  expect(outcome.message).not.toMatch(/^startNode (resolved|still pending)/);
  expect(Date.now() - t0).toBeLessThan(ms);
  return outcome;
}

async function bus(n: RunningNode): Promise<unknown> {
  const res = await fetch(`${n.url}/`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { bus?: unknown }).bus;
}

afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
});
afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('NATS user and password', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true, args: ['--user', 'aotp', '--pass', 's3cret'] });
    servers.push(nats);
  });

  it('a node with the right credentials starts on the NATS bus', async () => {
    const n = await start('up1', { servers: [nats.url], user: 'aotp', pass: 's3cret' });
    expect(await bus(n)).toBe('nats');
  });

  it('a wrong password fails the start with an authorization error', async () => {
    const e = await startFails('up2', { servers: [nats.url], user: 'aotp', pass: 'wrong' });
    expect(e.message).toMatch(/NATS authorization failed/);
    expect(e.message).toContain(nats.url);
    expect((e as Error & { code?: string }).code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('no credentials fail the start with an authorization error', async () => {
    const e = await startFails('up3', { servers: [nats.url] });
    expect(e.message).toMatch(/NATS authorization failed/);
  });

  it('credentials from AOTP_NATS_USER / AOTP_NATS_PASS', async () => {
    const c = loadConfig(
      { dataDir: dir('aotp-auth-env-'), port: 0, logLevel: 'silent', nodeName: 'upenv', nats: { servers: [nats.url], replicas: 1 }, ...shared() },
      { AOTP_NATS_USER: 'aotp', AOTP_NATS_PASS: 's3cret' },
    );
    expect(c.nats).toMatchObject({ user: 'aotp', pass: 's3cret' });
    const n = await startNode(c);
    running.push(n);
    expect(await bus(n)).toBe('nats');
  });
});

describe('NATS token', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true, args: ['--auth', 'tok-123'] });
    servers.push(nats);
  });

  it('the right token starts; a wrong or missing one fails with an authorization error', async () => {
    const n = await start('tok1', { servers: [nats.url], token: 'tok-123' });
    expect(await bus(n)).toBe('nats');
    expect((await startFails('tok2', { servers: [nats.url], token: 'nope' })).message).toMatch(/authorization/i);
    expect((await startFails('tok3', { servers: [nats.url] })).message).toMatch(/authorization/i);
  });

  it('AOTP_NATS_TOKEN is read from the environment', () => {
    const c = loadConfig({ dataDir: dir('aotp-auth-envtok-'), nats: { servers: [nats.url] } }, { AOTP_NATS_TOKEN: 'tok-123' });
    expect(c.nats?.token).toBe('tok-123');
  });
});

describe('NATS over TLS', () => {
  let nats: NatsServerHandle;
  let ca: string;
  beforeAll(async () => {
    const d = dir('aotp-auth-tls-');
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
    // A throwaway CA, and a server certificate for 127.0.0.1 signed by it.
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=aotp test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.csr');
    writeFileSync(join(d, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
    ca = join(d, 'ca.pem');
    nats = await startNatsServer({ jetstream: true, args: ['--tls', '--tlscert', join(d, 'server.pem'), '--tlskey', join(d, 'server-key.pem')] });
    servers.push(nats);
  });

  it('a node given the CA connects to a TLS-only server', async () => {
    const n = await start('tls1', { servers: [nats.url], tls: { caFile: ca } });
    expect(await bus(n)).toBe('nats');
  });

  it('without the CA the start fails with a TLS error', async () => {
    const e = await startFails('tls2', { servers: [nats.url] });
    expect(e.message).toMatch(/cannot connect to NATS/);
    expect(e.message).toMatch(/certificate/i);
  });
});

describe('NATS credentials in config validation', () => {
  const base = { dataDir: '/tmp/aotp-auth-unused' };
  const nats = { servers: ['nats://127.0.0.1:4222'] };

  it('user without pass, or pass without user, is a ConfigError naming the missing field', () => {
    expect(() => loadConfig({ ...base, nats: { ...nats, user: 'u' } }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, nats: { ...nats, user: 'u' } }, {})).toThrow(/nats\.pass/);
    expect(() => loadConfig({ ...base, nats: { ...nats, pass: 'p' } }, {})).toThrow(/nats\.user/);
    // Half from the environment is the same mistake.
    expect(() => loadConfig({ ...base, nats }, { AOTP_NATS_USER: 'u' })).toThrow(/nats\.pass/);
  });

  it('TLS paths must be non-empty, and readable', () => {
    expect(() => loadConfig({ ...base, nats: { ...nats, tls: { caFile: '' } } }, {})).toThrow(/nats\.tls\.caFile/);
    expect(() => loadConfig({ ...base, nats: { ...nats, tls: { caFile: '/nonexistent/ca.pem' } } }, {})).toThrow(/nats\.tls\.caFile: cannot read \/nonexistent\/ca\.pem/);
    expect(() => loadConfig({ ...base, nats: { ...nats, tls: { certFile: join(tmpdir()) } } }, {})).toThrow(ConfigError);
  });
});
