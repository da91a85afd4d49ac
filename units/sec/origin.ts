/**
 * The AO-Sec origin actor (`sec/origin`): takes challenges, evidence and offers, and drives one
 * hosting machine per challenged process. It does what the machines cannot: verifies
 * signatures, asks the SU to schedule or publish, watches deadlines, dry-runs offers, and hands
 * a log over to a new SU. The machines only receive the resulting facts as events.
 *
 * Every event is followed by writing the machine's persisted snapshot (and the hosting view the
 * SUs read) before the caller is answered. `init` restores every machine from LMDB and re-arms
 * its deadline and its retries from the snapshot's context, so a killed origin resumes each
 * challenge where it was. Deadlines are unix ms (`now`), so they survive restarts.
 */
import { createActor, type Actor, type Snapshot } from 'xstate';
import type { ActorContext, Behaviour, Call, TimerHandle } from '../../runtime/index.js';
import { formatReason, typedName } from '../../runtime/index.js';
import { parseDataItem, tagValue } from '../ans104/index.js';
import type { EvalOutput } from '../cu/index.js';
import type { ScheduleReply } from '../su/index.js';
import { LIVENESS_PERIOD_TAG, PUBLICATION_WINDOW_TAG, type SecConfig } from './config.js';
import { doubleAssignment, hostAssignment, isHostAssignment } from './evidence.js';
import { hostingMachine, type HostingContext, type HostingEvent, type OpenChallenge } from './hosting-machine.js';
import { decisionOf } from './offer.js';
import { parseChallenge, parseEvidence, parseOffer, parseStake, Rejected, type SecRequest } from './requests.js';
import { doubleAssignmentOffense, parseSlashEvidence, type Offense, type Recompute } from './slashing.js';
import { SU_STAKE_TAG, type AccountView, type Slash, type StakeLedger } from './stake-ledger.js';
import type { SchedulerPort, Schedulers } from './schedulers.js';
import type { Lifecycle, SecStore } from './store.js';

export const ORIGIN = typedName<OriginProtocol>('sec/origin');

export interface OriginArgs {
  store: SecStore;
  ledger: StakeLedger;
  schedulers: Schedulers;
  /** This node's CU's facts for a message (slashing.ts); absent: attestations cannot be checked. */
  recompute?: Recompute;
  /** A dry-run of a message against a process (the CU's). */
  dryRun(processId: string, message: unknown): Promise<EvalOutput>;
  config: SecConfig;
  /** Wall clock, unix ms. */
  now(): number;
  /** Called after each persisted transition (tests await lifecycle changes with it). */
  observe?(view: SecView): void;
}

export type OriginRequest =
  | { op: 'challenge'; raw: Uint8Array }
  | { op: 'evidence'; raw: Uint8Array }
  | { op: 'offer'; raw: Uint8Array }
  | { op: 'get'; processId: string }
  | { op: 'stake'; raw: Uint8Array }
  | { op: 'slash'; raw: Uint8Array }
  | { op: 'stakes'; address: string };

export interface SecView {
  processId: string;
  state: Lifecycle;
  /** The machine's full state value, e.g. `challenged.liveness`. */
  phase: string;
  host: HostingContext['host'];
  challenge?: HostingContext['challenge'];
  unhostedAt?: number;
  reason?: string;
  kept?: HostingContext['kept'];
  history: HostingContext['history'];
  /** The host's stake in the ledger (GET only). */
  stake?: { staked: string; locked: string; slashed: string };
}

export type OriginReply =
  | { ok: SecView; decision?: string; answer?: string; slash?: Slash }
  | { ok: AccountView; slash?: Slash }
  | { error: string; status?: number };

/** Every request gets an OriginReply. */
export type OriginProtocol = Call<OriginRequest, OriginReply>;

type Info =
  | { tag: 'expire'; processId: string; challengeId: string }
  | { tag: 'attempt'; processId: string; challengeId: string }
  | { tag: 'scheduled'; processId: string; challengeId: string; reply: ScheduleReply }
  | { tag: 'unavailable'; processId: string; challengeId: string; error: string };

interface State {
  args: OriginArgs;
  machines: Map<string, Actor<typeof hostingMachine>>;
  deadlines: Map<string, TimerHandle>;
  retries: Map<string, TimerHandle>;
}

