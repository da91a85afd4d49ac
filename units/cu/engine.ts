/**
 * One process's evaluation, as its actor (process.ts) drives it: the instance in its evaluator
 * thread, the position of its memory in the log, results, checkpoints, hydration and rollback.
 *
 * - Memory after slot n is a function of the log: slots are applied strictly in order, each
 *   message built as the reference CU builds it (message.ts).
 * - A message whose evaluation has an Error (or makes aos run out of memory), traps, or exceeds
 *   the time limit gets that error as its result and leaves the memory as it was before it (as
 *   the reference CU keeps the previous memory). Since the instance's memory is live (no copy per
 *   message), going back means: restore the newest checkpoint at or below the previous slot and
 *   replay from there; replay skips slots whose stored result says their memory was discarded.
 * - Hydration is the same restore: the newest checkpoint whose image checks out (a damaged one is
 *   skipped, and the next older one tried; with none, replay from slot 0).
 * - Results are written without waiting for each commit; `flush` waits for them. A slot that
 *   already has a result (evaluated before a crash or an eviction) is replayed, not rewritten.
 */
import type { Logger } from 'pino';
import { parseDataItem, tagValue, type ParsedDataItem } from '../ans104/index.js';
import type { ScheduledMessage, ScheduleReader } from '../schedule.js';
import type { CuConfig } from './config.js';
import { processLimits, type Limits } from './limits.js';
import { dryRunMessage, messageFromSlot, processEnv, type AoEnv, type AoMessage, type EvalOutput } from './message.js';
import type { ModuleRecord, ModuleStore } from './modules.js';
import type { CheckpointRecord, CuStore, ResultRecord } from './store.js';
import { Evaluator, EvaluatorError, EvaluatorGone, EvaluatorTimeout, type EvaluatorPool } from './worker/client.js';
import type { EvalValue } from './worker/protocol.js';

/** What the process actors of a node share. */
export interface CuRuntime {
  reader: ScheduleReader;
  store: CuStore;
  modules: ModuleStore;
  pool: EvaluatorPool;
  config: CuConfig;
  /** Wall clock, unix ms. */
  now(): number;
}

/** Why a process cannot be evaluated here (no such process, missing module, bad limits, …). */
export class ProcessUnavailable extends Error {
  override readonly name = 'ProcessUnavailable';
  constructor(
    message: string,
    readonly code: 'not_found' | 'unprocessable' = 'not_found',
  ) {
    super(message);
  }
}

export interface EngineStats {
  /** Time spent inside the module (ao-loader's handle), ms. */
  moduleMs: number;
  evaluated: number;
  replayed: number;
  rollbacks: number;
  checkpoints: number;
  restores: number;
  corruptCheckpoints: number;
}

export class ProcessEngine {
  /** Slot whose state the memory holds (-1: before the spawn). Meaningful when `evaluator` is set. */
  pos = -1;
  /** Highest slot with a stored (or pending) result. */
  stored: number;
  /** Timestamp and Block-Height of the last applied slot (dry-run defaults). */
  last: { timestamp?: number; blockHeight?: number } = {};
  lastCheckpoint: number;
  sinceCheckpoint = 0;
  readonly stats: EngineStats = { moduleMs: 0, evaluated: 0, replayed: 0, rollbacks: 0, checkpoints: 0, restores: 0, corruptCheckpoints: 0 };
  private evaluator: Evaluator | undefined;
  private writes: Promise<unknown>[] = [];
  private unwritten: ResultRecord[] = [];
  private closed = false;

  private constructor(
    readonly processId: string,
    private readonly cu: CuRuntime,
    readonly spawn: ParsedDataItem,
    readonly module: ModuleRecord,
    readonly limits: Limits,
    readonly env: AoEnv,
    private readonly log: Logger,
  ) {
    this.stored = cu.store.lastResultSlot(processId);
    this.lastCheckpoint = cu.store.checkpointSlots(processId)[0] ?? -1;
  }

  static async load(processId: string, cu: CuRuntime, log: Logger): Promise<ProcessEngine> {
    const info = await cu.reader.process(processId);
    if (!info) throw new ProcessUnavailable(`process ${processId} is not known to the scheduler`);
    const spawn = parseDataItem(info.spawn);
    const moduleId = tagValue(spawn.tags, 'Module');
    if (!moduleId) throw new ProcessUnavailable(`process ${processId} has no Module tag`, 'unprocessable');
    let module: ModuleRecord;
    try {
      module = cu.modules.get(moduleId);
    } catch (e) {
      throw new ProcessUnavailable(`process ${processId}: ${(e as Error).message}`, 'unprocessable');
    }
    let limits: Limits;
    try {
      limits = processLimits(spawn.tags, module.tags, { maxMemory: cu.config.maxMemoryLimit, maxCompute: cu.config.maxComputeLimit });
      await cu.modules.prepared(moduleId, limits.memory).module;
    } catch (e) {
      throw new ProcessUnavailable(`process ${processId}: ${(e as Error).message}`, 'unprocessable');
    }
    return new ProcessEngine(processId, cu, spawn, module, limits, processEnv(processId, spawn, module), log);
  }

