/**
 * The commands' argument handling. Each imports what it runs only when it runs, so that no
 * command pays for another's modules (LMDB, WASM loader, NATS) and `--help` pays for none.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { formatReason } from '../runtime/reason.js';

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



export async function chaosCommand(argv: string[]): Promise<number> {
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
  const { chaosVerdict, runChaos } = await import('./chaos.js');
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
    (a) => console.log(`${String(a.at).padStart(6)} ms  ${a.node}  ${a.kind}  ${a.outcome}  ${a.detail}`),
  );
  const { ok, lines } = chaosVerdict(report);
  for (const l of lines) (ok ? console.log : console.error)(l);
  return ok ? 0 : 1;
}

export async function drainCommand(argv: string[]): Promise<number> {
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
  const { drain } = await import('./drain.js');
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
export async function reloadCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...BUS_OPTIONS, config: { type: 'string' }, node: { type: 'string' } }, strict: true });
  const { servers, auth } = busOf(values);
  if (!values.config || servers.length === 0) {
    console.error('aotp reload: --config FILE and --nats URL[,URL] (or AOTP_NATS) are required; a node on the in-process bus reads its --config file again on SIGHUP');
    return 2;
  }
  const { formatReload, policyFromConfig, reloadCluster } = await import('./reload.js');
  const policy = policyFromConfig(readConfigFile(values.config));
  const results = await reloadCluster({ servers, policy, auth, ...(values.cluster ? { cluster: values.cluster } : {}), ...(values.node ? { node: values.node } : {}) });
  console.log(formatReload(results));
  return results.length > 0 && results.every((r) => 'ok' in r) ? 0 : 1;
}

export async function verifyCommand(argv: string[]): Promise<number> {
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
  const { formatVerdict, nothingChecked, verifyCluster } = await import('./verify.js');
  const v = await verifyCluster({ servers, ...(values.cluster ? { cluster: values.cluster } : {}), dataDirs: values['data-dir'] ?? [], auth });
  const empty = nothingChecked(v);
  if (values.json) console.log(JSON.stringify(v, null, 2));
  else if (!empty) console.log(formatVerdict(v));
  if (empty) console.error(`aotp verify: ${empty}`);
  return v.violations === 0 && !empty ? 0 : 1;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BUS_OPTIONS,
      json: { type: 'boolean' },
      tree: { type: 'boolean' },
    },
    strict: true,
  });
  const { servers, auth } = busOf(values);
  if (servers.length === 0) {
    console.error('aotp status: --nats URL[,URL] (or AOTP_NATS) is required');
    return 2;
  }
  const { clusterStatus, clusterTree, formatStatus, formatTree } = await import('./status.js');
  if (values.tree) {
    const v = await clusterTree({ servers, ...(values.cluster ? { cluster: values.cluster } : {}), auth });
    console.log(values.json ? JSON.stringify(v, null, 2) : formatTree(v));
    return v.nodes.length > 0 ? 0 : 1;
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

export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'node-name': { type: 'string' },
      nats: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
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
  if (values['log-format'] !== undefined) overrides.logFormat = values['log-format'];
  if (values.nats !== undefined) overrides.nats = { ...(overrides.nats as object | undefined), servers: values.nats.split(',') };
  const su: Record<string, unknown> = { ...(overrides.su as object | undefined) };
  if (values['su-wallet'] !== undefined) su.wallet = values['su-wallet'];
  if (values['su-wallet-kind'] !== undefined) su.walletKind = values['su-wallet-kind'];
  if (Object.keys(su).length > 0) overrides.su = su;
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig(overrides);
  const [{ startNode }, { lameDuck }] = await Promise.all([import('./start.js'), import('./lame-duck.js')]);
  const running = await startNode(config);
  // SIGHUP: the config file is read again and its supervision policy applied live.
  const onHup = () => void import('./reload.js').then(({ reloadOnSignal }) => reloadOnSignal(running, () => readConfigFile(values.config ?? '')));
  if (values.config) process.on('SIGHUP', onHup);
  running.log.info({ url: running.url, node: config.nodeName, bus: config.nats ? 'nats' : 'local', dataDir: config.dataDir }, `aotp node listening on ${running.url}`);
  const u = running.url;
  running.log.info(
    { MU_URL: `${u}/mu`, CU_URL: `${u}/cu`, GRAPHQL_URL: `${u}/graphql`, scheduler: running.su.address, authority: running.mu.address, modules: running.cu.modules.bundled() },
    `for aoconnect: MU_URL=${u}/mu CU_URL=${u}/cu GRAPHQL_URL=${u}/graphql; spawn with scheduler ${running.su.address} and an Authority tag of ${running.mu.address} (the MU, which signs pushed messages)`,
  );
  // The first signal drains (lame duck), a second one cuts the drain short.
  const second = new AbortController();
  let stopping = false;
  const ended = await new Promise<'signal' | 'root'>((resolve) => {
    const onSignal = (sig: string) => {
      stopping = true;
      running.log.info({ signal: sig }, 'shutting down');
      process.once('SIGINT', () => second.abort());
      process.once('SIGTERM', () => second.abort());
      resolve('signal');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    void running.exited.then((reason) => {
      // The root stopping because the node stops is no failure.
      if (stopping) return;
      running.log.fatal({ reason: formatReason(reason) }, 'the root supervisor exited (a subtree gave up past its restart budget); the node stops');
      resolve('root');
    }, () => undefined);
  });
  const code = ended === 'root' ? 1 : 0;
  // A stop is bounded: past drainMs + 2 × shutdownMs (and a margin for closing the stores) the
  // process exits 1, saying where it was. The timer is referenced, so the process also
  // lives until the stop has really finished (a close that waits on an unreferenced thread or
  // handle must not let the event loop run dry first).
  let stage = ended === 'signal' ? 'draining' : 'stopping the tree';
  const limitMs = (ended === 'signal' ? config.drainMs : 0) + 2 * config.shutdownMs + STOP_MARGIN_MS;
  const deadline = setTimeout(() => {
    running.log.error({ stage, limitMs }, `the stop did not finish within ${limitMs} ms (still ${stage}): exiting`);
    process.exit(1);
  }, limitMs);
  // A node whose tree is gone has nothing left to hand over.
  if (ended === 'signal') await lameDuck(running, { drainMs: config.drainMs, log: running.log, abort: second.signal });
  process.off('SIGHUP', onHup);
  stage = 'stopping the tree and closing the stores';
  await running.stop();
  clearTimeout(deadline);
  running.log.info('stopped');
  // Whatever timer or socket is still open (a routed call's timeout, a NATS reconnect) must not keep a stopped node alive.
  setTimeout(() => process.exit(code), 500).unref();
  return code;
}

/** What a stop may take beyond drainMs + 2 × shutdownMs: closing the evaluators, signers and LMDB. */
const STOP_MARGIN_MS = 10_000;

