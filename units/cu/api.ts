/**
 * What the CU's HTTP routes (and other units on this node) ask of it. Calls go to the process
 * actors through the manager; a call that finds its actor gone (evicted, or crashed and being
 * restarted) is made again.
 */
import { CallError, typedName, type Caller, type Pid, type ReplyTo } from '../../runtime/index.js';
import { timeoutSignal } from '../../runtime/clock.js';
import { isTxId } from '../su/validate.js';
import type { CuRuntime, Position } from './engine.js';
import { CU_MANAGER, type ManagerProtocol } from './manager.js';
import { dryRunMessage, type EvalOutput } from './message.js';
import type { ProcessProtocol, ProcessReply, ProcessRequest, ProcessStatus } from './process.js';
import { resultsPage, type ResultsPage } from './results.js';
import { resultHash, type AttestationFields } from './attestation.js';
import { InvalidCheckpoint, readCheckpoint } from './checkpoint-item.js';
import type { CheckpointRecord } from './store.js';

/** What a process actor answers `Q` with when it succeeds. */
type Answer<Q> = Extract<ReplyTo<ProcessProtocol, Q>, { ok: unknown }>['ok'];

/** An error with the HTTP status that says what kind it is. */
export class CuError extends Error {
  override readonly name = 'CuError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A scheduler that can also find a message's slot (units/su's SuReader can). */
interface SlotFinder {
  find(id: string, processId?: string): { slot: number; messageId: string } | undefined;
  /** Resolves once the message is in the process's log, or when `abort` fires (absent: poll). */
  whenAppended?(processId: string, messageId: string, abort: AbortSignal): Promise<void>;
}
const canFind = (r: unknown): r is SlotFinder => typeof (r as SlotFinder).find === 'function';
/** Whether the reader can find ids in this process's log (a network reader cannot in a log another SU keeps). */
const findsIn = (r: unknown, processId: string): boolean => (r as { findsIn?: (p: string) => boolean }).findsIn?.(processId) ?? true;

export type ResultAnswer = { result: EvalOutput } | { busy: string } | { missing: string };
export type AttestationAnswer = { attestation: Uint8Array } | { busy: string } | { missing: string };


/**
 * A cursor gives a position in the log (a slot; for a cron result, the slot it follows and its
 * time); anything else is taken as a timestamp (ms), as the reference does.
 */
export function parseBound(raw: string | undefined): { position: Position } | { timestamp: number } | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { ordinate?: unknown; timestamp?: unknown; cron?: unknown };
    if (typeof c === 'object' && c !== null) {
      if (c.ordinate !== undefined && Number.isFinite(Number(c.ordinate))) {
        const slot = Number(c.ordinate);
        return { position: c.cron ? { slot, cron: Number(c.timestamp) } : { slot, cron: -1 } };
      }
      if (c.timestamp !== undefined && Number.isFinite(Number(c.timestamp))) return { timestamp: Number(c.timestamp) };
    }
  } catch {
    // not a cursor
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new CuError(400, `'${raw.slice(0, 64)}' is neither a cursor nor a timestamp`);
  return { timestamp: n };
}

export class CuApi {
  /** Dry-runs waiting or running, by process. */
  private readonly dryRuns = new Map<string, number>();
  /** Attestations being made, by process and slot: concurrent requests share one signature. */
  private readonly attesting = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly caller: Caller,
    readonly cu: CuRuntime,
    private readonly o: {
      manager?: string;
      callTimeoutMs: number;
      address: string;
      /** Whether this node has accepted `messageId` for `processId` and it is on its way to the SU (an MU push job). */
      pending?: (processId: string, messageId: string) => boolean;
      /** Signs an attestation with the CU wallet (attestation.ts). */
      attest?: (f: AttestationFields) => Promise<Uint8Array>;
      /** Signs a checkpoint with the CU wallet (checkpoint-item.ts). */
      signCheckpoint?: (c: CheckpointRecord) => Promise<Uint8Array>;
    },
  ) {}

  private async actor(processId: string): Promise<Pid<ProcessProtocol>> {
    const manager = this.o.manager === undefined ? CU_MANAGER : typedName<ManagerProtocol>(this.o.manager);
    const r = await this.caller.call(manager, { op: 'ensure', processId }, { timeout: this.o.callTimeoutMs });
    if ('ok' in r) return r.ok;
    throw new CuError(r.code === 'not_found' ? 404 : r.code === 'unprocessable' ? 422 : 503, r.error);
  }

