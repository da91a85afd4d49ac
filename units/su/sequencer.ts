/**
 * The slot sequencer of one process: the actor `su/<processId>`, the single writer of that
 * process's log.
 *
 * A request (spawn, message, assign) that is not a duplicate is queued and the caller is not
 * answered yet (`noreply`). Queued requests are taken as a run: each gets the next slot and a
 * timestamp, in memory; the run is signed (inline, or on the signing pool, whose answer comes
 * back as a message), then appended to the store; the next run can be signed while the
 * previous one is being committed (clustered: once it is replicated and committed, so that
 * what queued meanwhile is one run). Callers are answered only when the commit holding their
 * slot is durable. A message id that is already scheduled — durable, or anywhere in that
 * pipeline — gets its existing slot; it never gets a second one.
 *
 * A run that cannot be signed is refused (its callers get the reason; its slots are given back).
 * A failed write crashes the actor. Its supervisor restarts it; `init` waits
 * until the dead incarnation's appends have settled and loads the durable state, so the next
 * slot follows the last durable one. (The store refuses a run that does not start at the
 * durable next slot, so even a write issued by a dead incarnation cannot take a slot twice.)
 *
 * It stops itself (`normal`) after `idleMs` without requests and with nothing in flight.
 */
import type { ActorContext, Behaviour, From, TimerHandle } from '../../runtime/index.js';
import { formatReason } from '../../runtime/index.js';
import type { AssignmentSigner, ChainHead, RunItem, SignedAssignment } from './assignment.js';
import type { ReplicaWriter, SuReplica } from './replica.js';
import type { NewSlot, SlotKind, SlotRecord, SuStore } from './store.js';
import { parseDataItem } from '../ans104/index.js';
import { enforced } from '../safety.js';
import { checkExclude } from './validate.js';

/** What the sequencers of a node share. */
export interface SuRuntime {
  store: SuStore;
  signer: AssignmentSigner;
  /** Block height written into assignments. */
  blockHeight(): number;
  /** Wall clock, unix ms (assignments' Timestamp). */
  now(): number;
  /** Stop after this many ms without requests; 0: never. */
  idleMs: number;
  /** Most slots signed and written as one run. */
  maxRun: number;
  /**
   * Whether this SU may still schedule new messages for a process: a refusal reason, or
   * undefined. Passed in by whoever assembles the node (the AO-Sec origin's view of who hosts
   * what), so that the SU knows nothing of challenges. A spawn is asked with its bytes (the
   * process may set terms an SU must meet to host it, e.g. a minimum stake).
   */
  hosting?: (processId: string, spawn?: Uint8Array) => string | undefined;
  /** In a cluster: the replicated log that keeps one writer per process (see replica.ts). */
  replica?: SuReplica;
  /**
   * In a cluster: the bytes of a message another node's log holds (undefined: no log does), for
   * an assignment of it to a process this node writes.
   */
  fetchItem?: (id: string) => Promise<Uint8Array | undefined>;
}

export interface SequencerArgs {
  processId: string;
  su: SuRuntime;
}

export type SequencerRequest =
  | { op: 'spawn'; id: string; raw: Uint8Array }
  | { op: 'message'; id: string; raw: Uint8Array }
  /** Assign a transaction this SU holds (`POST /?process-id=&assign=`). */
  | { op: 'assign'; id: string; exclude?: string[] }
  /**
   * Another SU's signed log, handed over by the AO-Sec origin when this SU takes the process:
   * written as it is, through the replica and commit path every run takes, to an empty log only.
   */
  | { op: 'adopt'; slots: SlotRecord[] };

/**
 * `ready` is answered once `init` has run, i.e. once this node's log holds every slot the
 * replicated log had when the sequencer claimed it (what a read waits for during a takeover),
 * and once `slot`, if this sequencer assigned it, is committed here (a run is in the replicated
 * log before it is in this node's).
 */
export type SequencerCall = SequencerRequest | { op: 'ready'; slot?: number };

/** The answer to `ready`: the next slot of this node's (caught-up) log. */
export type ReadyReply = { ready: { nextSlot: number } };

export interface Scheduled {
  processId: string;
  slot: number;
  assignmentId: string;
  messageId: string;
  timestamp: number;
  /** true when the message was already scheduled before this request */
  existing: boolean;
  /** What the slot assigns: the spawn, a message sent to the process, or an assignment of a message. */
  kind?: SlotKind;
}