const phaseOf = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${phaseOf(v)}`)[0]!;

function viewOf(actor: Actor<typeof hostingMachine>): SecView {
  const s = actor.getSnapshot();
  const c = s.context;
  const phase = phaseOf(s.value);
  return {
    processId: c.processId,
    state: phase.split('.')[0] as Lifecycle,
    phase,
    host: c.host,
    ...(c.challenge ? { challenge: c.challenge } : {}),
    ...(c.unhostedAt !== undefined ? { unhostedAt: c.unhostedAt } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.kept ? { kept: c.kept } : {}),
    history: c.history,
  };
}

export const origin: Behaviour<OriginArgs, State, OriginProtocol> = {
  init(args, ctx) {
    const state: State = { args, machines: new Map(), deadlines: new Map(), retries: new Map() };
    for (const processId of args.store.processes()) {
      const snapshot = args.store.snapshot(processId) as Snapshot<unknown>;
      // With a snapshot, xstate takes the context from it; the input is only a required shape.
      const actor = createActor(hostingMachine, { snapshot, input: { processId, host: { address: '', since: 0 } } }).start();
      state.machines.set(processId, actor);
      arm(state, ctx, processId);
    }
    return { ok: state };
  },

  async handleCall(req, _from, state, ctx) {
    try {
      switch (req.op) {
        case 'get': {
          const r = view(state, req.processId);
          if ('ok' in r && 'host' in r.ok) {
            const { staked, locked, slashed } = state.args.ledger.account(r.ok.host.address);
            r.ok = { ...r.ok, stake: { staked, locked, slashed } };
          }
          return { reply: r, state };
        }
        case 'challenge':
          return { reply: await challenge(state, ctx, await parseChallenge(req.raw)), state };
        case 'evidence':
          return { reply: await evidence(state, ctx, await parseEvidence(req.raw)), state };
        case 'offer':
          return { reply: await offer(state, ctx, req.raw), state };
        case 'stakes':
          return { reply: { ok: state.args.ledger.account(req.address) }, state };
        case 'stake':
          return { reply: { ok: await state.args.ledger.apply(await parseStake(req.raw), state.args.now()) }, state };
        case 'slash': {
          const { slash, account } = await slashFor(state, await parseSlashEvidence(req.raw, state.args.recompute));
          return { reply: { ok: account, slash }, state };
        }
        default:
          return { reply: { error: `unknown request` }, state };
      }
    } catch (e) {
      if (e instanceof Rejected) return { reply: { error: e.message, status: e.status } satisfies OriginReply, state };
      throw e;
    }
  },

  async handleInfo(msg: Info, state, ctx) {
    const actor = state.machines.get(msg.processId);
    const open = actor?.getSnapshot().context.challenge;
    if (!actor || !open || open.challengeId !== msg.challengeId) return { state }; // a stale timer or answer
    const host = state.args.schedulers.get(actor.getSnapshot().context.host.address);
    switch (msg.tag) {
      case 'expire': {
        const left = open.deadline - state.args.now();
        if (left > 0) {
          state.deadlines.set(msg.processId, ctx.sendAfter(left, msg));
          return { state };
        }
        await apply(state, ctx, msg.processId, { type: 'EXPIRED', challengeId: open.challengeId, now: state.args.now(), head: host?.head(msg.processId) ?? -1 });
        return { state };
      }
      case 'attempt':
        if (!host) return { state };
        if (open.kind === 'publication') {
          // Published by the SU: its log holds message n's bytes at slot n.
          const rec = host.slot(msg.processId, open.slot!);
          if (rec?.item && rec.messageId === open.messageId) {
            await apply(state, ctx, msg.processId, { type: 'PUBLISHED', challengeId: open.challengeId, messageId: open.messageId, by: host.address });
          } else retry(state, ctx, msg.processId, open.challengeId);
          return { state };
        }
        askToSchedule(state, ctx, host, msg.processId, open.challengeId, open.messageId);
        return { state };
      case 'scheduled': {
        if ('ok' in msg.reply && host) {
          const rec = host.slot(msg.processId, msg.reply.ok.slot);
          // Answered only by an assignment the SU signed for this message.
          if (rec && (await isHostAssignment(rec.assignment, msg.processId, host.address, open.messageId))) {
            await apply(state, ctx, msg.processId, { type: 'ANSWERED', challengeId: open.challengeId, slot: rec.slot, assignmentId: rec.assignmentId });
            return { state };
          }
        }
        retry(state, ctx, msg.processId, open.challengeId);
        return { state };
      }
      case 'unavailable':
        ctx.log.debug({ processId: msg.processId, error: msg.error }, 'SU did not answer a liveness challenge');
        retry(state, ctx, msg.processId, open.challengeId);
        return { state };
      default:
        return { state };
    }
  },

  terminate(_reason, state) {
    for (const a of state.machines.values()) a.stop();
  },
};

function view(state: State, processId: string): OriginReply {
  const actor = state.machines.get(processId);
  if (actor) return { ok: viewOf(actor) };
  const held = state.args.schedulers.holding(processId);
  if (!held) return { error: `Process not found: ${processId}`, status: 404 };
  // Never challenged: hosted by its spawn's Scheduler, no history.
  return { ok: { processId, state: 'hosted', phase: 'hosted', host: hostOf(held.port, held.spawn, 0), history: [] } };
}

function hostOf(port: SchedulerPort, spawn: Uint8Array, since: number) {
  const scheduler = tagValue(parseDataItem(spawn).tags, 'Scheduler') ?? port.address;
  return { address: scheduler, ...(port.url ? { url: port.url } : {}), since };
}

/** The process's machine, created (hosted by its spawn's SU) on its first challenge. */
function machine(state: State, processId: string): { actor: Actor<typeof hostingMachine>; spawn: Uint8Array } {
  const held = state.args.schedulers.holding(processId);
  let actor = state.machines.get(processId);
  if (!held) throw new Rejected(`Process not found: no SU this origin reaches holds ${processId}`);
  if (!actor) {
    actor = createActor(hostingMachine, { input: { processId, host: hostOf(held.port, held.spawn, state.args.now()) } }).start();
    state.machines.set(processId, actor);
  }
  return { actor, spawn: held.spawn };
}

function period(spawn: Uint8Array, tag: string, fallback: number): number {
  const v = tagValue(parseDataItem(spawn).tags, tag);
  return v !== undefined && /^\d{1,12}$/.test(v) && Number(v) > 0 ? Number(v) : fallback;
}

async function challenge(state: State, ctx: ActorContext, r: SecRequest): Promise<OriginReply> {
  const { actor, spawn } = machine(state, r.processId);
  const c = actor.getSnapshot().context;
  const at = state.args.now();
  let event: HostingEvent;
  if (r.kind === 'liveness') {
    event = { type: 'LIVENESS', at, challengeId: r.id, messageId: r.message.id, deadline: at + period(spawn, LIVENESS_PERIOD_TAG, state.args.config.livenessPeriodMs) };
  } else if (r.kind === 'non-publication') {
    const a = hostAssignment(r.assignment, r.processId, c.host.address, 'the challenged assignment');
    event = { type: 'PUBLICATION', at, challengeId: r.id, slot: a.slot, messageId: a.messageId, deadline: at + period(spawn, PUBLICATION_WINDOW_TAG, state.args.config.publicationWindowMs) };
  } else throw new Rejected('not a challenge');
  refuseUnless(actor, event);
  if (r.kind === 'liveness') await state.args.store.putItem(r.id, r.message.raw);
  // Who challenged: the reward of a slash when the challenge fails (kept across restarts).
  await state.args.store.putItem(`${CHALLENGER}${r.id}`, Buffer.from(r.by));
  return { ok: await apply(state, ctx, r.processId, event) };
}

async function evidence(state: State, ctx: ActorContext, r: SecRequest): Promise<OriginReply> {
  const actor = state.machines.get(r.processId) ?? machine(state, r.processId).actor;
  const c = actor.getSnapshot().context;
  if (r.kind === 'double-assignment') {
    const proof = doubleAssignment(r.assignments, r.processId, c.host.address);
    const event: HostingEvent = {
      type: 'DOUBLE_ASSIGNMENT',
      at: state.args.now(),
      evidenceId: r.id,
      slot: proof.slot,
      kept: { assignmentId: proof.kept.id, messageId: proof.kept.messageId },
      other: { assignmentId: proof.other.id, messageId: proof.other.messageId },
    };
    refuseUnless(actor, event);
    const view = await apply(state, ctx, r.processId, event);
    // The same proof slashes the SU's stake, when it has one (POST /sec/slash says why not, if asked).
    const offense = { ...doubleAssignmentOffense(r.assignments, r.processId), evidenceId: r.id, challenger: r.by };
    const slashed = await slashFor(state, offense).catch((e: unknown) => (e instanceof Rejected ? undefined : Promise.reject(e)));
    return { ok: view, ...(slashed ? { slash: slashed.slash } : {}) };
  }
  if (r.kind === 'publication') {
    const open = c.challenge;
    if (!open || open.kind !== 'publication') throw new Rejected(`no non-publication challenge is open for ${r.processId}`);
    const a = hostAssignment(r.assignment, r.processId, c.host.address);
    if (a.slot !== open.slot) throw new Rejected(`the assignment is for slot ${a.slot}; the challenge is for slot ${open.slot}`);
    if (a.messageId !== r.message.id || open.messageId !== r.message.id) throw new Rejected(`message ${r.message.id} is not the one assigned at slot ${open.slot} (${open.messageId})`);
    return { ok: await apply(state, ctx, r.processId, { type: 'PUBLISHED', challengeId: open.challengeId, messageId: r.message.id, by: r.id }) };
  }
  throw new Rejected('not evidence');
}

async function offer(state: State, ctx: ActorContext, raw: Uint8Array): Promise<OriginReply> {
  const o = await parseOffer(raw);
  const actor = state.machines.get(o.processId);
  if (!actor || !actor.getSnapshot().matches('unhosted')) throw new Rejected(`Process ${o.processId} is not unhosted: offers are taken only for unhosted processes`);
  const c = actor.getSnapshot().context;
  const to = state.args.schedulers.get(o.address);
  if (!to) throw new Rejected(`the offering SU ${o.address} is not one this origin can hand the log to`);
  if (to.head(o.processId) !== undefined) throw new Rejected(`the SU ${o.address} already holds a log of ${o.processId}; it cannot continue it at slot ${(c.unhostedAt ?? -1) + 1}`);
  const at = state.args.now();
  // The process decides: the origin dry-runs the offer itself rather than trusting the SU's word,
  // and tells it the offering SU's active stake by its own ledger (any SU-Stake tag of the SU's is dropped).
  const stake = state.args.ledger.account(o.address).staked;
  const out = await state.args.dryRun(o.processId, {
    Id: o.item.id,
    Owner: o.address,
    Target: o.processId,
    ...(o.item.anchor ? { Anchor: o.item.anchor } : {}),
    Data: Buffer.from(o.item.data).toString('utf8'),
    Tags: [...o.item.tags.filter((t) => t.name !== SU_STAKE_TAG), { name: SU_STAKE_TAG, value: stake }],
  });
  const { decision, answer } = decisionOf(out);
  if (decision !== 'accept') {
    const view = await apply(state, ctx, o.processId, { type: 'OFFER', at, offerId: o.id, address: o.address, decision, ...(answer ? { answer } : {}) });
    return { ok: view, decision, ...(answer ? { answer } : {}) };
  }
  const from = state.args.schedulers.get(c.host.address);
  if (!from) throw new Rejected(`the previous SU ${c.host.address} cannot be reached to hand its log over`);
  const last = lastStanding(from, o.processId, c);
  const slots = from.slots(o.processId, 0, last);
  if (slots.length !== last + 1) throw new Rejected(`the previous SU's log of ${o.processId} has ${slots.length} of slots 0..${last}`);
  await to.adopt(o.processId, slots);
  const view = await apply(state, ctx, o.processId, { type: 'OFFER_ACCEPTED', at, offerId: o.id, address: o.address, ...(o.url ? { url: o.url } : {}), nextSlot: last + 1 });
  return { ok: view, decision, ...(answer ? { answer } : {}) };
}