  /** Asks the process actor (the answer is the `ok` of the request's reply); retries when the actor went away under the call. */
  async ask<const Q extends ProcessRequest>(processId: string, req: Q, timeout = this.o.callTimeoutMs): Promise<Answer<Q>> {
    let last: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      const pid = await this.actor(processId);
      try {
        const r = (await this.caller.call(pid, req, { timeout })) as ProcessReply<Answer<Q>>;
        if ('ok' in r) return r.ok;
        throw new CuError(500, r.error);
      } catch (e) {
        if (!(e instanceof CallError) || e.kind === 'timeout') throw e;
        last = e;
      }
    }
    throw new CuError(503, `the process actor of ${processId} kept going away: ${(last as Error).message}`);
  }

  status(processId: string): Promise<ProcessStatus> {
    return this.ask(processId, { op: 'status' });
  }

  /**
   * Evaluates up to `to` (default: all the scheduler has); answers the slot reached. The results
   * are readable by id and slot at once; with `committed`, also committed (what a range read of
   * the store needs).
   */
  async evaluate(processId: string, to?: number, timeout?: number, committed = false): Promise<number> {
    return (await this.ask(processId, { op: 'evaluate', ...(to !== undefined ? { to } : {}), ...(committed ? { committed } : {}) }, timeout)).slot;
  }

  /**
   * A message's result, evaluating up to it if needed (a message assigned but not evaluated yet
   * waits for its evaluation; one still running after `waitMs` is `busy`). An id that cannot be
   * a message id, or a message the process's log does not hold, is `missing` at once, unless
   * this node has accepted the message and it is on its way to the SU: that one is waited for,
   * up to `waitMs`. (With a reader that cannot look ids up, every unknown id is waited for.)
   */
  async result(processId: string, messageId: string, waitMs: number): Promise<ResultAnswer> {
    if (!isTxId(messageId)) return { missing: `'${messageId.slice(0, 64)}' cannot be a message id (43 base64url characters)` };
    const clock = this.cu.clock;
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const deadline = clock.now() + waitMs;
    const finder = canFind(this.cu.reader) && findsIn(this.cu.reader, processId) ? this.cu.reader : undefined;
    // An unknown process (or one that cannot run here) is an error now, not after the wait; an
    // evaluation asks the process actor anyway, so that is the only case asked here.
    if (!this.cu.store.resultOf(processId, messageId) && finder && !finder.find(messageId, processId)) await this.actor(processId);
    for (;;) {
      const stored = this.cu.store.resultOf(processId, messageId);
      if (stored) return { result: stored.output };
      const remaining = deadline - clock.now();
      let entry = finder?.find(messageId, processId);
      if (finder && !entry && !this.o.pending?.(processId, messageId)) {
        // Read through the process (in a cluster that catches this node's copy of the log up) and look again.
        await this.cu.reader.process(processId);
        entry = finder.find(messageId, processId);
        if (!entry) return { missing: `message ${messageId} was never assigned to process ${processId}` };
      }
      if (entry || !finder) {
        try {
          await this.evaluate(processId, entry?.slot, Math.max(remaining, 1));
        } catch (e) {
          if (e instanceof CallError && e.kind === 'timeout') return { busy: `Evaluation of process "${processId}" to "${messageId}" is in progress.` };
          throw e;
        }
        const r = entry ? this.cu.store.result(processId, entry.slot) : this.cu.store.resultOf(processId, messageId);
        if (r) return { result: r.output };
      }
      if (clock.now() >= deadline) return { missing: `message ${messageId} is not in the log of process ${processId}` };
      // Woken by the append that assigns it; polled (coarsely) when the reader cannot say.
      if (finder?.whenAppended) await finder.whenAppended(processId, messageId, timeoutSignal(clock, Math.max(1, deadline - clock.now())));
      else await sleep(Math.min(100, Math.max(1, deadline - clock.now())));
    }
  }

  /**
   * The CU's signed attestation of a message's result (attestation.ts): evaluated up to it as
   * `result` is; made on the first request (the memory hash after the message needs the process's
   * memory at that slot, restored when it has moved on), then kept and answered as stored.
   */
  async attestation(processId: string, messageId: string, waitMs: number): Promise<AttestationAnswer> {
    const r = await this.result(processId, messageId, waitMs);
    if (!('result' in r)) return r;
    const rec = this.cu.store.resultOf(processId, messageId);
    if (!rec) return { missing: `message ${messageId} has no result in process ${processId}` };
    const kept = this.cu.store.attestation(processId, rec.slot);
    if (kept) return { attestation: kept };
    if (!this.o.attest) throw new CuError(501, 'this CU has no wallet to sign attestations with');
    const key = `${processId}:${rec.slot}`;
    let making = this.attesting.get(key);
    if (!making) {
      const attest = this.o.attest;
      making = (async () => {
        const { memoryHash, moduleId } = await this.ask(processId, { op: 'memoryHashAt', slot: rec.slot });
        const raw = await attest({ processId, messageId, slot: rec.slot, moduleId, timestamp: rec.timestamp, resultHash: resultHash(rec.output), memoryHash });
        await this.cu.store.putAttestation(processId, rec.slot, raw);
        return raw;
      })().finally(() => this.attesting.delete(key));
      this.attesting.set(key, making);
    }
    return { attestation: await making };
  }

  /**
   * The process's newest checkpoint, signed by this CU (checkpoint-item.ts): one is written first
   * when the memory is past the last one. 404 when the process has no state yet.
   */
  async signedCheckpoint(processId: string): Promise<Uint8Array> {
    if (!this.o.signCheckpoint) throw new CuError(501, 'this CU has no wallet to sign checkpoints with');
    await this.evaluate(processId, undefined, undefined, true);
    await this.ask(processId, { op: 'checkpoint' });
    const slot = this.cu.store.checkpointSlots(processId)[0];
    const c = slot === undefined ? undefined : this.cu.store.checkpoint(processId, slot);
    if (!c) throw new CuError(404, `process ${processId} has no checkpoint: nothing is evaluated yet`);
    try {
      return await this.o.signCheckpoint(c);
    } catch (e) {
      throw new CuError(413, `the checkpoint of ${processId} at slot ${c.slot} cannot be one item: ${(e as Error).message}`);
    }
  }

  /**
   * Starts a process from a checkpoint signed by a CU in `cu.trustedCus`, after checking its
   * signature, signer and memory hash, instead of replaying the log up to it.
   */
  async importCheckpoint(raw: Uint8Array): Promise<{ processId: string; slot: number; cron: number; memoryHash: string }> {
    let c: CheckpointRecord;
    try {
      c = await readCheckpoint(raw, this.cu.config.trustedCus, this.cu.now());
    } catch (e) {
      if (e instanceof InvalidCheckpoint) throw new CuError(e.status, e.message);
      throw e;
    }
    let at: Position;
    try {
      at = await this.ask(c.processId, { op: 'adopt', checkpoint: c });
    } catch (e) {
      if (e instanceof CuError && e.status === 500) throw new CuError(409, e.message);
      throw e;
    }
    return { processId: c.processId, slot: at.slot, cron: at.cron, memoryHash: c.image.memoryHash };
  }

  /**
   * Results of scheduled and cron messages in log order (from exclusive, to inclusive), as the
   * reference CU pages them (results.ts), within `cu.pageBytes`. `onlyCron`: cron results only,
   * ascending (GET /cron).
   */
  async results(processId: string, q: { from?: string; to?: string; sort?: string; limit?: number; onlyCron?: boolean }): Promise<ResultsPage> {
    const sort = (q.sort ?? 'ASC').toUpperCase();
    if (sort !== 'ASC' && sort !== 'DESC') throw new CuError(400, `sort must be ASC or DESC`);
    const limit = q.limit ?? 25;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CuError(400, 'limit must be an integer from 1 to 10000');
    const from = parseBound(q.from);
    const to = parseBound(q.to);
    // Catch up first (cron messages up to the present included), so the page has what the log has.
    await this.evaluate(processId, undefined, undefined, true);
    return resultsPage(this.cu.store, processId, {
      lo: from && 'position' in from ? from.position : { slot: -1, cron: -1 },
      hi: to && 'position' in to ? to.position : { slot: Number.MAX_SAFE_INTEGER - 1, cron: Number.MAX_SAFE_INTEGER },
      ...(from && 'timestamp' in from ? { fromTs: from.timestamp } : {}),
      ...(to && 'timestamp' in to ? { toTs: to.timestamp } : {}),
      desc: sort === 'DESC',
      limit,
      maxBytes: this.cu.config.pageBytes,
      ...(q.onlyCron ? { onlyCron: true } : {}),
    });
  }

  /** Cron results, ascending (GET /cron/:processId). */
  cron(processId: string, q: { from?: string; to?: string; limit?: number }): Promise<ResultsPage> {
    return this.results(processId, { ...q, sort: 'ASC', onlyCron: true, limit: Math.min(q.limit ?? 500, 1000) });
  }

  /**
   * Evaluates `body` against the latest state. Dry-runs of a process take turns in its actor, so
   * at most `cu.maxDryRunsPerProcess` wait at once: a flood of them is 503s, not an ever longer
   * queue of held requests in front of the process's own messages.
   */
  async dryRun(processId: string, body: unknown): Promise<EvalOutput> {
    try {
      dryRunMessage(body, processId, {});
    } catch (e) {
      throw new CuError(400, (e as Error).message);
    }
    const waiting = this.dryRuns.get(processId) ?? 0;
    if (waiting >= this.cu.config.maxDryRunsPerProcess) {
      throw new CuError(503, `${waiting} dry-runs of process ${processId} are already waiting; try again later`);
    }
    this.dryRuns.set(processId, waiting + 1);
    try {
      return await this.ask(processId, { op: 'dryRun', message: body });
    } finally {
      const n = (this.dryRuns.get(processId) ?? 1) - 1;
      if (n > 0) this.dryRuns.set(processId, n);
      else this.dryRuns.delete(processId);
    }
  }

  state(processId: string): Promise<Uint8Array> {
    return this.ask(processId, { op: 'memory' });
  }

  hash(processId: string): Promise<{ slot: number; memoryHash: string; size: number; nonZeroPages: number }> {
    return this.ask(processId, { op: 'hash' });
  }

  checkpoint(processId: string): Promise<{ slot: number; size: number; stored: number; nonZeroPages: number; memoryHash: string } | null> {
    return this.ask(processId, { op: 'checkpoint' });
  }

  info(): { address: string; timestamp: number; modules: Record<string, string> } {
    return { address: this.o.address, timestamp: this.cu.now(), modules: this.cu.modules.bundled() };
  }
}
