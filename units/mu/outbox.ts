/**
 * An evaluation's outbox, turned into child jobs as the reference MU builds them
 * (servers/mu domain/lib build-tx, spawn-process, build-success-tx):
 *
 * - Messages: signed by the MU, with the message's tags minus Data-Protocol, Type, From-Process,
 *   From-Module, From-Message and Assignments, plus Data-Protocol=ao, Type=Message, From-Process
 *   (the process that sent it), From-Module (its module), Pushed-For (the push's first message)
 *   and From-Message (the message whose evaluation sent it). A message tagged `Cast: true` is
 *   pushed but its result is not followed.
 * - Spawns: signed by the MU as Type=Process items, Variant ao.TN.1, From-Process, Pushed-For;
 *   Scheduler defaults to this node's SU. Once scheduled, the spawning process gets a message
 *   with Action=Spawned and Process=<new id> (spawnedMessage).
 * - Assignments: { Processes, Message } → one assignment job per process.
 *
 * Depth, fan-out and the push's budget (total jobs one push may make) are bounded: past any of
 * them, nothing of that outbox is pushed and the parent job says why. An item that cannot be
 * signed (a tag or the data over the item limits, ans104/limits.ts) is left out with its reason;
 * the rest of the outbox is pushed. Nothing a process outputs makes this throw.
 */
import { createDataItem, InvalidDataItem, type SignedDataItem, type Tag, type Wallet } from '../ans104/index.js';
import type { EvalOutput } from '../cu/index.js';
import { assignJobId, type JobRecord } from './job.js';

export interface OutboxSource {
  /** The process whose evaluation made the outbox. */
  fromProcess: string;
  /** Its Module tag. */
  fromModule: string;
  /** The push's root job id. */
  root: string;
  /** The first message of the push (Pushed-For), when the push started from one. */
  pushedFor?: string;
  /**
   * The message whose evaluation made the outbox (absent for cron results), named on each pushed
   * message as From-Message: the MU's signed claim that the process sent it, which anyone can
   * check by recomputing that message (an AO-Sec origin slashes an MU whose claim is false).
   */
  fromMessage?: string;
  /** The job that produced the outbox (absent for cron results). */
  parent?: string;
  /** Depth of that job (children are one deeper). */
  depth: number;
  /** Jobs the push has made so far (counted against `maxPushJobs`); 0 for a new push. */
  pushed?: number;
  /** Wall clock, unix ms, for the jobs' records (default now). */
  now?: number;
}

export interface OutboxLimits {
  maxDepth: number;
  maxFanOut: number;
  /** Most jobs one push may make, its root included. */
  maxPushJobs: number;
}

export interface OutboxJobs {
  jobs: JobRecord[];
  /** What was left out, and why. */
  notes: string[];
}

const DROPPED_ON_MESSAGE = new Set(['Data-Protocol', 'Type', 'From-Process', 'From-Module', 'From-Message', 'Assignments']);
const DROPPED_ON_SPAWN = new Set(['Data-Protocol', 'Type', 'Variant']);

interface OutMessage {
  Target?: unknown;
  Tags?: unknown;
  Data?: unknown;
  Anchor?: unknown;
}

function tagsOf(raw: unknown): Tag[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((t): t is { name: unknown; value: unknown } => typeof t === 'object' && t !== null && 'name' in t && 'value' in t)
    .filter((t) => typeof t.name === 'string' && t.name !== '')
    .map((t) => ({ name: t.name as string, value: typeof t.value === 'string' ? t.value : JSON.stringify(t.value) }));
}

const dataOf = (d: unknown): string | Uint8Array => (d === undefined || d === null ? '' : typeof d === 'string' || d instanceof Uint8Array ? d : JSON.stringify(d));

/** aos writes a 32-character anchor; anything else is left off (an item's anchor is 32 bytes). */
const anchorOf = (a: unknown): string | undefined => (typeof a === 'string' && Buffer.byteLength(a) === 32 ? a : undefined);

