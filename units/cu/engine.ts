/**
 * One process's evaluation, as its actor (process.ts) drives it: the instance in its evaluator
 * thread, the position of its memory in the log, results, checkpoints, hydration and rollback.
 *
 * - A position is a slot and the time of the last cron message evaluated after it (cron.ts
 *   says where crons go). Memory at a position is a function of the log: slots and crons are
 *   applied strictly in order, each message built as the reference CU builds it (message.ts).
 * - A message whose evaluation has an Error (or makes aos run out of memory), traps, or exceeds
 *   the time limit gets that error as its result and leaves the memory as it was before it (the
 *   reference CU keeps the previous memory). Since the instance's memory is live (no copy per
 *   message), going back means: restore the newest checkpoint at or before the previous position
 *   and replay from there; replay skips messages whose stored result says their memory was
 *   discarded.
 * - Hydration is the same restore: the newest checkpoint whose image checks out (a damaged one is
 *   skipped and the next older one tried; with none, replay from slot 0).
 * - Messages go to the evaluator in batches; results are written without waiting for each
 *   commit; `flush` waits for them. A message that already has a result (evaluated before a
 *   crash or an eviction) is replayed, not rewritten.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../runtime/clock.js';
import { parseDataItem, tagValue, type ParsedDataItem } from '../ans104/index.js';
import { enforced } from '../safety.js';
import type { ScheduledMessage, ScheduleReader } from '../schedule.js';
import type { CuConfig } from './config.js';
import { cronMessage, cronName, parseCrons, ticks, type Cron, type CronTick } from './cron.js';
import { processLimits, type Limits } from './limits.js';
import { dryRunMessage, messageFromSlot, processEnv, type AoEnv, type AoMessage, type EvalOutput } from './message.js';
import { GatewayUnreachable, type ModuleRecord, type ModuleStore } from './modules.js';
import type { CheckpointRecord, CronRecord, CronResult, CuStore, ResultRecord } from './store.js';
import { EvaluatorError, EvaluatorGone, EvaluatorTimeout, type EvaluatorDeath, type EvaluatorHandle, type EvaluatorSource } from './worker/client.js';
import type { EvalValue } from './worker/protocol.js';

/** What the process actors of a node share. */
export interface CuRuntime {
  reader: ScheduleReader;
  store: CuStore;
  modules: ModuleStore;
  /** Evaluator threads (or, in a simulation, evaluators inline). */
  pool: EvaluatorSource;
  config: CuConfig;
  /** Wall clock, unix ms. */
  now(): number;
  /** For waits (a result not assigned yet is looked for again after a while). */
  clock: Clock;
  /** Told the time each message took in its module (the node's metrics). */
  onEvaluated?: (ms: number) => void;
  /** Told of messages evaluated ahead of their commit, and of those then dropped (the node's metrics). */
  onAhead?: (outcome: 'evaluated' | 'abandoned', messages: number) => void;
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
  /** Messages evaluated ahead of their slot's commit (see ProcessEngine.speculate). */
  speculated: number;
  /** Runs evaluated ahead of their commit that the log then did not hold: their results were dropped. */
  abandoned: number;
}

/** A slot, and the time of the last cron message evaluated after it (-1: none). */
export interface Position {
  slot: number;
  cron: number;
}

export const comparePositions = (a: Position, b: Position) => a.slot - b.slot || a.cron - b.cron;
const isBefore = (a: Position, b: Position) => comparePositions(a, b) < 0;
const LATEST: Position = { slot: Number.MAX_SAFE_INTEGER, cron: Number.MAX_SAFE_INTEGER };

type Item =
  /** A slot, with its message built (null: the SU does not hold the assigned item). */
  | { kind: 'slot'; entry: ScheduledMessage; msg: AoMessage | null }
  /** A cron message after `slot` (whose Timestamp and Block-Height are given). */
  | { kind: 'cron'; tick: CronTick; slot: number; timestamp: number; blockHeight: number };

/** Where reading goes on from: a position and the Timestamp and Block-Height of its slot. */
interface Cursor {
  slot: number;
  cron: number;
  timestamp: number;
  blockHeight: number;
}