  get resident(): boolean {
    return this.evaluator?.alive === true;
  }

  // --- the evaluator --------------------------------------------------------------------------

  private async thread(): Promise<Evaluator> {
    if (this.evaluator?.alive) return this.evaluator;
    this.evaluator = await this.cu.pool.acquire();
    if (this.closed) {
      await this.evaluator.terminate();
      throw new EvaluatorGone('process closed');
    }
    return this.evaluator;
  }

  /** A fresh instance in the thread, for a process's first message or for a restore. */
  private async instantiate(forRestore: boolean): Promise<Evaluator> {
    const ev = await this.thread();
    const compiled = this.cu.modules.prepared(this.module.id, this.limits.memory);
    const module = await compiled.module;
    const args = { module, format: this.module.format, computeLimit: this.limits.compute, env: this.env };
    if (!forRestore) await ev.call('instantiate', args);
    else if (compiled.fresh) await ev.call('instantiate', { ...args, noInitialRun: true, fresh: compiled.fresh });
    else this.cu.modules.rememberFresh(compiled, (await ev.call('instantiate', { ...args, noInitialRun: true, scanFresh: true })).fresh ?? []);
    return ev;
  }

  /**
   * Memory to the state after `target` (-1: the fresh instance), from the newest usable
   * checkpoint at or below it, then replay. Results up to `target` must be stored.
   */
  async restoreTo(target: number): Promise<void> {
    await this.flush();
    let from = -1;
    for (const slot of this.cu.store.checkpointSlots(this.processId, target)) {
      const c = this.cu.store.checkpoint(this.processId, slot);
      if (!c) continue;
      try {
        const ev = await this.instantiate(true);
        await ev.call('restore', { image: c.image });
        from = slot;
        this.last = { timestamp: c.timestamp, blockHeight: c.blockHeight };
        this.stats.restores++;
        break;
      } catch (e) {
        if (!(e instanceof EvaluatorError && e.code === 'corrupt')) throw e;
        this.stats.corruptCheckpoints++;
        this.log.warn({ processId: this.processId, slot, err: e.message }, 'checkpoint is damaged; trying an older one');
      }
    }
    if (from < 0) {
      await this.instantiate(false);
      this.last = {};
    }
    this.pos = from;
    while (this.pos < target) {
      const page = await this.cu.reader.read(this.processId, this.pos + 1, target, this.cu.config.readPage);
      if (page.length === 0) throw new Error(`the scheduler has no slot ${this.pos + 1} of ${this.processId}, needed to restore slot ${target}`);
      await this.applyPage(page);
    }
  }

  /**
   * Makes the instance resident, at the last slot with a result (where the process was before
   * it was evicted, or its node stopped): the newest checkpoint, then replay.
   */
  async ensureLoaded(): Promise<void> {
    if (this.resident) return;
    await this.flush();
    await this.restoreTo(this.stored);
  }

  // --- evaluation -----------------------------------------------------------------------------

  /**
   * Applies the slots after `pos`, up to `to`, at most `max` of them. Answers how many were
   * applied (0: the scheduler has none in that range yet).
   */
  async advance(to: number, max: number): Promise<number> {
    await this.ensureLoaded();
    let n = 0;
    while (n < max && this.pos < to) {
      const last = Number.isFinite(to) ? to : undefined;
      const page = await this.cu.reader.read(this.processId, this.pos + 1, last, Math.min(this.cu.config.readPage, max - n));
      if (page.length === 0) break;
      await this.applyPage(page);
      n += page.length;
    }
    return n;
  }

  /** The stored result of a slot evaluated before (a replay), if any. */
  private async prior(slot: number): Promise<ResultRecord | undefined> {
    if (slot > this.stored) return undefined;
    const r = this.cu.store.result(this.processId, slot);
    if (r) return r;
    await this.flush();
    return this.cu.store.result(this.processId, slot);
  }

