/**
 * What the CU benchmarks run on: an SU and a CU on one LMDB in a temp dir, under their real
 * subtrees on a node of their own, with an SU client to schedule through.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, Node, supervisorSpec } from '../../runtime/index.js';
import { Store } from '../../runtime/store.js';
import { cuTree } from '../../supervisors/cu.js';
import { SEQUENCERS, suTree } from '../../supervisors/su.js';
import { createDataItem, type Tag, type Wallet } from '../../units/ans104/index.js';
import { createCu, type Cu, type CuApi, type CuConfig } from '../../units/cu/index.js';
import type { ScheduleReader } from '../../units/schedule.js';
import { createSu, SuClient, type Su } from '../../units/su/index.js';

export interface CuEnv {
  su: Su;
  cu: Cu;
  node: Node;
  api: CuApi;
  client: SuClient;
  stop(): Promise<void>;
}

export interface CuEnvOptions {
  name: string;
  wallet: Wallet;
  config?: Partial<CuConfig>;
  /** Where the CU reads logs (another env's SU, say); default this env's SU. */
  reader?: ScheduleReader;
  /** The bundled modules to register (default all). */
  bundledModules?: readonly string[];
}

export async function startCuEnv(o: CuEnvOptions): Promise<CuEnv> {
  const dir = mkdtempSync(join(tmpdir(), `aotp-${o.name}-`));
  const store = Store.open(join(dir, 'lmdb'));
  const su = createSu({ wallet: o.wallet, store, signers: 0, idleMs: 0, maxRun: 512 });
  const cu = await createCu({ store, wallet: o.wallet, reader: o.reader ?? su.reader, config: o.config ?? {}, ...(o.bundledModules ? { bundledModules: o.bundledModules } : {}) });
  const node = await Node.start({ name: o.name, callTimeout: 600_000, logger: createLogger({ level: 'silent' }) });
  await node.spawn(
    supervisorSpec({
      strategy: 'one_for_one',
      children: [
        suTree(su.sequencers, { intensity: 100, period: 5, shutdownMs: 5000 }),
        cuTree(cu.runtime, { names: node, intensity: 100, period: 5, shutdownMs: 60_000 }),
      ],
    }),
  );
  return {
    su,
    cu,
    node,
    api: cu.api(node),
    client: new SuClient(node, node, { supervisor: SEQUENCERS, timeout: 120_000 }),
    async stop() {
      await node.stop(60_000);
      await cu.close();
      await su.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An ao message or process item signed by `user` (the tags after ao's two). */
export function aoItem(user: Wallet, data: string, tags: Tag[], target?: string) {
  return createDataItem({ data, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Variant', value: 'ao.TN.1' }, ...tags], ...(target ? { target } : {}) }, user);
}