/** The cursor after applying `items` from `from`. */
function cursorAfter(from: Cursor, items: readonly Item[]): Cursor {
  const last = items[items.length - 1];
  if (!last) return from;
  if (last.kind === 'slot') return { slot: last.entry.slot, cron: -1, timestamp: last.entry.timestamp, blockHeight: last.entry.blockHeight };
  return { slot: last.slot, cron: last.tick.at, timestamp: last.timestamp, blockHeight: last.blockHeight };
}

const positionOf = (it: Item): Position => (it.kind === 'slot' ? { slot: it.entry.slot, cron: -1 } : { slot: it.slot, cron: it.tick.at });

const recordPosition = (r: ResultRecord | CronResult): Position => ('record' in r ? { slot: r.record.slot, cron: r.record.at } : { slot: r.slot, cron: -1 });

/** A run evaluated ahead of its commit (ProcessEngine.speculate), until the log holds it or not. */
interface Speculation {
  /** The position before the run: results after it are held. */
  from: Position;
  /** The run's first slot and its assignments' ids, as the log must show them. */
  first: number;
  ids: string[];
  committed: Promise<void>;
  /** What an abandoned run puts back. */
  stored: Position;
  sinceCheckpoint: number;
  sinceCheckpointMs: number;
}

/** A message of a run evaluated ahead of its commit needs a rollback into that run: the run is evaluated after its commit instead. */
class SpeculationStopped extends Error {
  override readonly name = 'SpeculationStopped';
}

export class ProcessEngine {
  /** Slot whose state the memory holds (-1: before the spawn). Meaningful when resident. */
  pos = -1;
  /** Time of the last cron applied after `pos` (-1: none). */
  cronAt = -1;
  /** Timestamp and Block-Height of slot `pos`. */
  private slotTime = { timestamp: 0, blockHeight: 0 };
  /** The last position with a stored (or pending) result. */
  stored: Position;
  lastCheckpoint: Position;
  sinceCheckpoint = 0;
  /** Time in the module of the messages applied since the last checkpoint (what replaying them costs), ms. */
  sinceCheckpointMs = 0;
  readonly stats: EngineStats = { moduleMs: 0, evaluated: 0, replayed: 0, rollbacks: 0, checkpoints: 0, restores: 0, corruptCheckpoints: 0, speculated: 0, abandoned: 0 };
  private evaluator: EvaluatorHandle | undefined;
  /** Result writes issued and not committed yet. */
  private readonly writes = new Set<Promise<void>>();
  /** A result write that failed: the next `flush` or `written` throws it. */
  private writeError: unknown;
  private unwritten: (ResultRecord | CronResult)[] = [];
  /** A run evaluated ahead of its commit, not yet settled. */
  private speculation: Speculation | undefined;
  private closed = false;
  /** Its actor was killed: a handler of it still running must neither evaluate nor record. */
  private killed = false;
  /**
   * Told when the thread it holds exits without being asked to and not on an error (one that
   * crashed under a message has answered it with that error, and the engine restores itself).
   */
  onThreadDeath: ((d: EvaluatorDeath) => void) | undefined;

  private constructor(
    readonly processId: string,
    private readonly cu: CuRuntime,
    readonly spawn: ParsedDataItem,
    readonly module: ModuleRecord,
    readonly limits: Limits,
    readonly env: AoEnv,
    readonly crons: Cron[],
    /** The spawn's Timestamp: crons count from it. */
    private readonly origin: number,
    private readonly log: Logger,
  ) {
    const slot = cu.store.lastResultSlot(processId);
    const cron = cu.store.lastCron(processId, Math.max(slot, 0));
    this.stored = cron && cron.slot >= slot ? { slot: cron.slot, cron: cron.at } : { slot, cron: -1 };
    const c = cu.store.checkpointSlots(processId)[0];
    this.lastCheckpoint = c === undefined ? { slot: -1, cron: -1 } : { slot: c, cron: cu.store.checkpoint(processId, c)?.cron ?? -1 };
    // A checkpoint adopted from another CU (adopt) is ahead of the results: the process resumes there.
    if (isBefore(this.stored, this.lastCheckpoint)) this.stored = { ...this.lastCheckpoint };
  }

