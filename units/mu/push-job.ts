/**
 * The push job actor `mu/job/<id>`: carries one job (job.ts) through its stages, writing each
 * stage to the MU store before acting on the next, so that a restart (of the actor, the MU or
 * the node) goes on from the last durable stage.
 *
 * Work is done one stage per `step` message the actor sends itself, so calls (`scheduled`)
 * are answered between stages. What may pass (the SU or CU unreachable, a result not ready yet)
 * is retried with backoff; what will not (the SU refusing the item, an item past the limits)
 * ends the job as `failed` at once, with its reason. An error of any other kind is retried a
 * few times, then ends the job too: a job never crashes over what its message or its process
 * did, so no push can use up the restart budget its siblings share. (A crash is left for the
 * node's own failures, such as a store that cannot write.)
 */
import type { ActorContext, Behaviour, Call, From } from '../../runtime/index.js';
import { formatReason } from '../../runtime/index.js';
import { InvalidDataItem, type Wallet } from '../ans104/index.js';
import { SchedulerUnavailable, type SequencerRequest } from '../su/index.js';
import { enforced } from '../safety.js';
import { isTerminal, type JobRecord, type JobStage } from './job.js';
import { startJob } from './launcher.js';
import { outboxCount, outboxJobs, spawnedMessage, type OutboxLimits } from './outbox.js';
import type { MuCompute, MuScheduler } from './ports.js';
import type { PushRate } from './push-rate.js';
import { PushBudgetExceeded, StaleJob, type MuStore } from './store.js';

/** What the job actors of a node share. */
export interface MuRuntime {
  store: MuStore;
  scheduler: MuScheduler;
  compute: MuCompute;
  /** Signs outbox items. */
  wallet: Wallet;
  limits: OutboxLimits;
  /** Outbox items per second per sending process. */
  rate: PushRate;
  retry: { firstMs: number; maxMs: number; attempts: number };
  /** Wall clock, unix ms (the records' times). */
  now(): number;
  /**
   * On a network: publishes an item to the bundler (rejects when it was not taken). A message to
   * what is not a process (a wallet) is published this way instead of skipped.
   */
  publish?(raw: Uint8Array): Promise<void>;
}

/** Tries for an error that is neither known to pass nor known to repeat. */
const UNKNOWN_ERROR_ATTEMPTS = 3;

/** At most this many notes are kept in a job's reason; the rest are counted. */
const MAX_NOTES = 8;

export const summarize = (notes: string[]): string =>
  notes.length <= MAX_NOTES ? notes.join('; ') : `${notes.slice(0, MAX_NOTES).join('; ')}; and ${notes.length - MAX_NOTES} more`;

export interface PushJobArgs {
  id: string;
  mu: MuRuntime;
}

/** `scheduled`: answers once the job's item has a slot (or the job ended without one). */
export type PushJobRequest = { op: 'scheduled' };
export type ScheduledReply = { ok: { slot: number | undefined; assignmentId?: string; stage: JobStage } } | { error: string };
/** `scheduled`: answered once the job's message has a slot (or the job ended without one). */
export type PushJobProtocol = Call<PushJobRequest, ScheduledReply>;

interface State {
  job: JobRecord;
  mu: MuRuntime;
  /** Aborted when this actor dies: a handler still awaiting then must not write. */
  signal: AbortSignal;
  /** Retries of the current stage: waits for another unit, and unexpected errors. */
  attempts: number;
  errors: number;
  waiting: From[];
}

type Info = { tag: 'step' };

const STEP: Info = { tag: 'step' };

/** Errors that say the other unit is (for now) out of reach: retried, not a failure of the job. */
const transient = (e: unknown) => {
  const name = (e as Error)?.name;
  return name === 'SchedulerUnavailable' || name === 'CallError' || (name === 'CuError' && (e as { status?: number }).status === 503);
};

/** What `scheduled` answers once the job is past its schedule stage. */
const scheduledReply = (job: JobRecord): ScheduledReply =>
  job.stage === 'failed' && job.slot === undefined
    ? { error: job.reason ?? 'failed' }
    : { ok: { slot: job.slot, ...(job.assignmentId ? { assignmentId: job.assignmentId } : {}), stage: job.stage } };

function answerWaiting(s: State, ctx: ActorContext): void {
  if (s.job.stage === 'schedule') return;
  const reply = scheduledReply(s.job);
  for (const from of s.waiting) ctx.reply(from, reply);
  s.waiting = [];
}

async function save(s: State, patch: Partial<JobRecord>, created: JobRecord[] = []): Promise<void> {
  // Killed while awaiting the SU or CU: the restarted incarnation (or the next start) redoes
  // this stage from the record; this one writes nothing.
  if (enforced('killed-handler-guard')) s.signal.throwIfAborted();
  const next: JobRecord = { ...s.job, ...patch, rev: s.job.rev + 1, updatedAt: s.mu.now() };
  // An ended job no longer needs its item (the SU keeps it): its record is not rewritten with it.
  if (isTerminal(next)) delete next.raw;
  await s.mu.store.write(next, created, s.mu.limits.maxPushJobs);
  s.job = next;
  s.attempts = 0;
  s.errors = 0;
}

