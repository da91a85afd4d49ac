/**
 * The `aotp` command: dispatches to a command, answers `--help` (also per command) and
 * `version`, and turns errors into exit codes — 2 for what the operator must fix (a bad
 * setting, a refused start, a bad flag), 1 for anything else, always as one line.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { formatReason } from '../runtime/reason.js';
import { StartError } from './start-error.js';

const COMMANDS: Record<string, { usage: string; what: string }> = {
  init: {
    usage: 'aotp init --dir DIR --nodes NAME[,NAME]... [--nats URL[,URL]] [--cluster NAME] [--port FIRST] [--host H] [--wallet-kind ed25519|rsa] [--chaos]',
    what: "writes a cluster's shared wallets (DIR/wallets/) and a config per node (DIR/NAME.json); overwrites nothing",
  },
  start: {
    usage:
      'aotp start [--config FILE.json] [--port N] [--host H] [--data-dir DIR] [--node-name NAME] [--nats URL[,URL]] [--log-level LEVEL] [--log-format json|pretty] [--su-wallet FILE] [--su-wallet-kind ed25519|rsa]',
    what: 'runs a node (MU, SU, CU) until SIGINT/SIGTERM, which drain it first; without --nats, on the in-process bus',
  },
  status: {
    usage: 'aotp status --nats URL[,URL] [--cluster NAME] [--tree] [--json] [--user U --pass P | --token T]',
    what: "lists the cluster's members and what each runs; --tree: each member's supervision tree, AO processes and recent crashes",
  },
  verify: {
    usage: 'aotp verify --nats URL[,URL] [--cluster NAME] [--data-dir DIR]... [--json]',
    what: 'checks every process log in the replicated stream (and stopped nodes\' LMDB); exit 1 on a violation or when there is no log',
  },
  drain: {
    usage: 'aotp drain --nats URL[,URL] --node NAME [--cluster NAME] [--undo] [--timeout-ms N]',
    what: "takes a node out of placement: its process logs move to the others; --undo makes it a member again",
  },
  reload: {
    usage: 'aotp reload --config FILE.json --nats URL[,URL] [--cluster NAME] [--node NAME]',
    what: "applies the supervision policy of a config file (shutdownMs, each unit's restart budget) to every member, or one node, live; a node on the in-process bus: kill -HUP <pid>",
  },
  chaos: {
    usage: 'aotp chaos --nats URL[,URL] [--seed N] [--duration-ms N] [--kill-rate R] [--kill-pattern RE] [--pause-rate R] [--pause-ms N]',
    what: 'kills actors and cuts nodes off the bus at random (nodes need "chaos": true), checks each fault happened, then verifies; exit 1 when a fault could not be applied',
  },
  sim: {
    usage:
      'aotp sim [--seed S | --seeds N [--from S] [--jobs J]] [--nodes N] [--processes P] [--messages M] [--faults kill,crash,partition,stall,slow-disk,disk-error,clock|all|none] [--fault-count N] [--duration MS] [--cron|--no-cron] [--kill-on-activity P] [--loss P] [--ops ping,count,assign-me,mu-assign,spawn-child,again,read] [--mutate MECHANISM] [--json] [--verbose]',
    what: 'deterministic simulation: whole nodes on a seeded clock, bus and disk, with faults; checks the invariants, replays any seed exactly; exit 1 on a violation',
  },
  version: { usage: 'aotp version', what: 'prints the version' },
};

const HELP = `aotp — an AO node (MU, SU, CU) on an OTP-style actor runtime

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.what}`)
  .join('\n')}

aotp COMMAND --help for its flags. Environment: AOTP_PORT, AOTP_HOST, AOTP_DATA_DIR, AOTP_NODE_NAME, AOTP_NATS,
AOTP_LOG_LEVEL, AOTP_LOG_FORMAT, AOTP_SU_WALLET, AOTP_SU_WALLET_KIND, AOTP_NATS_USER / AOTP_NATS_PASS / AOTP_NATS_TOKEN.`;

/** The package's version: its package.json is one folder up from cli/ (two from dist/cli/). */
function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'aotp') return `aotp ${pkg.version} (node ${process.version})`;
    } catch {
      // not there: one more folder up
    }
  }
  return 'aotp (version unknown)';
}

async function run(cmd: string | undefined, rest: string[]): Promise<number> {
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'version' || cmd === '--version' || cmd === '-v') {
    console.log(version());
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    console.error(`aotp: unknown command '${cmd}'\n\n${HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${c.usage}\n\n${c.what}`);
    return 0;
  }
  const commands = await import('./commands.js');
  switch (cmd) {
    case 'init':
      return commands.initCommand(rest);
    case 'start':
      return commands.startCommand(rest);
    case 'status':
      return commands.statusCommand(rest);
    case 'verify':
      return commands.verifyCommand(rest);
    case 'drain':
      return commands.drainCommand(rest);
    case 'sim':
      return commands.simCommand(rest);
    case 'reload':
      return commands.reloadCommand(rest);
    default:
      return commands.chaosCommand(rest);
  }
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    return await run(cmd, rest);
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    if (e instanceof ConfigError || e instanceof StartError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`aotp: ${(e as Error).message}`);
      return 2;
    }
    // Anything else is unexpected: one line, and the stack only when asked for.
    console.error(`aotp: ${e instanceof Error ? e.message : formatReason(e)}`);
    if (process.env.AOTP_DEBUG) console.error(e instanceof Error ? e.stack : e);
    return 1;
  }
}

process.exitCode = await main();
