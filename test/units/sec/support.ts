/**
 * A node with a real SU (its hosting predicate reading the origin's view), a real CU, the
 * AO-Sec origin under its supervisor, and the SU's and the origin's routes on a fastify app
 * (inject, no socket). A second node (another SU wallet, its own LMDB) can be attached to the
 * first one's origin, for re-hosting. Satisfies the CU harness's shape, so its helpers
 * (spawnAos, send, run, resultOf) work on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Node, supervisorSpec, terminateChild, restartChild, type ChildSpec } from '../../../runtime/index.js';
import { Store } from '../../../runtime/store.js';
import { cuTree } from '../../../supervisors/cu.js';
import { secTree } from '../../../supervisors/sec.js';
import { SEQUENCERS, suTree } from '../../../supervisors/su.js';
import { generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { createCu, type Cu, type CuApi } from '../../../units/cu/index.js';
import { createSec, localScheduler, ORIGIN, recomputeWith, type Sec, type SecConfig, type SecView } from '../../../units/sec/index.js';
import { createSu, SuClient, type Su } from '../../../units/su/index.js';

let userWallet: Promise<Wallet> | undefined;
export const user = () => (userWallet ??= generateWallet('ed25519'));

export interface SecHarness {
  dir: string;
  node: Node;
  store: Store;
  su: Su;
  cu: Cu;
  api: CuApi;
  client: SuClient;
  user: Wallet;
  /** The SU's wallet. */
  wallet: Wallet;
  /** The origin (on the first node; a second node shares the first one's). */
  sec: Sec;
  app: FastifyInstance;
  /** Resolves with the first view of `processId` that `pred` accepts (the latest one first). */
  until(processId: string, pred: (v: SecView) => boolean): Promise<SecView>;
  views: SecView[];
  stopSu(): Promise<void>;
  startSu(): Promise<void>;
  stop(): Promise<void>;
}

export interface SecHarnessOptions {
  config?: Partial<SecConfig>;
  /** Attach to this harness's origin instead of running one (a second SU for re-hosting). */
  originOf?: SecHarness;
  name?: string;
  url?: string;
  /** The origin's clock (unix ms): stake-exclusivity periods pass without sleeping. */
  now?: () => number;
  /** Reuse this directory's LMDB (a restarted node); it is kept on stop. */
  dir?: string;
  /** The SU's (and CU's) wallet; default a new Ed25519 one. */
  wallet?: Wallet;
}

export async function startSec(o: SecHarnessOptions = {}): Promise<SecHarness> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'aotp-sec-'));
  const store = Store.open(join(dir, 'lmdb'));
  const wallet = o.wallet ?? (await generateWallet('ed25519'));
  const views: SecView[] = [];
  const waiters = new Set<{ processId: string; pred: (v: SecView) => boolean; resolve: (v: SecView) => void }>();
  const observe = (v: SecView) => {
    views.push(v);
    for (const w of waiters) if (w.processId === v.processId && w.pred(v)) (waiters.delete(w), w.resolve(v));
  };
  const sec = o.originOf?.sec ?? createSec({ store, config: { retryMs: 50, ...o.config }, observe, ...(o.now ? { now: o.now } : {}) });
  const su = createSu({ wallet, store, signers: 0, idleMs: 0, maxRun: 512, hosting: sec.hosting(wallet.address) });
  const cu = await createCu({ store, wallet, reader: su.reader, config: { spareEvaluators: 1 } });
  const node = await Node.start({ name: o.name ?? 'sec-test', encodeLocal: true, callTimeout: 60_000 });
  const api = cu.api(node);
  const client = new SuClient(node, node, { supervisor: SEQUENCERS, timeout: 30_000 });
  sec.schedulers.add(localScheduler(su, client, o.url));
  const children: ChildSpec[] = [
    suTree(su.sequencers, { intensity: 1000, period: 5, shutdownMs: 5000 }),
    cuTree(cu.runtime, { names: node, intensity: cu.runtime.config.restartIntensity, period: 5, shutdownMs: 20_000 }),
  ];
  if (!o.originOf) children.push(secTree(sec.originArgs((pid, m) => api.dryRun(pid, m), recomputeWith(api, 30_000)), { intensity: 5, period: 5, shutdownMs: 5000 }));
  const root = await node.spawn(supervisorSpec({ strategy: 'one_for_one', intensity: 5, period: 5, children }), { name: 'root' });
  if (!('ok' in root)) throw new Error(`tree did not start: ${JSON.stringify(root)}`);
  const app = Fastify();
  await app.register(su.routes(client), { prefix: '/su' });
  if (!o.originOf) await app.register(sec.routes(node), { prefix: '/sec' });
  await app.ready();
  const u = await user();
  let stopped = false;
  const h: SecHarness = {
    dir,
    node,
    store,
    su,
    cu,
    api,
    client,
    user: u,
    wallet,
    sec,
    app,
    views,
    until(processId, pred) {
      const seen = [...views].reverse().find((v) => v.processId === processId);
      if (seen && pred(seen)) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.add({ processId, pred, resolve }));
    },
    async stopSu() {
      const r = await terminateChild(node, 'root', 'su');
      if (!('ok' in r)) throw new Error(`su did not stop: ${JSON.stringify(r)}`);
    },
    async startSu() {
      const r = await restartChild(node, 'root', 'su');
      if (!('ok' in r)) throw new Error(`su did not restart: ${JSON.stringify(r)}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
      await node.stop(30_000);
      await cu.close();
      await su.close();
      await store.close();
      if (!o.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export { ORIGIN };

/** POSTs raw bytes to a route of the harness's app. */
export async function post(h: SecHarness, url: string, raw: Uint8Array) {
  const r = await h.app.inject({ method: 'POST', url, payload: Buffer.from(raw), headers: { 'content-type': 'application/octet-stream' } });
  return { status: r.statusCode, body: r.json() as Record<string, any> };
}

export async function get(h: SecHarness, url: string) {
  const r = await h.app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json() as Record<string, any> };
}