export async function initCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      nodes: { type: 'string' },
      nats: { type: 'string' },
      cluster: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'wallet-kind': { type: 'string' },
      chaos: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.dir || !values.nodes) {
    console.error('aotp init: --dir DIR and --nodes NAME[,NAME] are required');
    return 2;
  }
  const kind = values['wallet-kind'] ?? 'ed25519';
  if (kind !== 'ed25519' && kind !== 'rsa') throw new ConfigError(`--wallet-kind must be ed25519 or rsa, got '${kind}'`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new ConfigError(`--port must be a port number, got '${values.port}'`);
  const { init } = await import('./init.js');
  const r = await init({
    dir: values.dir,
    nodes: values.nodes.split(',').map((s) => s.trim()).filter(Boolean),
    nats: (values.nats ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    ...(values.cluster ? { cluster: values.cluster } : {}),
    ...(values.host ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    walletKind: kind,
    chaos: values.chaos === true,
  });
  console.log(`wallets (shared by every node): ${Object.values(r.wallets).join(', ')}`);
  console.log(`addresses: SU ${r.addresses.su}, MU ${r.addresses.mu}, CU ${r.addresses.cu}`);
  console.log('start each node with:');
  for (const c of r.configs) console.log(`  aotp start --config ${c}`);
  return 0;
}


export async function simCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      from: { type: 'string' },
      jobs: { type: 'string' },
      nodes: { type: 'string' },
      processes: { type: 'string' },
      messages: { type: 'string' },
      faults: { type: 'string' },
      'fault-count': { type: 'string' },
      duration: { type: 'string' },
      cron: { type: 'boolean' },
      'no-cron': { type: 'boolean' },
      'kill-on-activity': { type: 'string' },
      loss: { type: 'string' },
      ops: { type: 'string' },
      mutate: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    strict: true,
  });
  const int = (v: string | undefined, what: string, min = 0): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${what} must be an integer of at least ${min}, got '${v}'`);
    return n;
  };
  const fraction = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new ConfigError(`--${what} must be a number from 0 to 1, got '${v}'`);
    return n;
  };
  if (values.seed !== undefined && values.seeds !== undefined && values.mutate === undefined) throw new ConfigError('give --seed (one run) or --seeds N (N runs from --from), not both');
  const { runSim, parseFaults, parseMechanism, parseOps, defaultJobs } = await import('./sim.js');
  const options = {
    ...(values.nodes !== undefined ? { nodes: int(values.nodes, 'nodes', 1)! } : {}),
    ...(values.processes !== undefined ? { processes: int(values.processes, 'processes', 1)! } : {}),
    ...(values.messages !== undefined ? { messages: int(values.messages, 'messages')! } : {}),
    ...(values.faults !== undefined ? { faults: parseFaults(values.faults) } : {}),
    ...(values['fault-count'] !== undefined ? { faultCount: int(values['fault-count'], 'fault-count')! } : {}),
    ...(values.duration !== undefined ? { durationMs: int(values.duration, 'duration', 1000)! } : {}),
    ...(values.cron ? { cron: true } : values['no-cron'] ? { cron: false } : {}),
    ...(values['kill-on-activity'] !== undefined ? { killOnActivity: fraction(values['kill-on-activity'], 'kill-on-activity')! } : {}),
    ...(values.loss !== undefined ? { loss: fraction(values.loss, 'loss')! } : {}),
    ...(values.ops !== undefined ? { ops: parseOps(values.ops) } : {}),
  };
  const seed = int(values.seed, 'seed');
  const seeds = int(values.seeds, 'seeds', 1);
  const from = int(values.from, 'from');
  const jobs = values.jobs === undefined ? (seeds !== undefined ? defaultJobs() : 1) : int(values.jobs, 'jobs', 1)!;
  return runSim({
    ...(seed !== undefined ? { seed } : {}),
    ...(seeds !== undefined ? { seeds } : {}),
    ...(from !== undefined ? { from } : {}),
    jobs,
    options,
    ...(values.mutate !== undefined ? { mutate: parseMechanism(values.mutate) } : {}),
    json: values.json === true,
    verbose: values.verbose === true,
  });
}
