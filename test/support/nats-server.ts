/**
 * Real nats-server processes for tests: each on free loopback ports with its own store dir,
 * stopped (or SIGKILLed, for chaos) by pid. Nothing here talks to a server the test did not start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  jetstream?: boolean;
  serverName?: string;
  clusterName?: string;
  /** Cluster (route) port of this server; 0 picks a free one when `clusterName` is set. */
  clusterPort?: number;
  routes?: string[];
  /** Extra command-line arguments (auth, …). */
  args?: string[];
}

export interface NatsServerHandle {
  url: string;
  port: number;
  clusterPort: number | undefined;
  readonly pid: number;
  storeDir: string;
  /** SIGTERM and wait for exit; removes the store dir. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (the store dir stays, for a restart). */
  kill(): Promise<void>;
  /** Start again on the same ports and store dir (with `args` in place of the extra arguments given at start). */
  restart(args?: string[]): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function launch(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server not ready within 10 s:\n${log}`));
    }, 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run nats-server (is it installed?): ${e.message}`));
    });
    child.once('exit', (code) => {
      live.delete(child);
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const port = await freePort();
  const clusterPort = opts.clusterName ? opts.clusterPort || (await freePort()) : undefined;
  const storeDir = mkdtempSync(join(tmpdir(), 'aotp-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), '-n', opts.serverName ?? `nats-${port}`];
  if (opts.jetstream) args.push('-js', '-sd', storeDir);
  if (opts.clusterName) {
    args.push('--cluster_name', opts.clusterName, '--cluster', `nats://127.0.0.1:${clusterPort}`);
    if (opts.routes?.length) args.push('--routes', opts.routes.join(','));
  }
  let child = await launch([...args, ...(opts.args ?? [])]);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    clusterPort,
    get pid() {
      return child.pid!;
    },
    storeDir,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(storeDir, { recursive: true, force: true });
    },
    async kill() {
      process.kill(child.pid!, 'SIGKILL');
      await exited(child);
    },
    async restart(extra = opts.args ?? []) {
      child = await launch([...args, ...extra]);
    },
  };
}

export interface NatsClusterHandle {
  servers: NatsServerHandle[];
  urls: string[];
  stop(): Promise<void>;
}

/** `n` servers routed to each other (JetStream on by default), ready once every route is up. */
export async function startNatsCluster(n = 3, opts: { jetstream?: boolean } = {}): Promise<NatsClusterHandle> {
  const clusterPorts = await Promise.all(Array.from({ length: n }, () => freePort()));
  const routes = clusterPorts.map((p) => `nats://127.0.0.1:${p}`);
  const servers = await Promise.all(
    clusterPorts.map((cp, i) =>
      startNatsServer({
        jetstream: opts.jetstream ?? true,
        serverName: `s${i + 1}`,
        clusterName: 'aotp-test',
        clusterPort: cp,
        routes: routes.filter((_, j) => j !== i),
      }),
    ),
  );
  return {
    servers,
    urls: servers.map((s) => s.url),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
