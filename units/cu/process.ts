/**
 * The process actor `cu/<processId>`: a gen_server that owns one AO process's instance (in its
 * evaluator thread, through ProcessEngine) and serialises everything done to it.
 *
 * Requests are answered later (`noreply`): each waits until the process has been evaluated far
 * enough for it — `evaluate` up to its slot (or everything the scheduler has), a dry-run and a
 * state read up to the latest slot, a hash or a checkpoint at the current one. Evaluation runs
 * in steps of `stepMessages` messages, each step a message to itself, so that other requests
 * and exit signals are looked at between steps even during a long replay. When idle, it
 * evaluates a run of its slots that the SU on this node is committing (engine.ts `speculate`);
 * every request, checkpoint and stop first settles that run, so none of them sees a slot that
 * is not durable.
 *
 * It traps exits: when its supervisor stops it (node shutdown, or an `evict` asked of the CU
 * manager) it writes a checkpoint if it evaluated messages since the last one, so it comes back
 * quickly. When the manager retires it (it is the least recently used one past `maxResident`), it
 * stops by itself once it has answered everyone waiting, so that its supervisor is not held while
 * it writes (the next process's start would wait for it); it then writes a checkpoint only when
 * replaying what it evaluated since the last one would cost more than a hydration is meant to
 * (see `checkpointOnRetire` in engine.ts). Either way it hands its thread back for the next
 * process. A kill runs no terminate; the thread is stopped when the actor dies (its AbortSignal).
 *
 * It is linked to its thread, as to an actor: a thread that ends without being asked to (killed
 * from outside; not its time limit) takes the memory with it, so the actor stops abnormally, its
 * supervisor restarts it, and it hydrates again (checkpoint, then the stored results replayed) in
 * another thread. The message the thread was on gets no result from it: it is evaluated again.
 */
import type { ActorContext, Behaviour, Call, From, TimerHandle } from '../../runtime/index.js';
import type { ScheduledMessage } from '../schedule.js';
import { formatReason, typedName } from '../../runtime/index.js';
import { ProcessEngine, ProcessUnavailable, type CuRuntime, type EngineStats, type Position } from './engine.js';
import { EvaluatorLost, type EvaluatorDeath } from './worker/client.js';
import type { EvalOutput } from './message.js';
import type { CheckpointRecord } from './store.js';

export const processName = (processId: string) => typedName<ProcessProtocol>(`cu/${processId}`);

export type ProcessRequest = ProcessProtocol['req'];

export type ProcessReply<T> = { ok: T } | { error: string };

/** A checkpoint written on request (null: nothing to write). */
export type CheckpointReply = { slot: number; size: number; stored: number; nonZeroPages: number; memoryHash: string } | null;

/** What a process actor answers to each request. */
export type ProcessProtocol =
  /** Evaluate up to slot `to` (default: everything the scheduler has); answers the slot reached. */
  | Call<{ op: 'evaluate'; to?: number; committed?: boolean }, ProcessReply<{ slot: number }>>
  /** Evaluate a message against the latest state, keeping nothing. */
  | Call<{ op: 'dryRun'; message: unknown }, ProcessReply<EvalOutput>>
  /** The memory after the latest slot. */
  | Call<{ op: 'memory' }, ProcessReply<Uint8Array>>
  /** The memory hash at the current slot (see worker/instance.ts). */
  | Call<{ op: 'hash' }, ProcessReply<{ slot: number; cron: number; memoryHash: string; size: number; nonZeroPages: number }>>
  /** The memory hash after slot `slot` (evaluated up to it first; see ProcessEngine.memoryHashAt). */
  | Call<{ op: 'memoryHashAt'; slot: number }, ProcessReply<{ memoryHash: string; moduleId: string }>>
  /** Start from another CU's checkpoint, checked by the caller (see ProcessEngine.adopt). */
  | Call<{ op: 'adopt'; checkpoint: CheckpointRecord }, ProcessReply<Position>>
  /** Write a checkpoint now. */
  | Call<{ op: 'checkpoint' }, ProcessReply<CheckpointReply>>
  | Call<{ op: 'status' }, ProcessReply<ProcessStatus>>;

export interface ProcessStatus {
  processId: string;
  moduleId: string;
  /** Where the memory is: a slot, and the last cron message after it (-1: none). */
  slot: number;
  cron: number;
  /** The last position with a result. */
  stored: Position;
  lastCheckpoint: Position;
  /** The process's cron intervals (time-based ones are run). */
  crons: string[];
  resident: boolean;
  stats: EngineStats;
}

export interface ProcessArgs {
  processId: string;
  cu: CuRuntime;
}

interface Waiter {
  req: ProcessRequest;
  to: number;
  from: From;
}