  static async load(processId: string, cu: CuRuntime, log: Logger): Promise<ProcessEngine> {
    const info = await cu.reader.process(processId);
    if (!info) throw new ProcessUnavailable(`process ${processId} is not known to the scheduler`);
    await cu.store.hydrate(processId);
    const spawn = parseDataItem(info.spawn);
    const moduleId = tagValue(spawn.tags, 'Module');
    if (!moduleId) throw new ProcessUnavailable(`process ${processId} has no Module tag`, 'unprocessable');
    let module: ModuleRecord;
    let limits: Limits;
    let crons: Cron[];
    try {
      module = await cu.modules.load(moduleId);
    } catch (e) {
      // A gateway that did not answer says nothing about the module: not a final answer.
      if (e instanceof GatewayUnreachable) throw new Error(`process ${processId}: module ${moduleId} cannot be fetched now: ${e.message}`);
      throw new ProcessUnavailable(`process ${processId}: ${(e as Error).message}`, 'unprocessable');
    }
    try {
      limits = processLimits(spawn.tags, module.tags, { maxMemory: cu.config.maxMemoryLimit, maxCompute: cu.config.maxComputeLimit });
      const parsed = parseCrons(spawn.tags);
      if (parsed.ignored.length) log.warn({ processId, intervals: parsed.ignored }, 'block-based Cron-Interval is not run by this CU');
      crons = parsed.crons;
      await cu.modules.prepared(moduleId, limits.memory).module;
    } catch (e) {
      throw new ProcessUnavailable(`process ${processId}: ${(e as Error).message}`, 'unprocessable');
    }
    return new ProcessEngine(processId, cu, spawn, module, limits, processEnv(processId, spawn, module), crons, info.first.timestamp, log);
  }

  get resident(): boolean {
    return this.evaluator?.alive === true;
  }

  position(): Position {
    return { slot: this.pos, cron: this.cronAt };
  }

  /** Timestamp and Block-Height of the latest message applied (a dry-run's defaults). */
  get last(): { timestamp: number; blockHeight: number } {
    return { timestamp: Math.max(this.slotTime.timestamp, this.cronAt), blockHeight: this.slotTime.blockHeight };
  }

  // --- the evaluator --------------------------------------------------------------------------

  private async thread(): Promise<EvaluatorHandle> {
    if (this.killed && enforced('killed-handler-guard')) throw new Error(`the process actor of ${this.processId} was killed`);
    if (this.evaluator?.alive) return this.evaluator;
    const ev = await this.cu.pool.acquire(`${this.module.id}:${this.limits.memory}`);
    if (this.closed) {
      // Closed (or killed) while it waited: handed straight back and not kept, so that `close`
      // does not hand it back a second time (the pool would then give it to two processes).
      await this.cu.pool.release(ev);
      throw new EvaluatorGone('process closed');
    }
    this.evaluator = ev;
    void ev.died?.then((d) => {
      if (this.evaluator === ev && !d.crashed) this.onThreadDeath?.(d);
    });
    return ev;
  }

  /** A fresh instance in the thread, for a process's first message or for a restore. */
  private async instantiate(forRestore: boolean): Promise<EvaluatorHandle> {
    const ev = await this.thread();
    const compiled = this.cu.modules.prepared(this.module.id, this.limits.memory);
    const module = await compiled.module;
    const args = { module, format: this.module.format, computeLimit: this.limits.compute, env: this.env };
    if (!forRestore) await ev.call('instantiate', args);
    else if (compiled.fresh) await ev.call('instantiate', { ...args, noInitialRun: true, fresh: compiled.fresh });
    else this.cu.modules.rememberFresh(compiled, (await ev.call('instantiate', { ...args, noInitialRun: true, scanFresh: true })).fresh ?? []);
    return ev;
  }

  private moveTo(p: Position, slotTime?: { timestamp: number; blockHeight: number }): void {
    this.pos = p.slot;
    this.cronAt = p.cron;
    if (slotTime) this.slotTime = slotTime;
  }