  /**
   * Applies consecutive slots. Runs of messages go to the evaluator as one batch; their answers
   * stream back and are recorded while the rest of the batch runs. The evaluator stops at a
   * message whose memory is discarded; that one is settled (rolled back) and the page goes on.
   */
  private async applyPage(page: ScheduledMessage[]): Promise<void> {
    let i = 0;
    while (i < page.length) {
      const run: { entry: ScheduledMessage; msg: AoMessage; prior: ResultRecord | undefined }[] = [];
      for (let j = i; j < page.length; j++) {
        const entry = page[j]!;
        const prior = await this.prior(entry.slot);
        const msg = prior?.discarded ? undefined : messageFromSlot(entry, this.processId);
        if (!msg) {
          if (run.length === 0) {
            // Discarded before (skip), or a message the SU does not hold (an error result).
            this.expect(entry);
            if (prior?.discarded) this.advanceTo(entry);
            else await this.settle(entry, prior, { trap: `the message ${entry.messageId} assigned at slot ${entry.slot} is not held by the scheduler; this CU cannot load it`, ms: 0 });
            i = j + 1;
          }
          break;
        }
        run.push({ entry, msg, prior });
      }
      if (run.length === 0) continue;
      let done = 0;
      let discarded: { at: number; value: EvalValue } | undefined;
      const take = (v: EvalValue) => {
        if (discarded) return; // nothing follows a discarded message: the thread stops there
        this.stats.moduleMs += v.ms;
        const { entry, prior } = run[done]!;
        this.expect(entry);
        if ('trap' in v || v.discard) discarded = { at: done, value: v };
        else this.accept(entry, prior, v.result);
        done++;
      };
      const failure = await this.evaluateRun(
        run.map((r) => r.msg),
        (values) => values.forEach(take),
      );
      // One write (one commit) per batch: results are only promised once flushed anyway.
      this.write();
      if (!discarded && failure && done < run.length) {
        // The message it was on when the thread was stopped (or died).
        discarded = { at: done, value: failure };
        done++;
      }
      if (discarded) await this.settle(run[discarded.at]!.entry, run[discarded.at]!.prior, discarded.value);
      i += done;
    }
  }

  private expect(entry: ScheduledMessage): void {
    if (entry.slot !== this.pos + 1) throw new Error(`slot ${entry.slot} of ${this.processId} read after slot ${this.pos}`);
  }

  /**
   * Evaluates messages in order, handing answers to `onValues` as they come. Answers the failure
   * of the message it was on when the thread had to be stopped (time limit) or died, if so.
   */
  private async evaluateRun(msgs: AoMessage[], onValues: (values: EvalValue[]) => void): Promise<EvalValue | undefined> {
    const ev = await this.thread();
    try {
      const { count } = await ev.call('evalBatch', { msgs }, { timeoutMs: this.cu.config.evalTimeoutMs, onItem: onValues });
      if (count === 0 && msgs.length > 0) throw new Error('the evaluator refused the batch (halted)');
      return undefined;
    } catch (e) {
      if (e instanceof EvaluatorTimeout) return { trap: `Compute limit: evaluation exceeded ${e.ms} ms and was stopped`, ms: e.ms };
      if (e instanceof EvaluatorGone) return { trap: `evaluation failed: ${e.message}`, ms: 0 };
      throw e;
    }
  }

  /** A slot evaluated without error: its result is recorded (unless replayed) and it is the new position. */
  private accept(entry: ScheduledMessage, prior: ResultRecord | undefined, output: EvalOutput): void {
    if (prior) this.stats.replayed++;
    else {
      this.stats.evaluated++;
      this.record(entry, output, false);
    }
    this.advanceTo(entry);
    this.sinceCheckpoint++;
  }

  /** Records a slot's result (unless replayed) and moves to it; rolls the memory back if it was discarded. */
  private async settle(entry: ScheduledMessage, prior: ResultRecord | undefined, value: EvalValue): Promise<void> {
    const slot = entry.slot;
    const discarded = 'trap' in value || value.discard;
    if (prior) {
      this.stats.replayed++;
      if (discarded) throw new Error(`replaying slot ${slot} of ${this.processId} gave an error it did not give before (nondeterministic module?)`);
    } else {
      this.stats.evaluated++;
      this.record(entry, 'trap' in value ? errorOutput(value.trap) : value.result, discarded);
    }
    if (discarded) {
      const from = this.cu.store.checkpointSlots(this.processId, slot - 1)[0] ?? -1;
      this.stats.rollbacks++;
      await this.restoreTo(slot - 1);
      this.advanceTo(entry);
      if (slot - 1 - from >= this.cu.config.rollbackCheckpointAfter) await this.checkpoint();
      return;
    }
    this.advanceTo(entry);
    this.sinceCheckpoint++;
  }

