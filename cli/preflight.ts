/**
 * What `aotp start` checks before it creates anything (no data dir, wallet, stream or bucket
 * yet): the data dir can be written, the port is free, the wallet files it names are wallets,
 * the modules dir it names is a folder, and the data dir is this node's. Each failure is one StartError line naming the cause and
 * the fix; the CLI prints it and exits 2.
 */
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateWallet, loadWallet, type Wallet } from '../units/ans104/index.js';

import { StartError } from './start-error.js';

export { StartError };

export type Unit = 'su' | 'mu' | 'cu';
export const UNITS: Unit[] = ['su', 'mu', 'cu'];

/** Each unit's wallet when it exists already (configured file, or `<dataDir>/<unit>-wallet.json`). */
export type KnownWallets = Partial<Record<Unit, { wallet: Wallet; path: string; configured: boolean }>>;

/** What a data dir records about the node it belongs to (`<dataDir>/node.json`). */
export interface DataDirIdentity {
  node: string;
  /** The NATS cluster name, or null for a node on the in-process bus. */
  cluster: string | null;
}

export const identityFile = (dataDir: string) => join(dataDir, 'node.json');

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? String(e);

export function checkDataDir(dataDir: string): void {
  const dir = resolve(dataDir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new StartError(`data dir ${dir} is not a directory: choose another --data-dir`);
    for (const path of [dir, join(dir, 'lmdb')]) {
      if (!existsSync(path)) continue;
      try {
        accessSync(path, constants.W_OK | constants.R_OK);
      } catch (e) {
        throw new StartError(`data dir ${path} is not writable (${code(e)}): fix its permissions, or choose a writable --data-dir`);
      }
    }
    return;
  }
  // It will be created: its nearest existing parent must let us.
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
  } catch (e) {
    throw new StartError(`data dir ${dir} cannot be created: ${parent} is not writable (${code(e)}): choose a writable --data-dir`);
  }
}

/** `cu.modulesDir`, when set, is a folder (a typo would leave the node without its modules). */
export function checkModulesDir(dir: string | undefined): void {
  if (dir === undefined) return;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new StartError(`cu.modulesDir ${resolve(dir)} is not a folder: create it (module items <id>.item, aos binaries), or leave cu.modulesDir unset`);
  }
}

/** The port is free now (port 0 asks the system for one: nothing to check). */
export async function checkPort(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((res, rej) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      const fix =
        e.code === 'EADDRINUSE'
          ? 'stop what listens there, or choose another --port'
          : e.code === 'EACCES'
            ? 'ports below 1024 need privileges: choose a port above 1024 (--port)'
            : e.code === 'EADDRNOTAVAIL'
              ? `${host} is not an address of this machine: fix --host`
              : 'fix --host or --port';
      rej(new StartError(`cannot listen on ${host}:${port} (${e.code ?? e.message}): ${fix}`));
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => res()));
  });
}

/** Loads the wallets that exist; a configured file that is missing or not a wallet is an error. */
export async function knownWallets(config: Config): Promise<KnownWallets> {
  const out: KnownWallets = {};
  for (const unit of UNITS) {
    const configured = config[unit].wallet;
    const path = configured ?? join(config.dataDir, `${unit}-wallet.json`);
    if (!configured && !existsSync(path)) continue;
    try {
      out[unit] = { wallet: await loadWallet(path), path, configured: configured !== undefined };
    } catch (e) {
      const U = unit.toUpperCase();
      if (code(e) === 'ENOENT') {
        throw new StartError(`the ${U} wallet file ${path} does not exist: give an existing wallet file (${unit}.wallet; aotp init writes a cluster's), or leave ${unit}.wallet unset to create one in the data dir`);
      }
      throw new StartError(`the ${U} wallet file ${path} cannot be used: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}

/** A data dir used by another node, or by a node of another cluster, is refused. */
export function checkDataDirIdentity(config: Config): DataDirIdentity {
  const mine: DataDirIdentity = { node: config.nodeName, cluster: config.nats ? config.nats.cluster : null };
  const file = identityFile(config.dataDir);
  if (!existsSync(file)) return mine;
  let was: DataDirIdentity;
  try {
    was = JSON.parse(readFileSync(file, 'utf8')) as DataDirIdentity;
  } catch (e) {
    throw new StartError(`${file} is not readable JSON (${(e as Error).message}): remove it if this data dir is this node's`);
  }
  if (was.cluster !== null && mine.cluster !== null) {
    if (was.cluster !== mine.cluster) {
      throw new StartError(`data dir ${config.dataDir} belongs to node ${was.node} of cluster ${was.cluster}, not cluster ${mine.cluster}: give this node its own --data-dir, or start it with nats.cluster ${was.cluster}`);
    }
    if (was.node !== mine.node) {
      throw new StartError(`data dir ${config.dataDir} belongs to node ${was.node} of cluster ${was.cluster}: start it as ${was.node}, or give ${mine.node} its own --data-dir`);
    }
  }
  return mine;
}

/** Creates the wallets that do not exist yet (`<dataDir>/<unit>-wallet.json`); call once every check has passed. */
export async function ensureWallets(config: Config, known: KnownWallets, onCreated: (unit: Unit, wallet: Wallet, path: string) => void): Promise<Record<Unit, Wallet>> {
  const out = {} as Record<Unit, Wallet>;
  for (const unit of UNITS) {
    const have = known[unit];
    if (have) {
      out[unit] = have.wallet;
      continue;
    }
    const { wallet, created, path } = await loadOrCreateWallet(config.dataDir, { kind: config[unit].walletKind, fileName: `${unit}-wallet.json` });
    if (created) onCreated(unit, wallet, path);
    out[unit] = wallet;
  }
  return out;
}

/** Records which node (and cluster) the data dir belongs to. */
export function writeDataDirIdentity(dataDir: string, id: DataDirIdentity): void {
  writeFileSync(identityFile(dataDir), `${JSON.stringify(id)}\n`);
}