  /**
   * Memory to the state at `target`, from the newest usable checkpoint at or before it, then
   * replay. Results up to `target` must be stored.
   */
  async restoreTo(target: Position): Promise<void> {
    await this.flush();
    let restored = false;
    for (const slot of this.cu.store.checkpointSlots(this.processId, target.slot)) {
      const c = this.cu.store.checkpoint(this.processId, slot);
      if (!c) continue;
      const at = { slot: c.slot, cron: c.cron ?? -1 };
      if (isBefore(target, at)) continue;
      try {
        const ev = await this.instantiate(true);
        await ev.call('restore', { image: c.image });
        this.moveTo(at, { timestamp: c.timestamp, blockHeight: c.blockHeight });
        this.stats.restores++;
        restored = true;
        break;
      } catch (e) {
        if (!(e instanceof EvaluatorError && e.code === 'corrupt')) throw e;
        this.stats.corruptCheckpoints++;
        this.log.warn({ processId: this.processId, slot, err: e.message }, 'checkpoint is damaged; trying an older one');
      }
    }
    if (!restored) {
      await this.instantiate(false);
      this.moveTo({ slot: -1, cron: -1 }, { timestamp: 0, blockHeight: 0 });
    }
    while (isBefore(this.position(), target)) {
      const page = await this.cu.reader.read(this.processId, this.pos + 1, target.slot, this.cu.config.readPage, this.cu.config.readPageBytes);
      const reached = (page.length ? page[page.length - 1]!.slot : this.pos) === target.slot;
      const items = this.items(page, target, Number.MAX_SAFE_INTEGER, reached ? 'limit' : 'none');
      if (items.length === 0) throw new Error(`cannot restore ${this.processId} to slot ${target.slot}: the scheduler has no slot ${this.pos + 1}`);
      await this.applyItems(items);
    }
  }

  /**
   * Makes the instance resident, at the last position with a result (where the process was
   * before it was evicted, or its node stopped): the newest checkpoint, then replay.
   */
  async ensureLoaded(): Promise<void> {
    if (this.resident) return;
    await this.flush();
    await this.restoreTo(this.stored);
  }

  // --- evaluation -----------------------------------------------------------------------------

  /**
   * Applies what follows the current position, up to slot `to` (crons before it included) or,
   * for Infinity, everything the scheduler has and the crons after it up to the present; at
   * most `max` messages. Answers how many were applied (0: nothing to do now).
   */
  async advance(to: number, max: number): Promise<number> {
    await this.ensureLoaded();
    const limit = Number.isFinite(to) ? { slot: to, cron: -1 } : LATEST;
    let n = 0;
    // The next page is read (and its messages built) while the evaluator runs the current one.
    let next = this.readItems(this.cursor(), limit, to, max);
    while (n < max) {
      const items = await next;
      if (items.length === 0) break;
      n += items.length;
      next = n < max ? this.readItems(cursorAfter(this.cursor(), items), limit, to, max - n) : Promise.resolve([]);
      // (Settled even if applying throws, so a failed read does not go unhandled.)
      next.catch(() => undefined);
      await this.applyItems(items);
    }
    return n;
  }

  private cursor(): Cursor {
    return { slot: this.pos, cron: this.cronAt, ...this.slotTime };
  }

  /**
   * Items after `from`, up to `limit`: one page of the log (bounded in messages and in bytes)
   * and the crons around it. Only an empty page says the scheduler has nothing more now: a page
   * cut at its byte budget is short too.
   */
  private async readItems(from: Cursor, limit: Position, to: number, max: number): Promise<Item[]> {
    if (!isBefore({ slot: from.slot, cron: from.cron }, limit)) return [];
    const want = Math.min(this.cu.config.readPage, max);
    const page = await this.cu.reader.read(this.processId, from.slot + 1, Number.isFinite(to) ? to : undefined, want, this.cu.config.readPageBytes);
    return this.items(page, limit, max, page.length === 0 ? 'present' : 'none', from);
  }

  /**
   * What to apply after the current position: the page's slots with the crons that go before
   * each, up to `limit`; then the crons after the last slot: when the scheduler has nothing more
   * now (`present`), up to the present less the safety margin; when restoring to a position past
   * its slot (`limit`), up to that position.
   */
  private items(page: ScheduledMessage[], limit: Position, max: number, tail: 'none' | 'present' | 'limit', from: Cursor = this.cursor()): Item[] {
    const out: Item[] = [];
    let { slot, cron, timestamp, blockHeight } = from;
    const cronsUntil = (s: number) => (s < limit.slot ? Number.MAX_SAFE_INTEGER : limit.cron);
    const addCrons = (before: number, until: number) => {
      if (slot < 0) return; // nothing before the spawn
      for (const tick of ticks(this.crons, this.origin, Math.max(timestamp, cron + 1), before, until, max - out.length)) {
        out.push({ kind: 'cron', tick, slot, blockHeight, timestamp });
        cron = tick.at;
      }
    };
    for (const entry of page) {
      addCrons(entry.timestamp, cronsUntil(slot));
      if (out.length >= max || entry.slot > limit.slot) return out;
      out.push({ kind: 'slot', entry, msg: messageFromSlot(entry, this.processId) ?? null });
      slot = entry.slot;
      cron = -1;
      ({ timestamp, blockHeight } = entry);
      if (out.length >= max) return out;
    }
    if (tail === 'present') {
      // After the last slot there is: crons up to the present less the margin (and the limit).
      addCrons(Number.MAX_SAFE_INTEGER, Math.min(cronsUntil(slot), this.cu.now() - this.cu.config.cronSafetyMs));
    } else if (tail === 'limit' && slot === limit.slot) {
      // Restoring: the crons after the target's slot up to it were evaluated before (they exist).
      addCrons(Number.MAX_SAFE_INTEGER, limit.cron);
    }
    return out;
  }

