import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { formatReason } from '../runtime/index.js';
import { startNode } from './start.js';
import { runChaos } from './chaos.js';
import { drain } from './drain.js';
import { formatReload, policyFromConfig, reloadCluster, reloadOnSignal } from './reload.js';
import { clusterStatus, formatStatus } from './status.js';
import { formatVerdict, verifyCluster } from './verify.js';

/** The flags every operator command that joins the bus takes. */
const BUS_OPTIONS = {
  nats: { type: 'string' },
  cluster: { type: 'string' },
  user: { type: 'string' },
  pass: { type: 'string' },
  token: { type: 'string' },
} as const;

/** NATS URLs (flag or AOTP_NATS) and credentials (flags or AOTP_NATS_USER/PASS/TOKEN). */
function busOf(values: { nats?: string; user?: string; pass?: string; token?: string }) {
  const servers = (values.nats ?? process.env.AOTP_NATS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const user = values.user ?? process.env.AOTP_NATS_USER;
  const pass = values.pass ?? process.env.AOTP_NATS_PASS;
  const token = values.token ?? process.env.AOTP_NATS_TOKEN;
  const auth = { ...(user ? { user } : {}), ...(pass ? { pass } : {}), ...(token ? { token } : {}) };
  return { servers, auth };
}

const USAGE = `usage: aotp start [--config FILE.json] [--port N] [--data-dir DIR] [--node-name NAME] [--nats URL[,URL]] [--log-level LEVEL] [--su-wallet FILE] [--su-wallet-kind ed25519|rsa]
       aotp status --nats URL[,URL] [--cluster NAME] [--json] [--user U --pass P | --token T]
       aotp verify --nats URL[,URL] [--cluster NAME] [--data-dir DIR]... [--json]
       aotp drain --nats URL[,URL] --node NAME [--cluster NAME] [--undo] [--timeout-ms N]
       aotp reload --config FILE.json --nats URL[,URL] [--cluster NAME] [--node NAME]   (a node on the embedded bus: kill -HUP <pid>)
       aotp chaos --nats URL[,URL] [--seed N] [--duration-ms N] [--kill-rate R] [--kill-pattern RE] [--pause-rate R] [--pause-ms N]`;

async function chaosCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BUS_OPTIONS,
      seed: { type: 'string' },
      'duration-ms': { type: 'string' },
      'kill-rate': { type: 'string' },
      'kill-pattern': { type: 'string' },
      'pause-rate': { type: 'string' },
      'pause-ms': { type: 'string' },
    },
    strict: true,
  });
  const { servers, auth } = busOf(values);
  if (servers.length === 0) {
    console.error('aotp chaos: --nats URL[,URL] (or AOTP_NATS) is required');
    return 2;
  }
  const num = (v: string | undefined, d: number, what: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${what} must be a non-negative number, got '${v}'`);
    return n;
  };
  const seed = num(values.seed, Math.floor(Math.random() * 2 ** 31), 'seed');
  console.log(`chaos run, seed ${seed}`);
  const report = await runChaos(
    {
      servers,
      ...(values.cluster ? { cluster: values.cluster } : {}),
      seed,
      durationMs: num(values['duration-ms'], 60_000, 'duration-ms'),
      killRate: num(values['kill-rate'], 1, 'kill-rate'),
      ...(values['kill-pattern'] ? { killPattern: values['kill-pattern'] } : {}),
      pauseRate: num(values['pause-rate'], 0.1, 'pause-rate'),
      pauseMs: num(values['pause-ms'], 2000, 'pause-ms'),
      auth,
    },
    (a) => console.log(`${String(a.at).padStart(6)} ms  ${a.node}  ${a.kind}  ${a.detail}`),
  );
  const v = report.verdict!;
  console.log(`${report.actions.length} action(s); verdict: ${v.processes} process log(s), ${v.violations} violation(s)`);
  return v.violations === 0 ? 0 : 1;
}

async function drainCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BUS_OPTIONS,
      node: { type: 'string' },
      undo: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
    strict: true,
  });
  const { servers, auth } = busOf(values);
  if (servers.length === 0 || !values.node) {
    console.error('aotp drain: --nats URL[,URL] and --node NAME are required');
    return 2;
  }
  const r = await drain({
    servers,
    node: values.node,
    ...(values.cluster ? { cluster: values.cluster } : {}),
    undo: values.undo === true,
    ...(values['timeout-ms'] ? { timeoutMs: Number(values['timeout-ms']) } : {}),
    auth,
  });
  console.log(r.draining ? `${r.node} drained in ${r.ms} ms; ${r.remaining} process log(s) still written there` : `${r.node} is a member again`);
  return r.remaining === 0 ? 0 : 1;
}

/** Applies the supervision policy of a config file to running nodes, live (cli/reload.ts). */
async function reloadCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...BUS_OPTIONS, config: { type: 'string' }, node: { type: 'string' } }, strict: true });
  const { servers, auth } = busOf(values);
  if (!values.config || servers.length === 0) {
    console.error('aotp reload: --config FILE and --nats URL[,URL] (or AOTP_NATS) are required; a node on the embedded bus reloads its --config file on SIGHUP');
    return 2;
  }
  const policy = policyFromConfig(readConfigFile(values.config));
  const results = await reloadCluster({ servers, policy, auth, ...(values.cluster ? { cluster: values.cluster } : {}), ...(values.node ? { node: values.node } : {}) });
  console.log(formatReload(results));
  return results.length > 0 && results.every((r) => 'ok' in r) ? 0 : 1;
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BUS_OPTIONS,
      'data-dir': { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const { servers, auth } = busOf(values);
  if (servers.length === 0) {
    console.error('aotp verify: --nats URL[,URL] (or AOTP_NATS) is required');
    return 2;
  }
  const v = await verifyCluster({ servers, ...(values.cluster ? { cluster: values.cluster } : {}), dataDirs: values['data-dir'] ?? [], auth });
  console.log(values.json ? JSON.stringify(v, null, 2) : formatVerdict(v));
  return v.violations === 0 ? 0 : 1;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BUS_OPTIONS,
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const { servers, auth } = busOf(values);
  if (servers.length === 0) {
    console.error('aotp status: --nats URL[,URL] (or AOTP_NATS) is required');
    return 2;
  }
  const s = await clusterStatus({ servers, ...(values.cluster ? { cluster: values.cluster } : {}), auth });
  console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
  return 0;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`the config file ${path} is not a JSON object: ${(e as Error).message}`);
  }
}

async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'node-name': { type: 'string' },
      nats: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      'su-wallet': { type: 'string' },
      'su-wallet-kind': { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  });
  // A JSON file holds any settings (the whole schema in config/schema.ts); flags override it.
  const overrides: Record<string, unknown> = values.config ? readConfigFile(values.config) : {};
  if (values.port !== undefined) overrides.port = Number(values.port);
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  if (values['node-name'] !== undefined) overrides.nodeName = values['node-name'];
  if (values.host !== undefined) overrides.host = values.host;
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'];
  if (values.nats !== undefined) overrides.nats = { ...(overrides.nats as object | undefined), servers: values.nats.split(',') };
  const su: Record<string, unknown> = { ...(overrides.su as object | undefined) };
  if (values['su-wallet'] !== undefined) su.wallet = values['su-wallet'];
  if (values['su-wallet-kind'] !== undefined) su.walletKind = values['su-wallet-kind'];
  if (Object.keys(su).length > 0) overrides.su = su;
  const config = loadConfig(overrides);
  const running = await startNode(config);
  // SIGHUP: the config file is read again and its supervision policy applied live.
  const onHup = () => void reloadOnSignal(running, () => readConfigFile(values.config ?? ''));
  if (values.config) process.on('SIGHUP', onHup);
  running.log.info({ url: running.url, node: config.nodeName, bus: config.nats ? 'nats' : 'local', dataDir: config.dataDir }, `aotp node listening on ${running.url}`);
  const u = running.url;
  running.log.info(
    { MU_URL: `${u}/mu`, CU_URL: `${u}/cu`, GRAPHQL_URL: `${u}/graphql`, scheduler: running.su.address, authority: running.mu.address, modules: running.cu.modules.bundled() },
    `for aoconnect: MU_URL=${u}/mu CU_URL=${u}/cu GRAPHQL_URL=${u}/graphql; spawn with scheduler ${running.su.address} and an Authority tag of ${running.mu.address} (the MU, which signs pushed messages)`,
  );
  const ended = await new Promise<'signal' | 'root'>((resolve) => {
    const onSignal = (sig: string) => {
      running.log.info({ signal: sig }, 'shutting down');
      resolve('signal');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void running.exited.then((reason) => {
      running.log.fatal({ reason: formatReason(reason) }, 'the root supervisor exited (a subtree gave up past its restart budget); the node stops');
      resolve('root');
    }, () => undefined);
  });
  process.off('SIGHUP', onHup);
  await running.stop();
  running.log.info('stopped');
  return ended === 'root' ? 1 : 0;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    switch (cmd) {
      case 'start':
        return await start(rest);
      case 'status':
        return await status(rest);
      case 'verify':
        return await verifyCommand(rest);
      case 'drain':
        return await drainCommand(rest);
      case 'reload':
        return await reloadCommand(rest);
      case 'chaos':
        return await chaosCommand(rest);
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`aotp: ${(e as Error).message}`);
      return 2;
    }
    console.error(`aotp: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = await main();