/** `unhosted`: the process may no longer be scheduled here (see SuRuntime.hosting). */
export type ScheduleReply = { ok: Scheduled } | { error: string; unhosted?: true; transient?: true };

interface Pending {
  kind: SlotKind;
  messageId: string;
  raw?: Uint8Array;
  exclude?: string[];
  from: From[];
  slot?: number;
  timestamp?: number;
  blockHeight?: number;
  result?: Scheduled;
}

interface State {
  processId: string;
  su: SuRuntime;
  hosted: boolean;
  next: number;
  head: ChainHead | null;
  lastTimestamp: number;
  /** Accepted, waiting for a run. */
  queue: Pending[];
  /** The run being signed on the pool. */
  signing: Pending[] | null;
  drainQueued: boolean;
  /** Runs being appended, oldest first, with their promise. */
  writing: { run: Pending[]; done: Promise<void> }[];
  /** Every accepted request not yet answered, by message id. */
  waiting: Map<string, Pending>;
  lastActive: number;
  idleTimer: TimerHandle | undefined;
  /** The replicated log, when clustered; runs are replicated in order, each after the last. */
  replica: ReplicaWriter | undefined;
  replicated: Promise<void>;
  /** `ready` calls waiting for a slot of a run being written. */
  readers: { slot: number; from: From }[];
}

type Info =
  | { tag: 'drain' }
  | { tag: 'signed'; results: SignedAssignment[] }
  /** `unavailable`: the signing pool failed, not the request (a worker died under it). */
  | { tag: 'signFailed'; error: string; unavailable: boolean }
  | { tag: 'written' }
  | { tag: 'writeFailed'; error: string; fenced?: true }
  | { tag: 'replicaLost'; error: string }
  | { tag: 'fetched'; id: string; raw?: Uint8Array; error?: string }
  | { tag: 'idle' };

const fromRecord = (processId: string, r: SlotRecord, existing: boolean): Scheduled => ({
  processId,
  slot: r.slot,
  assignmentId: r.assignmentId,
  messageId: r.messageId,
  timestamp: r.timestamp,
  existing,
  kind: r.kind,
});