  private storedAt(p: Position): boolean {
    return !isBefore(this.stored, p);
  }

  /** The stored result of an item evaluated before (a replay), if any. */
  private async prior(it: Item): Promise<ResultRecord | CronRecord | undefined> {
    if (!this.storedAt(positionOf(it))) return undefined;
    const get = () => (it.kind === 'slot' ? this.cu.store.result(this.processId, it.entry.slot) : this.cu.store.cron(this.processId, it.slot, it.tick.at, it.tick.cron.index));
    const r = get();
    if (r) return r;
    await this.flush();
    return get();
  }

  private messageOf(it: Item): AoMessage | undefined {
    return it.kind === 'slot' ? (it.msg ?? undefined) : cronMessage(this.processId, this.env.Process.Owner, it.tick, it.blockHeight);
  }

  /**
   * Applies items in order. Runs of messages go to the evaluator as one batch; their answers
   * stream back and are recorded while the rest of the batch runs. The evaluator stops at a
   * message whose memory is discarded; that one is settled (rolled back) and the rest follow.
   */
  private async applyItems(items: Item[]): Promise<void> {
    let i = 0;
    while (i < items.length) {
      const run: { it: Item; msg: AoMessage; prior: ResultRecord | CronRecord | undefined }[] = [];
      for (let j = i; j < items.length; j++) {
        const it = items[j]!;
        const prior = await this.prior(it);
        const msg = prior?.discarded ? undefined : this.messageOf(it);
        if (!msg) {
          if (run.length === 0) {
            // Discarded before: the memory does not change. Or a message the SU does not hold.
            if (prior?.discarded) this.passed(it);
            else if (it.kind === 'slot') {
              await this.settle(it, prior, { trap: `the message ${it.entry.messageId} assigned at slot ${it.entry.slot} is not held by the scheduler; this CU cannot load it`, ms: 0 });
            }
            i = j + 1;
          }
          break;
        }
        run.push({ it, msg, prior });
      }
      if (run.length === 0) continue;
      let done = 0;
      let discarded: { at: number; value: EvalValue } | undefined;
      const take = (v: EvalValue) => {
        if (discarded) return; // nothing follows a discarded message: the thread stops there
        this.stats.moduleMs += v.ms;
        this.cu.onEvaluated?.(v.ms);
        const { it, prior } = run[done]!;
        if ('trap' in v || v.discard) discarded = { at: done, value: v };
        else {
          this.sinceCheckpointMs += v.ms;
          this.accept(it, prior, v.result);
        }
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
      if (discarded) await this.settle(run[discarded.at]!.it, run[discarded.at]!.prior, discarded.value);
      i += done;
    }
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
      // The thread was stopped because the actor was killed, not because of the message: no
      // error result may be recorded for it (the restarted actor evaluates it again).
      if (this.killed && enforced('killed-handler-guard')) throw new Error(`the process actor of ${this.processId} was killed`);
      if (e instanceof EvaluatorGone) return { trap: `evaluation failed: ${e.message}`, ms: 0 };
      throw e;
    }
  }

  /** Moves the position past an item (the memory is the state after it). */
  private passed(it: Item): void {
    if (it.kind === 'slot') this.moveTo({ slot: it.entry.slot, cron: -1 }, { timestamp: it.entry.timestamp, blockHeight: it.entry.blockHeight });
    else this.moveTo({ slot: it.slot, cron: it.tick.at });
  }