/**
 * The last slot the new SU takes over. Double assignment: the disputed slot when the old log
 * holds the kept assignment there, else the slot before it (the kept message's bytes are not
 * in that log).
 */
function lastStanding(from: SchedulerPort, processId: string, c: HostingContext): number {
  const at = c.unhostedAt ?? from.head(processId) ?? 0;
  if (c.kept && from.slot(processId, c.kept.slot)?.assignmentId !== c.kept.assignmentId) return c.kept.slot - 1;
  return Math.min(at, from.head(processId) ?? at);
}

function slashFor(state: State, o: Offense): Promise<{ slash: Slash; account: AccountView }> {
  return state.args.ledger.slashFor({ ...o, at: state.args.now() });
}

function refuseUnless(actor: Actor<typeof hostingMachine>, event: HostingEvent): void {
  const s = actor.getSnapshot();
  if (s.can(event)) return;
  const phase = phaseOf(s.value);
  if (phase.startsWith('challenged')) throw new Rejected(`a challenge is already open for ${s.context.processId} (${s.context.challenge?.challengeId}); one at a time`);
  throw new Rejected(`Process ${s.context.processId} is ${phase}: ${event.type.toLowerCase().replace('_', ' ')} does not apply`);
}

const CHALLENGER = 'challenger:';