export const sequencer: Behaviour<SequencerArgs, State> = {
  async init({ processId, su }, ctx) {
    // Finish with the previous incarnation's appends before reading what is durable.
    ctx.trapExit(true);
    await su.store.settled(processId);
    let replica: ReplicaWriter | undefined;
    if (su.replica) {
      try {
        replica = await su.replica.claim(processId, su.store.process(processId)?.nextSlot ?? 0);
      } catch (e) {
        return { stop: (e as Error).name === 'NotOwner' ? { not_owner: (e as Error).message } : { claim_failed: (e as Error).message } };
      }
      // An earlier owner's slots first: this one continues after the last of them.
      if (replica.missing.length > 0) await su.store.append(processId, replica.missing);
      const self = ctx.self;
      replica.onLost((e) => ctx.send(self, { tag: 'replicaLost', error: e.message } satisfies Info));
    }
    const record = su.store.process(processId);
    const state: State = {
      processId,
      su,
      hosted: record !== undefined,
      next: record?.nextSlot ?? 0,
      head: record ? { slot: record.head.slot, id: record.head.id, hashChain: record.head.hashChain } : null,
      lastTimestamp: record?.head.timestamp ?? 0,
      queue: [],
      signing: null,
      drainQueued: false,
      writing: [],
      waiting: new Map(),
      lastActive: ctx.clock.now(),
      idleTimer: undefined,
      replica,
      replicated: Promise.resolve(),
      readers: [],
    };
    armIdle(state, ctx, su.idleMs);
    return { ok: state };
  },

  handleCall(req: SequencerCall, from, state, ctx) {
    state.lastActive = ctx.clock.now();
    const { processId, su } = state;
    const answer = (reply: ScheduleReply) => ({ reply, state });
    if (req.op === 'ready') {
      if (req.slot !== undefined && req.slot < state.next && req.slot >= durableNext(state)) {
        state.readers.push({ slot: req.slot, from });
        return { noreply: true, state };
      }
      return { reply: { ready: { nextSlot: durableNext(state) } } satisfies ReadyReply, state };
    }

    if (req.op === 'adopt') return adopt(state, ctx, req.slots, from);
    if (req.op === 'spawn' && req.id !== processId) return answer({ error: `spawn ${req.id} sent to the sequencer of ${processId}` });
    if (req.op !== 'spawn' && !state.hosted) return answer({ error: `Process not found: ${processId}` });

    // Already scheduled: in the pipeline, or durable.
    const dedupe = enforced('su-dedupe');
    const pending = dedupe ? state.waiting.get(req.id) : undefined;
    if (pending) {
      pending.from.push(from);
      return { noreply: true, state };
    }
    const slot = dedupe ? su.store.slotOf(req.id, processId) : undefined;
    if (slot !== undefined) {
      const record = su.store.slot(processId, slot);
      if (record) return answer({ ok: fromRecord(processId, record, true) });
    }
    // Checked after the dedupe: a message scheduled before the process was unhosted keeps its slot.
    const refusal = su.hosting?.(processId, req.op === 'spawn' ? req.raw : undefined);
    if (refusal !== undefined) return answer({ error: refusal, unhosted: true });
    // Whoever asks (a route, the MU, the AO-Sec origin), the assignment built must be one the
    // item limits allow: once signed and stored, a log that holds it could not be read back.
    const badExclude = req.op === 'assign' && req.exclude ? checkExclude(req.exclude) : undefined;
    if (badExclude !== undefined) return answer({ error: badExclude });

    const p: Pending =
      req.op === 'assign'
        ? { kind: 'assign', messageId: req.id, ...(req.exclude?.length ? { exclude: req.exclude } : {}), from: [from] }
        : { kind: req.op === 'spawn' ? 'process' : 'message', messageId: req.id, raw: req.raw, from: [from] };
    // Clustered, the log must hold what it assigns: another node that takes the process over has
    // no other copy of a message that is in a log this node writes.
    if (req.op === 'assign' && su.replica) {
      const raw = su.store.item(req.id);
      if (raw) p.raw = raw;
    }
    if (req.op === 'assign' && !p.raw && !su.store.hasItem(req.id)) {
      if (!su.fetchItem) return answer({ error: `Assigned transaction not found on this SU: ${req.id}` });
      // In a cluster the message may be in a log another node writes: fetched first, then
      // assigned with its bytes (so that this log, and every CU reading it, holds them).
      state.waiting.set(req.id, p);
      const self = ctx.self;
      su.fetchItem(req.id).then(
        (raw) => ctx.send(self, { tag: 'fetched', id: req.id, ...(raw ? { raw } : {}) } satisfies Info),
        (e) => ctx.send(self, { tag: 'fetched', id: req.id, error: errorText(e) } satisfies Info),
      );
      return { noreply: true, state };
    }
    if (req.op === 'spawn') state.hosted = true;
    state.queue.push(p);
    state.waiting.set(req.id, p);
    queueDrain(state, ctx);
    return { noreply: true, state };
  },

  handleInfo(msg: Info, state, ctx) {
    switch (msg.tag) {
      case 'drain':
        state.drainQueued = false;
        startRun(state, ctx);
        return { state };
      case 'signed': {
        const run = state.signing;
        state.signing = null;
        if (!run) return { state };
        write(state, ctx, run, msg.results);
        if (state.queue.length > 0) queueDrain(state, ctx);
        return { state };
      }
      case 'signFailed': {
        // The pool's own failure: a restart (and the callers' retries) will find it working.
        if (msg.unavailable) throw new Error(`signing failed: ${msg.error}`);
        const run = state.signing;
        state.signing = null;
        if (run) refuseRun(state, ctx, run, `the assignment could not be signed: ${msg.error}`);
        if (state.queue.length > 0) queueDrain(state, ctx);
        return { state };
      }
      case 'written': {
        const w = state.writing.shift();
        if (w) answerRun(state, ctx, w.run);
        const next = durableNext(state);
        state.readers = state.readers.filter((r) => r.slot >= next || (ctx.reply(r.from, { ready: { nextSlot: next } } satisfies ReadyReply), false));
        if (state.queue.length > 0) queueDrain(state, ctx);
        return { state };
      }
      case 'writeFailed':
        // Fenced: another node writes this log now. Stop (normally) rather than crash: a restart
        // here could only fail not_owner, again and again (see replicaLost).
        if (msg.fenced) return { stop: { shutdown: `append failed: ${msg.error}` }, state };
        // Crash: the supervisor restarts the sequencer from the durable log.
        throw new Error(`append failed: ${msg.error}`);
      case 'fetched': {
        const p = state.waiting.get(msg.id);
        if (!p || p.raw || state.queue.includes(p)) return { state };
        if (msg.raw && itemIdOf(msg.raw) === msg.id) {
          p.raw = msg.raw;
          state.queue.push(p);
          queueDrain(state, ctx);
          return { state };
        }
        state.waiting.delete(msg.id);
        // Not reached (for now) is not "not found": the caller tries again.
        const reply: ScheduleReply = msg.error
          ? { error: `Assigned transaction could not be fetched from the cluster (${msg.error}): ${msg.id}`, transient: true }
          : { error: `Assigned transaction not found on this SU: ${msg.id}` };
        for (const from of p.from) ctx.reply(from, reply);
        return { state };
      }
      case 'replicaLost':
        // No longer the writer: stop (a normal exit, so the supervisor does not restart it: a
        // restart could only fail, not_owner, again and again, until the supervisor gives up).
        // The next request starts the sequencer wherever the process's owner now is.
        return { stop: { shutdown: `lost the process log: ${msg.error}` }, state };
      case 'idle': {
        state.idleTimer = undefined;
        const idleFor = ctx.clock.now() - state.lastActive;
        const busy = state.queue.length > 0 || state.signing !== null || state.writing.length > 0;
        if (!busy && idleFor >= state.su.idleMs) return { stop: 'normal', state };
        armIdle(state, ctx, Math.max(1, state.su.idleMs - idleFor));
        return { state };
      }
      default:
        return { state };
    }
  },

  async terminate(_reason, state, ctx) {
    // Stopped in order (shutdown): answer whoever's slot becomes durable; the rest get the exit.
    try {
      for (const w of state.writing) {
        await w.done;
        answerRun(state, ctx, w.run);
      }
    } catch {
      return;
    }
    await state.replica?.release().catch(() => undefined);
  },
};

