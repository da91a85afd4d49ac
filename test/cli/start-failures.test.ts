/**
 * `aotp start` refusals as an operator meets them: each is one line on stderr naming the cause
 * and the fix, exit code 2, and nothing is created (no data dir, no wallet, no stream).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { tempDir } from '../units/cu/support/harness.js';

const root = tempDir('aotp-startfail-');
let nats: NatsServerHandle;
beforeAll(async () => {
  chmodSync(root, 0o755); // readable by an unprivileged user (the read-only case runs as one)
  nats = await startNatsServer({ jetstream: true });
});
afterAll(async () => {
  await nats?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function aotp(args: string[], o: { uid?: number } = {}) {
  const child = spawn(process.execPath, ['bin/aotp.js', 'start', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.uid } : {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number, out, err };
}

/** One line on stderr, and nothing on stdout (no stack, no JSON). */
function oneLine(r: { out: string; err: string }, what: RegExp) {
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^aotp: /);
  expect(lines[0]).toMatch(what);
  expect(r.out).toBe('');
}

describe('aotp start refuses', () => {
  it('a port in use', async () => {
    const srv: Server = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const dir = join(root, 'port');
    try {
      const r = await aotp(['--port', String(port), '--data-dir', dir]);
      expect(r.code).toBe(2);
      oneLine(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): stop what listens there, or choose another --port`));
      expect(existsSync(dir)).toBe(false);
    } finally {
      srv.close();
    }
  }, 30_000);

  it('a data dir it cannot write', async () => {
    const dir = join(root, 'readonly');
    mkdirSync(dir);
    // root writes anywhere: the node runs as an unprivileged user then; otherwise the dir is made read-only.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(dir, 0o555);
    const r = await aotp(['--port', '0', '--data-dir', dir], asRoot ? { uid: 65534 } : {});
    expect(r.code, r.err).toBe(2);
    oneLine(r, /data dir .*readonly is not writable \(EACCES\): fix its permissions, or choose a writable --data-dir/);
    expect(readdirSync(dir)).toEqual([]);
  }, 30_000);

  it('a wallet file that does not exist', async () => {
    const dir = join(root, 'wallet');
    const r = await aotp(['--port', '0', '--data-dir', dir, '--su-wallet', join(root, 'no-such-wallet.json')]);
    expect(r.code).toBe(2);
    oneLine(r, /the SU wallet file .*no-such-wallet\.json does not exist: give an existing wallet file/);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);

  it('a modules dir that is not a folder', async () => {
    const dir = join(root, 'modules');
    const config = join(root, 'modules.json');
    writeFileSync(config, JSON.stringify({ cu: { modulesDir: join(root, 'no-such-modules') } }));
    const r = await aotp(['--port', '0', '--data-dir', dir, '--config', config]);
    expect(r.code).toBe(2);
    oneLine(r, /cu\.modulesDir .*no-such-modules is not a folder: create it \(module items <id>\.item, aos binaries\), or leave cu\.modulesDir unset/);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);

  it('a wallet file that is not a wallet', async () => {
    const dir = join(root, 'badwallet');
    const file = join(root, 'bad-wallet.json');
    writeFileSync(file, '{"kty":"EC"}');
    const r = await aotp(['--port', '0', '--data-dir', dir, '--su-wallet', file]);
    expect(r.code).toBe(2);
    oneLine(r, /the SU wallet file .*bad-wallet\.json cannot be used: .*unsupported key/);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);

  it('replicas > 1 on a single nats-server, at once, creating no stream', async () => {
    const dir = join(root, 'replicas');
    const config = join(root, 'replicas.json');
    writeFileSync(config, JSON.stringify({ port: 0, dataDir: dir, nats: { servers: [nats.url], replicas: 3 } }));
    const started = Date.now();
    const r = await aotp(['--config', config]);
    expect(r.code).toBe(2);
    oneLine(r, /nats\.replicas is 3 but the NATS server at .* is a single server, not a cluster: set nats\.replicas to 1/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(dir)).toBe(false);
    const nc = await connect({ servers: nats.url });
    try {
      expect(await (await nc.jetstreamManager()).streams.names().next()).toEqual([]);
    } finally {
      await nc.close();
    }
  }, 30_000);

  it('a typo inside the nats settings', async () => {
    const config = join(root, 'typo.json');
    writeFileSync(config, JSON.stringify({ port: 0, dataDir: join(root, 'typo'), nats: { servers: [nats.url], heartbeatMS: 100 } }));
    const r = await aotp(['--config', config]);
    expect(r.code).toBe(2);
    oneLine(r, /invalid configuration: nats: Unrecognized key: "heartbeatMS"/);
  }, 30_000);
});
