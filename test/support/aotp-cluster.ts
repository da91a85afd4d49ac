/**
 * aotp nodes as child processes (`bin/aotp.js start --config`), for cluster tests and
 * benchmarks: shared wallets, one data dir and config file per node, started and SIGKILLed by
 * pid like the nats-servers they run on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWallet, type Wallet } from '../../units/ans104/index.js';

export interface AotpProcess {
  name: string;
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
  config: string;
  dataDir: string;
  /** stdout and stderr so far, when started with `keepOutput` (else up to the listening line). */
  output(): string;
  /** What the node wrote to stderr so far. */
  stderr(): string;
}

export interface ClusterWallets {
  dir: string;
  su: Wallet;
}

/** One wallet per unit, shared by every node (processes name one SU address). */
export async function clusterWallets(): Promise<ClusterWallets> {
  const dir = mkdtempSync(join(tmpdir(), 'aotp-wallets-'));
  const su = await generateWallet('ed25519');
  for (const [file, w] of [['su.json', su], ['mu.json', await generateWallet('ed25519')], ['cu.json', await generateWallet('ed25519')]] as const) {
    writeFileSync(join(dir, file), JSON.stringify(w.key));
  }
  return { dir, su };
}

export interface AotpNodeOptions {
  name: string;
  /** NATS URLs, the first one preferred. */
  servers: string[];
  wallets: ClusterWallets;
  /** Extra settings merged into the config (e.g. nats timings, chaos). */
  config?: Record<string, unknown>;
  /** Reuse this data dir (a restart). */
  dataDir?: string;
  /** Keep all of the node's output (its logs), not only up to the listening line. */
  keepOutput?: boolean;
  /** Extra environment variables for the node's process (e.g. AOTP_CRASH_AT). */
  env?: Record<string, string>;
  /** A single node on the embedded bus (no NATS; `servers` unused). */
  embedded?: boolean;
}

/** Writes the node's config file and starts it; resolves with its URL once it listens. */
export async function startAotpNode(o: AotpNodeOptions): Promise<AotpProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `aotp-${o.name}-`));
  const extra = o.config ?? {};
  const config = {
    nodeName: o.name,
    port: 0,
    dataDir,
    logLevel: 'warn',
    ...extra,
    ...(o.embedded ? {} : { nats: { servers: o.servers, replicas: 3, ...(extra.nats as object | undefined) } }),
    su: { wallet: join(o.wallets.dir, 'su.json'), idleMs: 0, callTimeoutMs: 5000, ...(extra.su as object | undefined) },
    mu: { wallet: join(o.wallets.dir, 'mu.json'), ...(extra.mu as object | undefined) },
    cu: { wallet: join(o.wallets.dir, 'cu.json'), ...(extra.cu as object | undefined) },
  };
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return launchAotp(o.name, file, dataDir, o.keepOutput, o.env);
}

export async function launchAotp(name: string, config: string, dataDir: string, keepOutput = false, env?: Record<string, string>): Promise<AotpProcess> {
  // AOTP_PROFILE_DIR=<dir>: a V8 CPU profile per node, written when it exits normally (SIGTERM).
  const profile = process.env.AOTP_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.AOTP_PROFILE_DIR, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...profile, 'bin/aotp.js', 'start', '--config', config, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  const exited = once(child, 'exit');
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  if (keepOutput) child.stdout!.on('data', (d) => (out += d));
  // AOTP_TEST_LOGS=<dir>: each node's log goes to <dir>/<name>.log too (to find out why a run failed).
  if (process.env.AOTP_TEST_LOGS) child.stdout!.pipe(createWriteStream(join(process.env.AOTP_TEST_LOGS, `${name}.log`), { flags: 'a' }));
  const url = await new Promise<string>((resolve, reject) => {
    let found = false;
    child.stdout!.on('data', (d) => {
      if (found) return; // keep draining the pipe, stop collecting
      if (!keepOutput) out += d;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        found = true;
        resolve(m[1]!);
      }
    });
    void exited.then(() => reject(new Error(`${name} exited: ${err || out}`)));
  });
  return { name, child, url, exited, config, dataDir, output: () => out + err, stderr: () => err };
}

/** Until every node given sees `n` members. */
export async function allMembers(nodes: AotpProcess[], n: number, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const node of nodes) {
    for (;;) {
      const info = (await (await fetch(`${node.url}/`)).json()) as { members: string[] };
      if (info.members.length === n) break;
      if (Date.now() > end) throw new Error(`${node.name} sees ${info.members.length} members, not ${n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function killAotp(n: AotpProcess): Promise<void> {
  if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  await n.exited;
}
