import { readFileSync } from 'node:fs';
import { ConfigSchema, type Config } from './schema.js';

import { ConfigError } from './errors.js';

export { ConfigError };

const ENV: Record<string, { key: keyof Config; kind: 'string' | 'number' }> = {
  AOTP_NODE_NAME: { key: 'nodeName', kind: 'string' },
  AOTP_HOST: { key: 'host', kind: 'string' },
  AOTP_PORT: { key: 'port', kind: 'number' },
  AOTP_DATA_DIR: { key: 'dataDir', kind: 'string' },
  AOTP_LOG_LEVEL: { key: 'logLevel', kind: 'string' },
  AOTP_LOG_FORMAT: { key: 'logFormat', kind: 'string' },
};

function num(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${name}: expected a number, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Defaults, then environment (AOTP_*), then explicit overrides (CLI flags); validated once.
 * `AOTP_NATS` is a comma-separated list of NATS URLs and switches the node to the NATS bus.
 * `AOTP_SU_WALLET` (a wallet file) and `AOTP_SU_WALLET_KIND` (ed25519 | rsa) set the SU's wallet.
 * `AOTP_NATS_USER` and `AOTP_NATS_PASS` (both), or `AOTP_NATS_TOKEN`, are the NATS credentials, so
 * that secrets need not be on the command line or in a config file; they apply when NATS is
 * configured at all (AOTP_NATS or `nats` in the overrides), and `nats.user`/`pass`/`token` in the
 * overrides win. TLS files in `nats.tls` must be readable here, or this throws a ConfigError.
 */
export function loadConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, { key, kind }] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined) raw[key] = kind === 'number' ? num(name, v) : v;
  }
  if (env.AOTP_NATS) raw.nats = { servers: env.AOTP_NATS.split(',').map((s) => s.trim()) };
  const su: Record<string, unknown> = {};
  if (env.AOTP_SU_WALLET) su.wallet = env.AOTP_SU_WALLET;
  if (env.AOTP_SU_WALLET_KIND) su.walletKind = env.AOTP_SU_WALLET_KIND;
  if (Object.keys(su).length > 0) raw.su = su;
  const natsAuth: Record<string, string> = {};
  if (env.AOTP_NATS_USER) natsAuth.user = env.AOTP_NATS_USER;
  if (env.AOTP_NATS_PASS) natsAuth.pass = env.AOTP_NATS_PASS;
  if (env.AOTP_NATS_TOKEN) natsAuth.token = env.AOTP_NATS_TOKEN;
  const { su: suOverrides, ...rest } = overrides;
  Object.assign(raw, rest);
  if (suOverrides !== undefined) raw.su = { ...su, ...(suOverrides as object) };
  if (typeof raw.nats === 'object' && raw.nats !== null && Object.keys(natsAuth).length > 0) raw.nats = { ...natsAuth, ...raw.nats };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    // One line, every bad field named: `aotp start` prints it as it is.
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const tls = parsed.data.nats?.tls;
  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    const file = tls?.[key];
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (e) {
      throw new ConfigError(`invalid configuration: nats.tls.${key}: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return parsed.data;
}