  private advanceTo(entry: ScheduledMessage): void {
    this.pos = entry.slot;
    this.last = { timestamp: entry.timestamp, blockHeight: entry.blockHeight };
  }

  private record(entry: ScheduledMessage, output: EvalOutput, discarded: boolean): void {
    const r: ResultRecord = { messageId: entry.messageId, slot: entry.slot, timestamp: entry.timestamp, blockHeight: entry.blockHeight, output, discarded };
    this.unwritten.push(r);
    this.stored = Math.max(this.stored, entry.slot);
  }

  /** Hands the recorded results to the store (one transaction callback for all of them). */
  private write(): void {
    if (this.unwritten.length === 0) return;
    this.writes.push(this.cu.store.putResults(this.processId, this.unwritten));
    this.unwritten = [];
  }

  /** Waits until every result recorded so far is committed. */
  async flush(): Promise<void> {
    this.write();
    while (this.writes.length) {
      const w = this.writes;
      this.writes = [];
      await Promise.all(w);
    }
  }

  // --- checkpoints ----------------------------------------------------------------------------

  checkpointDue(now: number, lastAt: number): boolean {
    if (this.pos < 0 || this.pos === this.lastCheckpoint || !this.resident) return false;
    return this.pos - this.lastCheckpoint >= this.cu.config.checkpointEvery || (this.sinceCheckpoint > 0 && now - lastAt >= this.cu.config.checkpointIntervalMs);
  }

  /** Writes the memory after `pos` as a checkpoint; answers it (undefined when there is no state). */
  async checkpoint(): Promise<CheckpointRecord | undefined> {
    if (this.pos < 0 || !this.resident) return undefined;
    const ev = await this.thread();
    const { scanMs: _s, ms: _m, ...image } = await ev.call('snapshot', { codec: this.cu.config.checkpointCodec, level: this.cu.config.checkpointLevel });
    const record: CheckpointRecord = {
      processId: this.processId,
      slot: this.pos,
      moduleId: this.module.id,
      timestamp: this.last.timestamp ?? 0,
      blockHeight: this.last.blockHeight ?? 0,
      createdAt: this.cu.now(),
      image,
    };
    await this.flush();
    await this.cu.store.putCheckpoint(record);
    await this.cu.store.pruneCheckpoints(this.processId, this.cu.config.checkpointKeep);
    this.lastCheckpoint = this.pos;
    this.sinceCheckpoint = 0;
    this.stats.checkpoints++;
    return record;
  }

  // --- reads ----------------------------------------------------------------------------------

  /** Evaluates a message against the current memory and leaves the memory as it was. */
  async dryRun(body: unknown): Promise<EvalOutput> {
    await this.ensureLoaded();
    const msg = dryRunMessage(body, this.processId, this.last);
    const ev = await this.thread();
    try {
      const v = await ev.call('dryRun', { msg }, { timeoutMs: this.cu.config.evalTimeoutMs });
      return 'trap' in v ? errorOutput(v.trap) : v.result;
    } catch (e) {
      if (!(e instanceof EvaluatorTimeout || e instanceof EvaluatorGone)) throw e;
      // The thread is gone with the memory: bring it back, then answer.
      await this.restoreTo(this.pos);
      return errorOutput(e instanceof EvaluatorTimeout ? `Compute limit: dry-run exceeded ${e.ms} ms and was stopped` : e.message);
    }
  }

  async memory(): Promise<Uint8Array> {
    await this.ensureLoaded();
    return (await this.thread()).call('memory', {});
  }

  async hash(): Promise<{ slot: number; memoryHash: string; size: number; nonZeroPages: number }> {
    await this.ensureLoaded();
    return { slot: this.pos, ...(await (await this.thread()).call('hash', {})) };
  }

  /** Stops the thread (after the results are committed). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush().catch(() => undefined);
    const ev = this.evaluator;
    this.evaluator = undefined;
    await ev?.terminate();
  }

  /** After `close`: the engine may load its process again (from its checkpoint) on demand. */
  reopen(): void {
    this.closed = false;
  }

  /** For an actor killed without running terminate: stop the thread now. */
  kill(): void {
    this.closed = true;
    void this.evaluator?.terminate();
    this.evaluator = undefined;
  }
}

export function errorOutput(error: string): EvalOutput {
  return { Output: '', Messages: [], Spawns: [], Assignments: [], Error: error };
}
