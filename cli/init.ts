/**
 * `aotp init`: what a cluster's nodes must share, written once. The SU, MU and CU wallets (a
 * process names the SU's address, aos trusts the MU's, every node signs with them) go to
 * `<dir>/wallets/`, and each node gets a config file `<dir>/<node>.json` naming them, its own
 * data dir and port, and the NATS servers. Nothing is overwritten.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { generateWallet, type WalletKind } from '../units/ans104/index.js';
import { StartError, UNITS } from './preflight.js';

export interface InitOptions {
  dir: string;
  nodes: string[];
  /** NATS URLs; none: single nodes on the in-process bus. */
  nats: string[];
  cluster?: string;
  host?: string;
  /** The first node's port; the others count up from it. */
  port?: number;
  walletKind?: WalletKind;
  /** Write `"chaos": true` (accept `aotp chaos` and kills from the observer): for test clusters only. */
  chaos?: boolean;
}

export interface InitResult {
  configs: string[];
  wallets: Record<string, string>;
  addresses: Record<string, string>;
}

export async function init(o: InitOptions): Promise<InitResult> {
  const dir = resolve(o.dir);
  if (o.nodes.length === 0) throw new StartError('aotp init: name the nodes (--nodes n1,n2,n3)');
  if (new Set(o.nodes).size !== o.nodes.length) throw new StartError(`aotp init: node names must differ: ${o.nodes.join(', ')}`);
  const walletDir = join(dir, 'wallets');
  const walletFiles = Object.fromEntries(UNITS.map((u) => [u, join(walletDir, `${u}.json`)]));
  const port = o.port ?? 8734;
  const configs = o.nodes.map((name, i) => {
    const config = {
      nodeName: name,
      host: o.host ?? '127.0.0.1',
      port: port + i,
      dataDir: join(dir, 'data', name),
      ...(o.nats.length > 0 ? { nats: { servers: o.nats, cluster: o.cluster ?? 'aotp' } } : {}),
      ...(o.chaos ? { chaos: true } : {}),
      su: { wallet: walletFiles.su },
      mu: { wallet: walletFiles.mu },
      cu: { wallet: walletFiles.cu },
    };
    // What start will refuse, refused now (a bad name, a bad URL).
    loadConfig(config, {});
    return { path: join(dir, `${name}.json`), config };
  });
  for (const path of [...Object.values(walletFiles), ...configs.map((c) => c.path)]) {
    if (existsSync(path)) throw new StartError(`${path} exists: aotp init does not overwrite; choose another --dir`);
  }
  mkdirSync(walletDir, { recursive: true, mode: 0o700 });
  const addresses: Record<string, string> = {};
  for (const unit of UNITS) {
    const w = await generateWallet(o.walletKind ?? 'ed25519');
    writeFileSync(walletFiles[unit]!, `${JSON.stringify(w.key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    addresses[unit] = w.address;
  }
  for (const c of configs) writeFileSync(c.path, `${JSON.stringify(c.config, null, 2)}\n`, { flag: 'wx' });
  return { configs: configs.map((c) => c.path), wallets: walletFiles, addresses };
}