function request(job: JobRecord): SequencerRequest {
  if (job.kind === 'assign') return { op: 'assign', id: job.messageId, ...(job.exclude?.length ? { exclude: job.exclude } : {}) };
  return { op: job.kind === 'spawn' ? 'spawn' : 'message', id: job.messageId, raw: job.raw! };
}

/**
 * Why a job's item is not scheduled here, if so: a message to something this node's SU does not
 * host (a wallet, or a process elsewhere); the reference MU would post it to Arweave, which this
 * node cannot reach.
 */
async function unhosted(mu: MuRuntime, job: JobRecord): Promise<string | undefined> {
  if (job.kind === 'spawn' || (await mu.scheduler.processTags(job.processId))) return undefined;
  return `${job.processId} is not a process this node's SU hosts`;
}

async function schedule(s: State): Promise<void> {
  const { job, mu } = s;
  const skip = await unhosted(mu, job);
  if (skip && mu.publish && job.kind === 'message' && job.raw) {
    // Not reached: retried with backoff as an SU out of reach.
    await mu.publish(job.raw).catch((e: unknown) => {
      throw new SchedulerUnavailable(`publishing ${job.messageId} to the bundler: ${(e as Error).message}`);
    });
    return save(s, { stage: 'done', reason: `published to the bundler: ${job.processId} is not a process` });
  }
  if (skip) return save(s, { stage: 'skipped', reason: skip });
  const r = await mu.scheduler.schedule(job.processId, request(job));
  if ('error' in r && r.transient) throw new SchedulerUnavailable(r.error);
  if ('error' in r) return save(s, { stage: 'failed', reason: r.error });
  const { slot, assignmentId } = r.ok;
  // An assignment of a message the process's log already holds as sent to it: that message's
  // own push follows its result; following it here too would push its outbox a second time.
  if (job.kind === 'assign' && r.ok.existing && r.ok.kind === 'message') {
    return save(s, { stage: 'done', slot, assignmentId, reason: `${job.messageId} was sent to ${job.processId} itself (slot ${slot}): its own push follows it` });
  }
  if (job.kind === 'spawn' && job.spawnedBy) {
    const told = await spawnedMessage(job, mu.wallet, mu.now()).catch((e: unknown) => {
      if (e instanceof InvalidDataItem) return `the Spawned notice to ${job.spawnedBy!.processId} was not pushed: ${e.message}`;
      throw e;
    });
    return typeof told === 'string' ? finish(s, [], [told], { slot, assignmentId }) : finish(s, [told], [], { slot, assignmentId });
  }
  if (!job.follow) return save(s, { stage: 'done', slot, assignmentId });
  // Not written: the slot is durable in the SU's log, and a job restarted from `schedule` asks
  // the SU again and gets the same slot (it dedupes by id). One commit fewer per message; the
  // next write (`done`) follows the stored revision.
  s.job = { ...job, stage: 'result', slot, assignmentId };
}

async function result(s: State, ctx: ActorContext): Promise<boolean> {
  const { job, mu } = s;
  let r;
  try {
    r = await mu.compute.result(job.processId, job.messageId);
  } catch (e) {
    // The CU cannot compute this process (unknown, or its module cannot run): nothing to push.
    if ((e as Error)?.name !== 'CuError' || transient(e)) throw e;
    await save(s, { stage: 'failed', reason: `the CU has no result: ${(e as Error).message}` });
    return true;
  }
  if ('wait' in r) return false;
  const limited = mu.rate.admit(job.processId, outboxCount(r.result), ctx.clock.now());
  if (limited) {
    await save(s, { stage: 'done', reason: limited });
    return true;
  }
  const tags = (await mu.scheduler.processTags(job.processId)) ?? [];
  const { jobs, notes } = await outboxJobs(
    r.result,
    {
      fromProcess: job.processId,
      fromModule: tags.find((t) => t.name === 'Module')?.value ?? '',
      fromMessage: job.messageId,
      root: job.root,
      ...(job.pushedFor ? { pushedFor: job.pushedFor } : {}),
      parent: job.id,
      depth: job.depth,
      pushed: mu.store.pushSize(job.root),
      now: mu.now(),
    },
    mu.wallet,
    mu.limits,
    mu.scheduler.address,
  );
  // A child that will not be scheduled here ends with its parent's write, not one of its own.
  for (const child of jobs) {
    const skip = await unhosted(mu, child);
    // (On a network, a message to a wallet is published by its own job.)
    if (skip && !(mu.publish && child.kind === 'message')) Object.assign(child, { stage: 'skipped', reason: skip } satisfies Partial<JobRecord>);
  }
  await finish(s, jobs, notes);
  return true;
}