/** The next slot of this node's committed log (runs being written are not in it yet). */
const durableNext = (state: State) => state.su.store.process(state.processId)?.nextSlot ?? 0;

/** The id of an item's bytes, or undefined for bytes that are not one. */
function itemIdOf(raw: Uint8Array): string | undefined {
  try {
    return parseDataItem(raw).id;
  } catch {
    return undefined;
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : formatReason(e));

function armIdle(state: State, ctx: ActorContext, ms: number): void {
  if (state.su.idleMs > 0) state.idleTimer = ctx.sendAfter(ms, { tag: 'idle' } satisfies Info);
}

/** Requests that arrive together wait for one drain message, so they form one run. */
function queueDrain(state: State, ctx: ActorContext): void {
  if (state.drainQueued || state.signing) return;
  state.drainQueued = true;
  ctx.send(ctx.self, { tag: 'drain' } satisfies Info);
}

function startRun(state: State, ctx: ActorContext): void {
  if (state.signing || state.queue.length === 0) return;
  // Clustered, a run waits while the previous one is being replicated: under load, what queues
  // meanwhile goes to the stream as one append (a round trip to three servers) instead of many.
  if (state.replica && state.writing.length > 0) return;
  const { su } = state;
  const run = state.queue.splice(0, su.maxRun);
  const items: RunItem[] = [];
  const blockHeight = su.blockHeight();
  for (const p of run) {
    // Timestamps never go backwards within a log, even if the wall clock does.
    const timestamp = Math.max(su.now(), state.lastTimestamp);
    state.lastTimestamp = timestamp;
    p.slot = state.next++;
    p.timestamp = timestamp;
    p.blockHeight = blockHeight;
    items.push({ messageId: p.messageId, slot: p.slot, timestamp, blockHeight, ...(p.exclude ? { exclude: p.exclude } : {}) });
  }
  let signed: SignedAssignment[] | Promise<SignedAssignment[]>;
  try {
    signed = su.signer.signRun({ processId: state.processId, prev: state.head, items });
  } catch (e) {
    refuseRun(state, ctx, run, `the assignment could not be signed: ${errorText(e)}`);
    if (state.queue.length > 0) queueDrain(state, ctx);
    return;
  }
  if (Array.isArray(signed)) {
    write(state, ctx, run, signed);
    if (state.queue.length > 0) queueDrain(state, ctx);
    return;
  }
  state.signing = run;
  const self = ctx.self;
  signed.then(
    (results) => ctx.send(self, { tag: 'signed', results } satisfies Info),
    (e) => ctx.send(self, { tag: 'signFailed', error: errorText(e), unavailable: (e as Error)?.name === 'SignerUnavailable' } satisfies Info),
  );
  // The chain head moves when the signatures are back (see write).
}

function write(state: State, ctx: ActorContext, run: Pending[], signed: SignedAssignment[]): void {
  const { processId } = state;
  const slots: NewSlot[] = run.map((p, i) => {
    const a = signed[i]!;
    p.result = { processId, slot: p.slot!, assignmentId: a.id, messageId: p.messageId, timestamp: p.timestamp!, existing: false, kind: p.kind };
    return {
      slot: p.slot!,
      kind: p.kind,
      assignmentId: a.id,
      messageId: p.messageId,
      timestamp: p.timestamp!,
      blockHeight: p.blockHeight!,
      hashChain: a.hashChain,
      assignment: a.raw,
      ...(p.raw ? { item: p.raw } : {}),
    };
  });
  const end = signed[signed.length - 1]!;
  state.head = { slot: run[run.length - 1]!.slot!, id: end.id, hashChain: end.hashChain };
  commit(state, ctx, run, slots);
}

/** Writes a run's slots and answers its callers once they are durable. */
function commit(state: State, ctx: ActorContext, run: Pending[], slots: NewSlot[]): void {
  if (ctx.signal.aborted && enforced('killed-handler-guard')) return; // a dead incarnation writes nothing
  const { processId, su } = state;
  // Clustered: the replicated log takes the run first (and refuses it if another node wrote
  // since); only then is it committed here and answered.
  const replica = state.replica;
  const done = replica
    ? (state.replicated = state.replicated.then(() => replica.append(slots))).then(() => su.store.append(processId, slots))
    : su.store.append(processId, slots);
  state.writing.push({ run, done });
  const self = ctx.self;
  done.then(
    () => ctx.send(self, { tag: 'written' } satisfies Info),
    (e) => ctx.send(self, { tag: 'writeFailed', error: formatReason(e), ...((e as Error)?.name === 'StaleWriter' ? { fenced: true as const } : {}) } satisfies Info),
  );
}

/**
 * Adopts another SU's log (see SequencerRequest). Asked again for a log it already adopted (the
 * first answer was lost), it answers the same; a log that holds anything else is never rewritten.
 */
function adopt(state: State, ctx: ActorContext, slots: SlotRecord[], from: From) {
  const { processId, su } = state;
  const last = slots[slots.length - 1];
  if (!last || slots.some((s, i) => s.slot !== i) || slots[0]!.kind !== 'process' || slots[0]!.messageId !== processId) {
    return { reply: { error: `an adopted log of ${processId} starts at slot 0 with its spawn and has no gap` } satisfies ScheduleReply, state };
  }
  if (state.next === last.slot + 1 && su.store.slot(processId, last.slot)?.assignmentId === last.assignmentId && !state.queue.length && !state.signing) {
    return { reply: { ok: fromRecord(processId, last, true) } satisfies ScheduleReply, state };
  }
  if (state.hosted || state.next !== 0 || state.queue.length > 0 || state.signing) {
    return { reply: { error: `this SU's log of ${processId} is not empty: it cannot adopt another SU's` } satisfies ScheduleReply, state };
  }
  const run: Pending[] = slots.map((s) => ({
    kind: s.kind,
    messageId: s.messageId,
    from: [],
    slot: s.slot,
    timestamp: s.timestamp,
    blockHeight: s.blockHeight,
    result: fromRecord(processId, s, false),
  }));
  run[run.length - 1]!.from.push(from);
  // Requests for these messages meanwhile wait for their adopted slots (never a second one).
  for (const p of run) state.waiting.set(p.messageId, p);
  state.hosted = true;
  state.next = last.slot + 1;
  state.head = { slot: last.slot, id: last.assignmentId, hashChain: last.hashChain };
  state.lastTimestamp = Math.max(state.lastTimestamp, last.timestamp);
  commit(state, ctx, run, slots);
  return { noreply: true as const, state };
}

/**
 * A run that could not be signed was never written: its slots are given back (no later run was
 * started while it was signing) and its callers get the reason. Signing fails the same way
 * again for the same request, so it is refused, not retried by a restart.
 */
function refuseRun(state: State, ctx: ActorContext, run: Pending[], error: string): void {
  state.next = run[0]!.slot!;
  if (run.some((p) => p.kind === 'process')) state.hosted = false;
  ctx.log.warn({ processId: state.processId, slots: run.length, error }, 'assignments refused');
  for (const p of run) {
    state.waiting.delete(p.messageId);
    for (const from of p.from) ctx.reply(from, { error } satisfies ScheduleReply);
  }
}

function answerRun(state: State, ctx: ActorContext, run: Pending[]): void {
  for (const p of run) {
    state.waiting.delete(p.messageId);
    for (const from of p.from) ctx.reply(from, { ok: p.result! } satisfies ScheduleReply);
  }
}
