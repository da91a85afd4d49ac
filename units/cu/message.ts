/**
 * The message and environment a module is called with, shaped as the reference CU shapes them
 * (servers/cu: effects/ao-su.js `mapNode`, domain/lib/evaluate.js, domain/api/dryRun.js).
 *
 * From a slot of the SU log: the message's Id, Signature, Data (its bytes as UTF-8 text, absent
 * when they are not valid UTF-8), Owner (the signer's address), Anchor, Tags (without tags named
 * From or Owner), From (the From-Process tag when there is one, else the owner), Forwarded-By
 * (the signer, when From-Process is set), and from the assignment: Message, Target (the
 * process; for an assigned message of another process, that message's own target), Epoch,
 * Nonce, Timestamp, Block-Height (numbers), Hash-Chain; Cron false.
 *
 * The environment: Process { Id, Owner, Tags } from the spawn, Module { Id, Owner, Tags }.
 */
import { createHash } from 'node:crypto';
import { parseDataItem, tagValue, type ParsedDataItem, type Tag } from '../ans104/index.js';
import type { ScheduledMessage } from '../schedule.js';

export interface AoMessage {
  Id?: string;
  Signature?: string;
  Data?: unknown;
  Owner?: string;
  Anchor?: string;
  From?: string;
  'Forwarded-By'?: string;
  Tags: Tag[];
  Message?: string;
  Target?: string;
  Epoch?: number;
  Nonce?: number;
  Timestamp?: number;
  'Block-Height'?: number;
  'Hash-Chain'?: string;
  Cron: boolean;
  'Read-Only'?: boolean;
  [field: string]: unknown;
}

export interface AoEnv {
  Process: { Id: string; Owner: string; Tags: Tag[] };
  Module: { Id: string; Owner: string; Tags: Tag[] };
}

/** What one evaluation yields (the reference CU's evaluation output, without Memory). */
export interface EvalOutput {
  Output: unknown;
  Messages: unknown[];
  Spawns: unknown[];
  Assignments: unknown[];
  Error?: unknown;
  GasUsed?: number;
}

const addresses = new Map<string, string>();
/** base64url(sha256(owner key)), memoised (a process sees few distinct signers). */
export function addressOf(ownerB64: string): string {
  let a = addresses.get(ownerB64);
  if (a === undefined) {
    a = createHash('sha256').update(Buffer.from(ownerB64, 'base64url')).digest('base64url');
    if (addresses.size > 10_000) addresses.clear();
    addresses.set(ownerB64, a);
  }
  return a;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** From-Process when present and non-empty, else the owner (reference `mapFrom`). */
export function mapFrom(tags: readonly Tag[] | undefined, owner: string | undefined): string | undefined {
  const v = tags?.find((t) => t.name === 'From-Process')?.value;
  return v ? v : owner;
}

/** The owner, when the item carries From-Process (reference `mapForwardedBy`). */
export function mapForwardedBy(tags: readonly Tag[] | undefined, owner: string | undefined): string | undefined {
  return tags?.some((t) => t.name === 'From-Process') ? owner : undefined;
}

/** Tags named From or Owner are dropped before evaluation (they would spoof the fields). */
export const cleanTags = (tags: readonly Tag[]): Tag[] => tags.filter((t) => t.name !== 'From' && t.name !== 'Owner');

const int = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? undefined : n;
};

/** The message of one slot, or undefined when the SU does not hold the assigned item. */
export function messageFromSlot(entry: ScheduledMessage, processId: string): AoMessage | undefined {
  if (!entry.message) return undefined;
  const a = parseDataItem(entry.assignment).tags;
  const m = parseDataItem(entry.message);
  return shapeMessage(m, {
    processId,
    message: tagValue(a, 'Message') ?? entry.messageId,
    epoch: int(tagValue(a, 'Epoch')) ?? 0,
    nonce: int(tagValue(a, 'Nonce')) ?? entry.slot,
    timestamp: int(tagValue(a, 'Timestamp')) ?? entry.timestamp,
    blockHeight: int(tagValue(a, 'Block-Height')) ?? entry.blockHeight,
    hashChain: tagValue(a, 'Hash-Chain') ?? entry.hashChain,
  });
}