/**
 * A challenge the host failed (the deadline passed: paper 5.3, the SU did not assign or did not
 * publish) slashes its stake, when it has one. Written after the machine's snapshot: a crash in
 * between leaves the process unhosted and the host unslashed.
 */
async function slashFailedChallenge(state: State, processId: string, open: OpenChallenge, host: string): Promise<void> {
  const by = state.args.store.item(`${CHALLENGER}${open.challengeId}`);
  const liveness = open.kind === 'liveness';
  const offense: Offense = {
    key: `failed-${open.kind}:${host}:${processId}:${open.challengeId}`,
    address: host,
    kind: liveness ? 'failed-liveness' : 'failed-publication',
    processId,
    evidenceId: open.challengeId,
    challenger: by ? Buffer.from(by).toString() : host,
    detail: liveness
      ? `SU ${host} did not assign message ${open.messageId} to ${processId} by the deadline ${new Date(open.deadline).toISOString()}`
      : `SU ${host} did not publish message ${open.messageId} at slot ${open.slot} of ${processId} by the deadline ${new Date(open.deadline).toISOString()}`,
    items: [],
  };
  await slashFor(state, offense).catch((e: unknown) => (e instanceof Rejected ? undefined : Promise.reject(e)));
}

/** Sends the event, persists the snapshot and the view, re-arms timers, tells the observer. */
async function apply(state: State, ctx: ActorContext, processId: string, event: HostingEvent): Promise<SecView> {
  const actor = state.machines.get(processId)!;
  const before = actor.getSnapshot().context;
  actor.send(event);
  const v = viewOf(actor);
  await state.args.store.save(processId, actor.getPersistedSnapshot(), {
    state: v.state,
    host: v.host,
    ...(v.reason ? { reason: v.reason } : {}),
  });
  if (event.type === 'EXPIRED' && before.challenge && v.state === 'unhosted') await slashFailedChallenge(state, processId, before.challenge, before.host.address);
  arm(state, ctx, processId);
  state.args.observe?.(v);
  return v;
}