interface State {
  engine: ProcessEngine;
  cu: CuRuntime;
  waiters: Waiter[];
  stepping: boolean;
  lastCheckpointAt: number;
  tick: TimerHandle | undefined;
  /** Asked to stop once idle (by the manager, past maxResident). */
  retiring: boolean;
  /** Stops the SU's notices of runs being committed (absent: not listening). */
  unlisten: (() => void) | undefined;
  /** Runs being committed, noticed and not looked at yet (a promise is no message: they wait here). */
  tentative: { entries: ScheduledMessage[]; committed: Promise<void> }[];
}

const STEP = { tag: 'cu.step' } as const;
const TICK = { tag: 'cu.tick' } as const;
const THREAD_DIED = 'cu.thread-died';
/** A run of this process's slots whose commit has begun (ScheduleReader.onTentative). */
const TENTATIVE = { tag: 'cu.tentative' } as const;
/** The commit of a run evaluated ahead of it has settled. */
const COMMIT_SETTLED = { tag: 'cu.commit-settled' } as const;
/** The manager's request to stop once idle (sent as an info message). */
export const RETIRE = { tag: 'cu.retire' } as const;

const idle = (s: State) => !s.stepping && s.waiters.length === 0;

function status(s: State): ProcessStatus {
  const e = s.engine;
  return {
    processId: e.processId,
    moduleId: e.module.id,
    slot: e.pos,
    cron: e.cronAt,
    stored: { ...e.stored },
    lastCheckpoint: { ...e.lastCheckpoint },
    crons: e.crons.map((c) => c.interval),
    resident: e.resident,
    stats: { ...e.stats },
  };
}

function kick(s: State, ctx: ActorContext): void {
  if (!s.stepping && s.waiters.length > 0) {
    s.stepping = true;
    ctx.send(ctx.self, STEP);
  }
}

const targetOf = (req: ProcessRequest): number =>
  req.op === 'evaluate' ? (req.to ?? Infinity) : req.op === 'memoryHashAt' ? req.slot : req.op === 'dryRun' || req.op === 'memory' ? Infinity : -Infinity;

async function serve(s: State, w: Waiter): Promise<unknown> {
  // Each answer is the `ok` of its request's reply in ProcessProtocol.
  const e = s.engine;
  switch (w.req.op) {
    case 'evaluate':
      return { slot: e.pos };
    case 'dryRun':
      return (await e.dryRun(w.req.message)) satisfies EvalOutput;
    case 'memory':
      return e.memory();
    case 'hash':
      return e.hash();
    case 'memoryHashAt':
      return { memoryHash: await e.memoryHashAt(w.req.slot), moduleId: e.module.id };
    case 'checkpoint': {
      const c = await e.checkpoint();
      return (c ? { slot: c.slot, size: c.image.size, stored: c.image.data.byteLength, nonZeroPages: c.image.nonZeroPages, memoryHash: c.image.memoryHash } : null) satisfies CheckpointReply;
    }
    case 'status':
      return status(s);
  }
}

async function maybeCheckpoint(s: State, ctx: ActorContext): Promise<void> {
  const now = ctx.clock.now();
  if (s.engine.checkpointDue(now, s.lastCheckpointAt)) {
    await s.engine.checkpoint();
    s.lastCheckpointAt = now;
  }
  // An idle process still gets its checkpoint within the interval.
  if (s.engine.sinceCheckpoint > 0 && s.tick === undefined) s.tick = ctx.sendAfter(s.cu.config.checkpointIntervalMs, TICK);
}

async function step(s: State, ctx: ActorContext): Promise<void> {
  const e = s.engine;
  try {
    await e.settleSpeculation();
    const want = Math.max(-1, ...s.waiters.map((w) => w.to));
    let caughtUp = true;
    if (want > e.pos || !e.resident) {
      const max = s.cu.config.stepMessages;
      const n = await e.advance(want, max);
      caughtUp = e.pos >= want || n < max;
    }
    // Answered before the results' commit: they are readable at once, and whatever the reader
    // writes next (the MU's push stage) commits with them or after them, in one environment.
    e.written();
    await maybeCheckpoint(s, ctx);
    const ready = s.waiters.filter((w) => caughtUp || w.to <= e.pos);
    if (ready.some((w) => w.req.op === 'evaluate' && w.req.committed)) await e.flush();
    s.waiters = s.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) {
      let reply: ProcessReply<unknown>;
      try {
        reply = { ok: await serve(s, w) };
      } catch (err) {
        if (err instanceof EvaluatorLost) throw err;
        reply = { error: (err as Error).message };
      }
      ctx.reply(w.from, reply);
    }
  } catch (err) {
    // Not the process's doing: the actor is restarted (the waiters' calls are made again).
    if (err instanceof EvaluatorLost) throw err;
    // The instance's state is not known any more: drop it (the next request restores it) and
    // tell everyone waiting what happened.
    ctx.log.error({ processId: e.processId, err: formatReason(err) }, 'evaluation failed');
    await e.close().catch(() => undefined);
    e.reopen();
    for (const w of s.waiters.splice(0)) ctx.reply(w.from, { error: `evaluation of ${e.processId} failed: ${(err as Error).message}` });
  }
}