  /** An item evaluated without error: its result is recorded (unless replayed) and it is passed. */
  private accept(it: Item, prior: ResultRecord | CronRecord | undefined, output: EvalOutput): void {
    if (prior) this.stats.replayed++;
    else {
      this.stats.evaluated++;
      this.record(it, output, false);
    }
    this.passed(it);
    this.sinceCheckpoint++;
  }

  /** An item whose memory is discarded: its result is recorded (unless replayed), the memory rolled back. */
  private async settle(it: Item, prior: ResultRecord | CronRecord | undefined, value: EvalValue): Promise<void> {
    if (prior) {
      this.stats.replayed++;
      throw new Error(`replaying ${describe(it)} of ${this.processId} gave an error it did not give before (nondeterministic module?)`);
    }
    const before = this.position();
    // Rolling back into a run that is not durable would read it from the log: it is evaluated after its commit.
    if (this.speculation && isBefore(this.speculation.from, before)) throw new SpeculationStopped();
    this.stats.evaluated++;
    this.record(it, 'trap' in value ? errorOutput(value.trap) : value.result, true);
    const from = this.cu.store.checkpointSlots(this.processId, before.slot)[0] ?? -1;
    this.stats.rollbacks++;
    await this.restoreTo(before);
    this.passed(it);
    if (before.slot - from >= this.cu.config.rollbackCheckpointAfter) await this.checkpoint();
  }

  private record(it: Item, output: EvalOutput, discarded: boolean): void {
    if (it.kind === 'slot') {
      const e = it.entry;
      this.unwritten.push({ messageId: e.messageId, slot: e.slot, timestamp: e.timestamp, blockHeight: e.blockHeight, output, discarded });
    } else {
      this.unwritten.push({ index: it.tick.cron.index, record: { slot: it.slot, at: it.tick.at, cron: cronName(it.tick.cron), blockHeight: it.blockHeight, output, discarded } });
    }
    const p = positionOf(it);
    if (isBefore(this.stored, p)) this.stored = p;
  }

  // --- evaluating ahead of the commit --------------------------------------------------------

  /**
   * Evaluates a run of slots whose commit has begun and is not durable yet (ScheduleReader's
   * onTentative), so that evaluation overlaps the SU's fsync. Its results are held: neither
   * written nor readable until `settleSpeculation` finds the same run in the log. Only when the
   * memory is where the run starts. A message that needs a rollback into the run stops it (it
   * is evaluated after the commit, as any other). Answers whether the run was evaluated.
   */
  async speculate(entries: ScheduledMessage[], committed: Promise<void>): Promise<boolean> {
    if (this.speculation || this.closed || !this.resident || entries.length === 0) return false;
    if (entries[0]!.slot !== this.pos + 1 || isBefore(this.position(), this.stored)) return false;
    // An assignment of an item the log does not show yet (it may be in the same commit) is read once durable.
    if (entries.some((e) => e.message === null)) return false;
    committed.catch(() => undefined); // looked at by settleSpeculation
    this.speculation = {
      from: this.position(),
      first: entries[0]!.slot,
      ids: entries.map((e) => e.assignmentId),
      committed,
      stored: { ...this.stored },
      sinceCheckpoint: this.sinceCheckpoint,
      sinceCheckpointMs: this.sinceCheckpointMs,
    };
    try {
      await this.applyItems(this.items(entries, LATEST, Number.MAX_SAFE_INTEGER, 'none'));
    } catch (e) {
      await this.abandon(false);
      if (e instanceof SpeculationStopped) return false;
      throw e;
    }
    this.stats.speculated += entries.length;
    this.cu.onAhead?.('evaluated', entries.length);
    return true;
  }

  /**
   * Once the commit of a run evaluated ahead of it has settled: releases the held results when
   * the log holds the run as evaluated (the same assignments in the same slots), else abandons
   * it. Everything that reads or keeps the process's state settles first.
   */
  async settleSpeculation(): Promise<void> {
    const s = this.speculation;
    if (!s) return;
    await s.committed.catch(() => undefined);
    if (this.speculation !== s) return;
    const page = await this.cu.reader.read(this.processId, s.first, s.first + s.ids.length - 1);
    if (page.length === s.ids.length && page.every((e, i) => e.assignmentId === s.ids[i])) {
      this.speculation = undefined;
      this.write();
    } else await this.abandon(true);
  }