interface AssignmentFields {
  processId: string;
  message: string;
  epoch: number;
  nonce: number;
  timestamp: number;
  blockHeight: number;
  hashChain: string;
}

export function shapeMessage(m: ParsedDataItem, a: AssignmentFields): AoMessage {
  const owner = addressOf(m.owner);
  // The spawn itself (slot 0) and messages to the process target it; an assigned message of
  // another process keeps its own target, which is how aos tells an assignment apart.
  const isAssignment = m.id !== a.processId && m.target !== a.processId;
  const msg: AoMessage = {
    Id: m.id,
    Signature: m.signature,
    Owner: owner,
    From: mapFrom(m.tags, owner),
    Tags: cleanTags(m.tags),
    Message: a.message,
    Target: isAssignment ? m.target : a.processId,
    Epoch: a.epoch,
    Nonce: a.nonce,
    Timestamp: a.timestamp,
    'Block-Height': a.blockHeight,
    'Hash-Chain': a.hashChain,
    Cron: false,
  };
  const data = text(m.data);
  if (data !== undefined) msg.Data = data;
  if (m.anchor !== undefined && m.anchor !== '') msg.Anchor = m.anchor;
  const fwd = mapForwardedBy(m.tags, owner);
  if (fwd !== undefined) msg['Forwarded-By'] = fwd;
  return msg;
}

export interface ModuleInfo {
  id: string;
  owner: string;
  tags: Tag[];
}

/** The read-only environment of every call for a process. */
export function processEnv(processId: string, spawn: ParsedDataItem, module: ModuleInfo): AoEnv {
  return {
    Process: { Id: processId, Owner: addressOf(spawn.owner), Tags: spawn.tags },
    Module: { Id: module.id, Owner: module.owner, Tags: module.tags },
  };
}

export class InvalidDryRun extends Error {
  override readonly name = 'InvalidDryRun';
}

/**
 * A dry-run message from a request body (unsigned: every field is the caller's claim), at the
 * process's latest Timestamp and Block-Height unless the body sets them.
 */
export function dryRunMessage(body: unknown, processId: string, last: { timestamp?: number; blockHeight?: number }): AoMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidDryRun('the body must be a JSON object (a message)');
  const b = body as Record<string, unknown>;
  const tags = b.Tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.value === 'string')) {
    throw new InvalidDryRun('Tags must be an array of { name, value } strings');
  }
  for (const f of ['Id', 'Owner', 'Target', 'Anchor', 'Signature'] as const) {
    if (b[f] !== undefined && b[f] !== null && typeof b[f] !== 'string') throw new InvalidDryRun(`${f} must be a string`);
  }
  const num = (f: string): number | undefined => {
    const v = b[f];
    if (v === undefined || v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidDryRun(`${f} must be a number`);
    return n;
  };
  const timestamp = num('Timestamp') ?? last.timestamp;
  const blockHeight = num('Block-Height') ?? last.blockHeight;
  const msg: AoMessage = {
    ...(timestamp !== undefined ? { Timestamp: timestamp } : {}),
    ...(blockHeight !== undefined ? { 'Block-Height': blockHeight } : {}),
    Target: processId,
    ...b,
    Tags: cleanTags(tags as Tag[]),
    Cron: false,
    'Read-Only': true,
  };
  if (timestamp !== undefined) msg.Timestamp = timestamp;
  if (blockHeight !== undefined) msg['Block-Height'] = blockHeight;
  const from = mapFrom(tags as Tag[], b.Owner as string | undefined);
  if (from !== undefined) msg.From = from;
  else delete msg.From;
  return msg;
}