/** Moves the job to `done` with its children, or without them when they would overrun the push's budget. */
async function finish(s: State, children: JobRecord[], notes: string[], patch: Partial<JobRecord> = {}): Promise<void> {
  try {
    await save(s, { ...patch, stage: 'done', children: children.map((j) => j.id), ...(notes.length ? { reason: summarize(notes) } : {}) }, children);
  } catch (e) {
    // Sibling jobs used up the push's budget since it was read.
    if (!(e instanceof PushBudgetExceeded)) throw e;
    await save(s, { ...patch, stage: 'done', reason: e.message });
  }
}

/** Starts the children of a done job; those that ended already start nothing. */
async function startChildren(s: State, ctx: ActorContext): Promise<void> {
  for (const id of s.job.children ?? []) {
    // As the durable store has it: in a cluster, an incarnation killed while it wrote may have
    // made the children this one starts, and this node's copy may not hold them.
    const child = await s.mu.store.current(id);
    if (child && !isTerminal(child)) await startJob(ctx, id);
  }
}

export const pushJob: Behaviour<PushJobArgs, State, PushJobProtocol> = {
  init({ id, mu }, ctx) {
    const job = mu.store.job(id);
    if (!job) return { stop: `no push job ${id}` };
    // In a cluster another node may have taken the job over (this one was thought down).
    if (!mu.store.owns(id)) return { ignore: true };
    ctx.send(ctx.self, STEP);
    return { ok: { job, mu, signal: ctx.signal, attempts: 0, errors: 0, waiting: [] } };
  },

  handleCall(req, from, s) {
    if (req.op !== 'scheduled') return { reply: { error: `unknown request ${JSON.stringify(req)}` }, state: s };
    if (s.job.stage === 'schedule') {
      s.waiting.push(from);
      return { noreply: true, state: s };
    }
    return { reply: scheduledReply(s.job), state: s };
  },

  async handleInfo(msg: Info, s, ctx) {
    if (msg.tag !== 'step') return { state: s };
    try {
      switch (s.job.stage) {
        case 'schedule':
          await schedule(s);
          answerWaiting(s, ctx);
          break;
        case 'result':
          if (!(await result(s, ctx))) return retry(s, ctx, `result of ${s.job.messageId} not ready`);
          break;
        case 'done':
          await startChildren(s, ctx);
          return { stop: 'normal', state: s };
        default:
          return { stop: 'normal', state: s };
      }
    } catch (e) {
      // This incarnation was killed while it awaited: whatever it does now is dropped.
      if (s.signal.aborted && enforced('killed-handler-guard')) throw e;
      if (e instanceof StaleJob) return reload(s, ctx);
      if (e instanceof InvalidDataItem) return fail(s, ctx, `${s.job.stage}: ${e.message}`);
      if (transient(e)) return retry(s, ctx, (e as Error).message);
      return retry(s, ctx, `${s.job.stage} failed: ${formatReason(e)}`, 'unknown');
    }
    ctx.send(ctx.self, STEP);
    return { state: s };
  },

  terminate(_reason, s, ctx) {
    // A job stopped before its item was scheduled leaves callers to retry (it resumes at start).
    for (const from of s.waiting) ctx.reply(from, { error: 'the push job stopped before its message was scheduled; it resumes when the MU restarts' } satisfies ScheduledReply);
  },
};

/**
 * The record moved on without this incarnation: a killed one, whose handler could not be stopped,
 * finished a write after this one read the record. Go on from what is stored.
 */
function reload(s: State, ctx: ActorContext) {
  const job = s.mu.store.job(s.job.id);
  if (!job) return { stop: 'normal' as const, state: s };
  s.job = job;
  answerWaiting(s, ctx);
  // From `done` too: its step starts the children the other write created.
  ctx.send(ctx.self, STEP);
  return { state: s };
}

/** Ends the job as failed, for good: the record says why. */
async function fail(s: State, ctx: ActorContext, reason: string) {
  try {
    await save(s, { stage: 'failed', reason });
  } catch (e) {
    if (e instanceof StaleJob) return reload(s, ctx);
    throw e;
  }
  answerWaiting(s, ctx);
  return { stop: 'normal' as const, state: s };
}

/** Tries the stage again after a backoff; `unknown` counts against UNKNOWN_ERROR_ATTEMPTS instead. */
async function retry(s: State, ctx: ActorContext, why: string, kind: 'transient' | 'unknown' = 'transient') {
  const { firstMs, maxMs } = s.mu.retry;
  const attempts = kind === 'unknown' ? UNKNOWN_ERROR_ATTEMPTS : s.mu.retry.attempts;
  const tries = kind === 'unknown' ? ++s.errors : ++s.attempts;
  if (tries > attempts) return fail(s, ctx, `gave up after ${attempts} attempts: ${why}`);
  const delay = Math.min(maxMs, firstMs * 2 ** (tries - 1));
  ctx.log[kind === 'unknown' ? 'warn' : 'debug']({ job: s.job.id, stage: s.job.stage, attempt: tries, delay }, `push job waits: ${why}`);
  ctx.sendAfter(delay, STEP);
  return { state: s };
}