  /**
   * Drops a run evaluated ahead of its commit: its held results, and the instance whose memory
   * holds it. The process comes back from what is durable when it is next asked for.
   */
  private async abandon(counted: boolean): Promise<void> {
    const s = this.speculation;
    if (!s) return;
    this.speculation = undefined;
    this.unwritten = this.unwritten.filter((r) => !isBefore(s.from, recordPosition(r)));
    this.stored = s.stored;
    this.sinceCheckpoint = s.sinceCheckpoint;
    this.sinceCheckpointMs = s.sinceCheckpointMs;
    if (counted) {
      this.stats.abandoned++;
      this.cu.onAhead?.('abandoned', s.ids.length);
    }
    const ev = this.evaluator;
    this.evaluator = undefined;
    if (ev) await this.cu.pool.release(ev);
  }

  /** Hands the recorded results to the store (one transaction callback for all of them). */
  private write(): void {
    // The results of a run evaluated ahead of its commit (the last ones recorded) are held.
    const s = this.speculation;
    const held = s ? this.unwritten.findIndex((r) => isBefore(s.from, recordPosition(r))) : -1;
    const n = held < 0 ? this.unwritten.length : held;
    if (n === 0) return;
    const w = this.cu.store.putResults(this.processId, n === this.unwritten.length ? this.unwritten : this.unwritten.slice(0, n));
    this.unwritten = n === this.unwritten.length ? [] : this.unwritten.slice(n);
    this.writes.add(w);
    w.then(
      () => this.writes.delete(w),
      (e: unknown) => {
        this.writes.delete(w);
        this.writeError ??= e;
      },
    );
  }

  /**
   * Every result recorded so far is written: readable at once (the store shows it before its
   * commit), committed soon after, in order with whatever the node writes next. Throws a write
   * that failed. What the process actor answers evaluations with: a reader that must know a
   * result durable (a checkpoint) uses `flush`.
   */
  written(): void {
    this.write();
    if (this.writeError !== undefined) throw this.writeError;
  }

  /** Waits until every result recorded so far is committed. */
  async flush(): Promise<void> {
    this.write();
    while (this.writes.size) await Promise.allSettled([...this.writes]);
    if (this.writeError !== undefined) throw this.writeError;
  }

  // --- checkpoints ----------------------------------------------------------------------------

  checkpointDue(now: number, lastAt: number): boolean {
    if (this.pos < 0 || !this.resident || this.sinceCheckpoint === 0) return false;
    return this.sinceCheckpoint >= this.cu.config.checkpointEvery || now - lastAt >= this.cu.config.checkpointIntervalMs;
  }

  /** Whether the memory is past the last checkpoint. */
  get unsaved(): boolean {
    return this.resident && this.pos >= 0 && isBefore(this.lastCheckpoint, this.position());
  }

  /**
   * Whether a process retired for room (past maxResident) should write a checkpoint. Writing one
   * reads the whole memory (~105 MiB for aos, much of it never touched by this instance: a first
   * read of each page), which costs far more than replaying a few light messages on top of the
   * last checkpoint when the process comes back; so it writes one only when it has none, or when
   * the replay since the last one would be long (`retireCheckpointAfter` messages, or
   * `retireCheckpointMs` of module time).
   */
  get checkpointOnRetire(): boolean {
    if (!this.unsaved) return false;
    const c = this.cu.config;
    return this.lastCheckpoint.slot < 0 || this.sinceCheckpoint >= c.retireCheckpointAfter || this.sinceCheckpointMs >= c.retireCheckpointMs;
  }