function arm(state: State, ctx: ActorContext, processId: string): void {
  for (const m of [state.deadlines, state.retries]) {
    const t = m.get(processId);
    if (t) ctx.cancelTimer(t);
    m.delete(processId);
  }
  const open = state.machines.get(processId)?.getSnapshot().context.challenge;
  if (!open) return;
  const info = { processId, challengeId: open.challengeId };
  state.deadlines.set(processId, ctx.sendAfter(Math.max(0, open.deadline - state.args.now()), { tag: 'expire', ...info } satisfies Info));
  ctx.send(ctx.self, { tag: 'attempt', ...info } satisfies Info);
}

function retry(state: State, ctx: ActorContext, processId: string, challengeId: string): void {
  state.retries.set(processId, ctx.sendAfter(state.args.config.retryMs, { tag: 'attempt', processId, challengeId } satisfies Info));
}

/** Asks the host to schedule the challenge message, without blocking the origin. */
function askToSchedule(state: State, ctx: ActorContext, host: SchedulerPort, processId: string, challengeId: string, messageId: string): void {
  const raw = state.args.store.item(challengeId);
  if (!raw) return;
  const self = ctx.self;
  host.schedule(processId, messageId, raw).then(
    (reply) => ctx.send(self, { tag: 'scheduled', processId, challengeId, reply } satisfies Info),
    (e) => ctx.send(self, { tag: 'unavailable', processId, challengeId, error: formatReason(e) } satisfies Info),
  );
}