export const processActor: Behaviour<ProcessArgs, State, ProcessProtocol> = {
  async init({ processId, cu }, ctx) {
    ctx.trapExit(true);
    let engine: ProcessEngine;
    try {
      engine = await ProcessEngine.load(processId, cu, ctx.log);
    } catch (e) {
      const code = e instanceof ProcessUnavailable ? e.code : 'error';
      return { stop: { cu_process_unavailable: (e as Error).message, code } };
    }
    // Runs of this process being committed by the SU on this node are evaluated while their
    // commit is written (engine.speculate); the results wait for the commit.
    const self = ctx.self;
    const tentative: State['tentative'] = [];
    const unlisten = cu.config.speculate
      ? cu.reader.onTentative?.(processId, (entries, committed) => {
          tentative.push({ entries, committed });
          ctx.send(self, TENTATIVE);
        })
      : undefined;
    ctx.signal.addEventListener(
      'abort',
      () => {
        unlisten?.();
        engine.kill();
      },
      { once: true },
    );
    engine.onThreadDeath = (d) => ctx.send(ctx.self, { tag: THREAD_DIED, death: d });
    return { ok: { engine, cu, waiters: [], stepping: false, lastCheckpointAt: ctx.clock.now(), tick: undefined, retiring: false, unlisten, tentative } };
  },

  async handleCall(req, from, state, ctx) {
    if (req.op === 'status') return { reply: { ok: status(state) }, state };
    if (req.op === 'adopt') {
      try {
        await state.engine.settleSpeculation();
        return { reply: { ok: await state.engine.adopt(req.checkpoint) }, state };
      } catch (e) {
        return { reply: { error: (e as Error).message }, state };
      }
    }
    state.waiters.push({ req, to: targetOf(req), from });
    kick(state, ctx);
    return { noreply: true, state };
  },

  async handleInfo(msg, state, ctx) {
    const tag = (msg as { tag?: string } | undefined)?.tag;
    if (tag === STEP.tag) {
      state.stepping = false;
      await step(state, ctx);
      kick(state, ctx);
      if (state.retiring && idle(state)) return { stop: 'normal', state };
    } else if (tag === THREAD_DIED) {
      const d = (msg as { death: EvaluatorDeath }).death;
      return { stop: { evaluator_died: d.reason, threadId: d.threadId }, state };
    } else if (tag === TENTATIVE.tag) {
      // Only when nothing waits (a request in the mailbox is served first, from what is durable),
      // and one run at a time: the others are evaluated after their commit.
      const runs = state.tentative.splice(0);
      if (!idle(state) || state.retiring) return { state };
      for (const { entries, committed } of runs) {
        try {
          if (!(await state.engine.speculate(entries, committed))) continue;
          const self = ctx.self;
          const settled = () => ctx.send(self, COMMIT_SETTLED);
          committed.then(settled, settled);
        } catch (err) {
          if (err instanceof EvaluatorLost) throw err;
          ctx.log.warn({ processId: state.engine.processId, err: formatReason(err) }, 'evaluation ahead of the commit failed; the run is evaluated after it');
        }
        break;
      }
    } else if (tag === COMMIT_SETTLED.tag) {
      try {
        await state.engine.settleSpeculation();
      } catch (err) {
        ctx.log.warn({ processId: state.engine.processId, err: formatReason(err) }, 'could not settle a run evaluated ahead of its commit');
      }
      await maybeCheckpoint(state, ctx).catch(() => undefined);
    } else if (tag === RETIRE.tag) {
      state.retiring = true;
      if (idle(state)) return { stop: 'normal', state };
    } else if (tag === TICK.tag) {
      state.tick = undefined;
      if (state.engine.sinceCheckpoint > 0) {
        try {
          await state.engine.settleSpeculation();
          await state.engine.checkpoint();
          state.lastCheckpointAt = ctx.clock.now();
        } catch (err) {
          ctx.log.warn({ processId: state.engine.processId, err: formatReason(err) }, 'checkpoint failed');
        }
      }
    }
    return { state };
  },

  async terminate(_reason, state, ctx) {
    const e = state.engine;
    state.unlisten?.();
    try {
      await e.settleSpeculation();
      if (state.retiring ? e.checkpointOnRetire : e.unsaved) await e.checkpoint();
    } catch (err) {
      ctx.log.warn({ processId: e.processId, err: formatReason(err) }, 'checkpoint on stop failed');
    }
    await e.close();
  },
};