const isId = (s: unknown): s is string => typeof s === 'string' && /^[A-Za-z0-9_-]{43}$/.test(s);

function base(src: OutboxSource, now: number) {
  return {
    root: src.root,
    ...(src.pushedFor ? { pushedFor: src.pushedFor } : {}),
    ...(src.parent ? { parent: src.parent } : {}),
    depth: src.depth + 1,
    rev: 0,
    createdAt: now,
    updatedAt: now,
  };
}

interface Outbox {
  messages: OutMessage[];
  spawns: OutMessage[];
  assignments: { Processes?: unknown; Message?: unknown }[];
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function outbox(output: EvalOutput): Outbox {
  return { messages: list(output.Messages), spawns: list(output.Spawns), assignments: list(output.Assignments) };
}

/** What the MU signs for one outbox message. */
export interface PushedMessage {
  target: string;
  data: string | Uint8Array;
  anchor?: string;
  tags: Tag[];
}

/** The fields the MU signs for outbox message `m` of `src`'s evaluation; undefined when its Target is not an id. */
export function pushedMessage(m: OutMessage, src: Pick<OutboxSource, 'fromProcess' | 'fromModule' | 'pushedFor' | 'fromMessage'>): PushedMessage | undefined {
  if (!isId(m.Target)) return undefined;
  const tags = tagsOf(m.Tags).filter((t) => !DROPPED_ON_MESSAGE.has(t.name));
  tags.push(
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Type', value: 'Message' },
    { name: 'From-Process', value: src.fromProcess },
    { name: 'From-Module', value: src.fromModule },
  );
  if (src.pushedFor) tags.push({ name: 'Pushed-For', value: src.pushedFor });
  if (src.fromMessage) tags.push({ name: 'From-Message', value: src.fromMessage });
  const anchor = anchorOf(m.Anchor);
  return { target: m.Target, data: dataOf(m.Data), tags, ...(anchor ? { anchor } : {}) };
}

/** The messages an evaluation's outbox holds, as the MU signs them. */
export function pushedMessages(output: EvalOutput, src: Pick<OutboxSource, 'fromProcess' | 'fromModule' | 'pushedFor' | 'fromMessage'>): PushedMessage[] {
  return outbox(output).messages.flatMap((m) => pushedMessage(m, src) ?? []);
}

/** How many jobs an evaluation's outbox asks for (messages, spawns, assignment targets). */
export function outboxCount(output: EvalOutput): number {
  const o = outbox(output);
  return o.messages.length + o.spawns.length + o.assignments.reduce((n, a) => n + (Array.isArray(a?.Processes) ? a.Processes.length : 0), 0);
}

/** Signs one outbox item; an item past the limits is a note, not an error. */
async function sign(fields: Parameters<typeof createDataItem>[0], wallet: Wallet, what: string, notes: string[]): Promise<SignedDataItem | undefined> {
  try {
    return await createDataItem(fields, wallet);
  } catch (e) {
    if (!(e instanceof InvalidDataItem)) throw e;
    notes.push(`${what}: not pushed: ${e.message}`);
    return undefined;
  }
}

export async function outboxJobs(output: EvalOutput, src: OutboxSource, wallet: Wallet, limits: OutboxLimits, schedulerAddress: string): Promise<OutboxJobs> {
  const { messages, spawns, assignments } = outbox(output);
  const count = outboxCount(output);
  if (count === 0) return { jobs: [], notes: [] };
  if (src.depth + 1 > limits.maxDepth) {
    return { jobs: [], notes: [`depth limit ${limits.maxDepth} reached: ${count} outbox item(s) of this message were not pushed`] };
  }
  if (count > limits.maxFanOut) {
    return { jobs: [], notes: [`fan-out limit ${limits.maxFanOut} exceeded: the outbox has ${count} items; none were pushed`] };
  }
  const pushed = src.pushed ?? 0;
  if (pushed + count > limits.maxPushJobs) {
    return {
      jobs: [],
      notes: [`push budget exhausted: the push has made ${pushed} of at most ${limits.maxPushJobs} jobs; ${count} outbox item(s) of this message were not pushed`],
    };
  }
  const now = src.now ?? Date.now();
  const jobs: JobRecord[] = [];
  const notes: string[] = [];

  for (const [i, m] of messages.entries()) {
    const f = pushedMessage(m, src);
    if (!f) {
      notes.push(`message ${i}: Target '${String(m.Target).slice(0, 64)}' is not an id`);
      continue;
    }
    const item = await sign({ data: f.data, tags: f.tags, target: f.target, ...(f.anchor ? { anchor: f.anchor } : {}) }, wallet, `message ${i} to ${f.target}`, notes);
    if (!item) continue;
    const cast = f.tags.some((t) => t.name === 'Cast' && t.value.toLowerCase() === 'true');
    jobs.push({ ...base(src, now), id: item.id, kind: 'message', processId: f.target, messageId: item.id, raw: item.raw, follow: !cast, stage: 'schedule' });
  }

  for (const [i, s] of spawns.entries()) {
    const given = tagsOf(s.Tags);
    const tags = given.filter((t) => !DROPPED_ON_SPAWN.has(t.name));
    tags.push(
      { name: 'Data-Protocol', value: 'ao' },
      { name: 'Type', value: 'Process' },
      { name: 'Variant', value: 'ao.TN.1' },
      { name: 'From-Process', value: src.fromProcess },
    );
    if (src.pushedFor) tags.push({ name: 'Pushed-For', value: src.pushedFor });
    if (!tags.some((t) => t.name === 'Scheduler')) tags.push({ name: 'Scheduler', value: schedulerAddress });
    const item = await sign({ data: dataOf(s.Data), tags }, wallet, `spawn ${i}`, notes);
    if (!item) continue;
    jobs.push({
      ...base(src, now),
      id: item.id,
      kind: 'spawn',
      processId: item.id,
      messageId: item.id,
      raw: item.raw,
      follow: false,
      spawnedBy: { processId: src.fromProcess, tags: given },
      stage: 'schedule',
    });
  }

  for (const a of assignments) {
    if (!isId(a?.Message) || !Array.isArray(a.Processes)) {
      notes.push(`assignment ${JSON.stringify(a).slice(0, 100)}: needs Message (an id) and Processes (a list)`);
      continue;
    }
    for (const p of a.Processes) {
      if (!isId(p)) {
        notes.push(`assignment of ${a.Message}: process '${String(p).slice(0, 64)}' is not an id`);
        continue;
      }
      jobs.push({ ...base(src, now), id: assignJobId(a.Message, p), kind: 'assign', processId: p, messageId: a.Message, follow: true, stage: 'schedule' });
    }
  }
  return { jobs, notes };
}

/**
 * The message that tells a spawning process its spawn was scheduled (reference: build-success-tx).
 * Throws InvalidDataItem when the spawn's tags leave no room for the ones it adds.
 */
export async function spawnedMessage(spawn: JobRecord, wallet: Wallet, now = Date.now()): Promise<JobRecord> {
  const by = spawn.spawnedBy!;
  const tags = by.tags.filter((t) => !(t.name === 'Data-Protocol' || t.name === 'Variant' || t.name === 'Type'));
  tags.push(
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Type', value: 'Message' },
    { name: 'Process', value: spawn.processId },
    { name: 'Action', value: 'Spawned' },
    { name: 'Variant', value: by.tags.find((t) => t.name === 'Variant')?.value ?? 'ao.TN.1' },
  );
  const item = await createDataItem({ data: '', tags, target: by.processId }, wallet);
  return {
    id: item.id,
    kind: 'message',
    processId: by.processId,
    messageId: item.id,
    raw: item.raw,
    root: spawn.root,
    ...(spawn.pushedFor ? { pushedFor: spawn.pushedFor } : {}),
    parent: spawn.id,
    depth: spawn.depth,
    follow: true,
    stage: 'schedule',
    rev: 0,
    createdAt: now,
    updatedAt: now,
  };
}
