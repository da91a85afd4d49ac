/**
 * The Scheduler Unit, assembled: its store in the node's LMDB environment, its signer (inline
 * or a pool of signing threads), the reader, the client the routes call, and the routes.
 * The sequencers' supervisor is in supervisors/su.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ActorContext, Caller, StartResult } from '../../runtime/index.js';
import type { Store } from '../../runtime/store.js';
import type { SignPool } from '../ans104/sign-pool.js';
import type { Wallet } from '../ans104/wallet.js';
import { AssignmentSigner, assignmentSignPool } from './assignment.js';
import { sequencerName, SuClient, type NameRegistry, type Placement } from './client.js';
import { SuReader } from './reader.js';
import type { SuReads } from './reads.js';
import type { SuReplica } from './replica.js';
import { suRoutes, type SuPublished } from './routes.js';
import { sequencer, type SuRuntime } from './sequencer.js';
import { logReader, type SuLogReader } from './log-reader.js';
import { SuStore } from './store.js';

export interface SuOptions {
  wallet: Wallet;
  store: Store;
  /** Signing worker threads; 0 signs inline on the event loop. */
  signers: number;
  /** A sequencer stops after this many idle ms (0: never). */
  idleMs: number;
  /** Most slots a sequencer signs and commits as one run. */
  maxRun: number;
  /** Block height for assignments. Default 0: this SU follows no Arweave network. */
  blockHeight?: () => number;
  /** Wall clock, unix ms. */
  now?: () => number;
  /** A refusal reason when a process may no longer be scheduled here (see SuRuntime.hosting). */
  hosting?: (processId: string, spawn?: Uint8Array) => string | undefined;
  /** In a cluster: the replicated log that keeps one writer per process. */
  replica?: SuReplica;
  /** Item bytes one page of a log holds at most (default DEFAULT_PAGE_BYTES). */
  pageBytes?: number;
  /** In a cluster: a message's bytes from the log that holds it (see SuRuntime.fetchItem). */
  fetchItem?: (id: string) => Promise<Uint8Array | undefined>;
}

/**
 * The SU's sequencers, as its subtree (supervisors/su.ts) starts them: what a sequencer runs
 * with (the writable store, the signer) stays inside the SU.
 */
export interface SuSequencers {
  /** Starts `processId`'s sequencer, linked to `ctx`, under its name (`su/<processId>`). */
  start(ctx: ActorContext, processId: string): Promise<StartResult>;
}

export interface Su {
  address: string;
  sequencers: SuSequencers;
  /** The log, read-only: what every reader outside the SU reads (the store itself stays inside). */
  log: SuLogReader;
  reader: SuReader;
  pool: SignPool | undefined;
  /** The routes, for an HTTP listener to mount (under `/su`); `reads` routes reads in a cluster. */
  routes(client: SuClient, reads?: SuReads, published?: SuPublished): FastifyPluginAsync;
  /**
   * Indexes the processes of a log written before the process index existed (once: later
   * starts find it built); the running node calls it before it serves.
   */
  indexProcesses(): Promise<void>;
  /** Stops the signing threads (after the sequencers have stopped). */
  close(): Promise<void>;
}

export function createSu(o: SuOptions): Su {
  return assembleSu(o).su;
}

/**
 * The SU and what its sequencers run with. Only the SU's own tests ask for the runtime (to
 * inject faults into its signer, to wait for its store's commits); a node has the Su alone.
 */
export function assembleSu(o: SuOptions): { su: Su; runtime: SuRuntime } {
  const store = new SuStore(o.store);
  const pool = o.signers > 0 ? assignmentSignPool(o.wallet, o.signers) : undefined;
  const blockHeight = o.blockHeight ?? (() => 0);
  const now = o.now ?? Date.now;
  const runtime: SuRuntime = {
    store,
    signer: new AssignmentSigner(o.wallet, pool),
    blockHeight,
    now,
    idleMs: o.idleMs,
    maxRun: o.maxRun,
    ...(o.hosting ? { hosting: o.hosting } : {}),
    ...(o.replica ? { replica: o.replica } : {}),
    ...(o.fetchItem ? { fetchItem: o.fetchItem } : {}),
  };
  const log = logReader(store);
  const reader = new SuReader(log);
  const su: Su = {
    address: o.wallet.address,
    sequencers: { start: (ctx, processId) => ctx.spawnLink({ behaviour: sequencer, args: { processId, su: runtime } }, { name: sequencerName(processId) }) },
    log,
    reader,
    pool,
    indexProcesses: () => store.indexProcesses(),
    routes: (client, reads, published) =>
      suRoutes({ client, reader, address: o.wallet.address, blockHeight, now, clustered: o.replica !== undefined, ...(reads ? { reads } : {}), ...(o.pageBytes ? { pageBytes: o.pageBytes } : {}), ...(published ? { published } : {}) }),
    close: async () => {
      await pool?.close();
    },
  };
  return { su, runtime };
}

export function suClient(caller: Caller, names: NameRegistry, supervisor: string, timeout: number, placement?: Placement): SuClient {
  return new SuClient(caller, names, { supervisor, timeout, ...(placement ? { placement } : {}) });
}

export { SuClient, SchedulerUnavailable, sequencerName, type Placement } from './client.js';
export { localReads, SU_READS, type SuReads } from './reads.js';
export type { SuPublished } from './routes.js';
export { LogDiverged, NotOwner, type ReplicaWriter, type SuReplica } from './replica.js';
export { DEFAULT_PAGE_BYTES, SuReader, entryBytes, type SuEntry, type Page, type PageQuery } from './reader.js';
export { readSuLog, type CommittedRun, type SuLogReader } from './log-reader.js';
export type { ProcessRecord, SlotRecord } from './store.js';
export type { ScheduleReply, Scheduled, SequencerRequest, SuRuntime } from './sequencer.js';