  /** Writes the memory at the current position as a checkpoint; answers it (undefined when there is no state). */
  async checkpoint(): Promise<CheckpointRecord | undefined> {
    // (Never of a memory that holds a run not known durable.)
    if (this.pos < 0 || !this.resident || this.speculation) return undefined;
    const ev = await this.thread();
    const { scanMs: _s, ms: _m, ...image } = await ev.call('snapshot', { codec: this.cu.config.checkpointCodec, level: this.cu.config.checkpointLevel });
    const record: CheckpointRecord = {
      processId: this.processId,
      slot: this.pos,
      cron: this.cronAt,
      moduleId: this.module.id,
      timestamp: this.slotTime.timestamp,
      blockHeight: this.slotTime.blockHeight,
      createdAt: this.cu.now(),
      image,
    };
    await this.flush();
    await this.cu.store.putCheckpoint(record);
    await this.cu.store.pruneCheckpoints(this.processId, this.cu.config.checkpointKeep);
    this.lastCheckpoint = this.position();
    this.sinceCheckpoint = 0;
    this.sinceCheckpointMs = 0;
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
      await this.restoreTo(this.position());
      return errorOutput(e instanceof EvaluatorTimeout ? `Compute limit: dry-run exceeded ${e.ms} ms and was stopped` : e.message);
    }
  }

  async memory(): Promise<Uint8Array> {
    await this.ensureLoaded();
    return (await this.thread()).call('memory', {});
  }

  async hash(): Promise<{ slot: number; cron: number; memoryHash: string; size: number; nonZeroPages: number }> {
    await this.ensureLoaded();
    return { slot: this.pos, cron: this.cronAt, ...(await (await this.thread()).call('hash', {})) };
  }

  /**
   * The memory hash after slot `slot` (no cron after it): the live memory's when it is there,
   * else the memory restored to that slot (checkpoint, then replay of stored results). The
   * instance stays at that slot; what comes later is replayed from there on demand.
   */
  async memoryHashAt(slot: number): Promise<string> {
    if (this.stored.slot < slot) throw new Error(`slot ${slot} of ${this.processId} is not evaluated yet`);
    if (!(this.resident && this.pos === slot && this.cronAt === -1)) await this.restoreTo({ slot, cron: -1 });
    return (await this.hash()).memoryHash;
  }

  /**
   * Starts this process from another CU's checkpoint (checked by the caller: checkpoint-item.ts)
   * instead of replaying the log up to it. Only a process this CU has computed nothing of: the
   * results before the checkpoint are then not here (a result asked for is not found).
   */
  async adopt(c: CheckpointRecord): Promise<Position> {
    if (c.processId !== this.processId) throw new Error(`the checkpoint is of ${c.processId}, not ${this.processId}`);
    if (c.moduleId !== this.module.id) throw new Error(`the checkpoint runs module ${c.moduleId}; the process's is ${this.module.id}`);
    const at = { slot: c.slot, cron: c.cron ?? -1 };
    await this.flush();
    if (this.stored.slot >= 0 || this.cu.store.checkpointSlots(this.processId).length > 0) {
      throw new Error(`this CU has computed ${this.processId} already (to slot ${this.stored.slot}); a checkpoint is adopted only by a CU that has not`);
    }
    const page = await this.cu.reader.read(this.processId, c.slot, c.slot, 1);
    if (page[0]?.slot !== c.slot || page[0].timestamp !== c.timestamp) throw new Error(`the scheduler's slot ${c.slot} of ${this.processId} is not the one the checkpoint was made at`);
    await this.cu.store.putCheckpoint(c);
    // The instance (if any) is at the spawn: drop it, the next request restores the checkpoint.
    const ev = this.evaluator;
    this.evaluator = undefined;
    await ev?.terminate();
    this.moveTo({ slot: -1, cron: -1 }, { timestamp: 0, blockHeight: 0 });
    this.stored = at;
    this.lastCheckpoint = at;
    this.sinceCheckpoint = 0;
    this.sinceCheckpointMs = 0;
    return at;
  }

  /** Hands the thread back (after the results are committed): the next process may take it. */
  async close(): Promise<void> {
    this.closed = true;
    await this.abandon(false);
    await this.flush().catch(() => undefined);
    const ev = this.evaluator;
    this.evaluator = undefined;
    if (ev) await this.cu.pool.release(ev);
  }

  /** After `close`: the engine may load its process again (from its checkpoint) on demand. */
  reopen(): void {
    this.closed = false;
    this.writeError = undefined;
  }

  /** For an actor killed without running terminate: stop the thread now (it may be mid-message: never handed on). */
  kill(): void {
    this.killed = true;
    this.closed = true;
    void this.evaluator?.terminate();
    this.evaluator = undefined;
  }
}

const describe = (it: Item) => (it.kind === 'slot' ? `slot ${it.entry.slot}` : `the cron message at ${it.tick.at} after slot ${it.slot}`);

export function errorOutput(error: string): EvalOutput {
  return { Output: '', Messages: [], Spawns: [], Assignments: [], Error: error };
}
