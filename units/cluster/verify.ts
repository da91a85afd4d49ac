/**
 * Invariants of one process's log as read from the replicated stream (and, optionally, as a
 * node's LMDB holds it): every slot from the first to the last exactly once, one message per
 * slot, no message in two slots, the Hash-Chain linking each assignment to the one before
 * (slot 0: sha256(process id); slot n: sha256(id of n-1 ‖ Hash-Chain of n-1), see
 * units/su/assignment-core.ts), and fencing tokens that never go down along the log.
 *
 * Every count in the report is a violation, except `entries`, `slots`, `fences` and the
 * slot range; `clean` is true when all violation counts are zero.
 */
import { firstHashChain, nextHashChain } from '../su/assignment-core.js';
import type { SlotRecord } from '../su/store.js';
import type { LogEntry } from './replicated-log.js';

export interface VerifyOptions {
  /** The slot the log is expected to start at (0 for a whole log; k for a catch-up from k). */
  fromSlot?: number;
  /** The same process's slot records as a node's LMDB holds them, to compare with the stream. */
  local?: SlotRecord[];
  /** How many problem descriptions to keep. */
  maxProblems?: number;
}

export interface VerifyReport {
  processId: string;
  /** Stream entries looked at (slots and fences). */
  entries: number;
  /** Distinct slots present. */
  slots: number;
  fences: number;
  firstSlot: number | null;
  lastSlot: number | null;
  /** Slots missing between `fromSlot` and the last slot. */
  gaps: number;
  /** Entries for a slot that already had one. */
  duplicates: number;
  /** Of those, entries whose message differs from the slot's first one (a double assignment). */
  conflicts: number;
  /** Slot entries that come after an entry with a higher slot. */
  outOfOrder: number;
  /** A message id scheduled at more than one slot. */
  messageRepeats: number;
  /** Slots whose Hash-Chain is not the one its predecessor implies. */
  hashChainBreaks: number;
  /** Entries whose fencing token is lower than an earlier entry's. */
  tokenRegressions: number;
  /** With `local`: stream slots the local log lacks (within the local range), local slots the stream lacks, and slots where they differ. */
  local?: { records: number; missing: number; extra: number; mismatched: number };
  problems: string[];
  clean: boolean;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a === b || (a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0);

/** The message a slot assigns: its id, or failing that its bytes. */
const sameMessage = (a: SlotRecord, b: SlotRecord) =>
  a.messageId && b.messageId ? a.messageId === b.messageId : sameBytes(a.item, b.item);

export function verify(processId: string, entries: Iterable<LogEntry>, o: VerifyOptions = {}): VerifyReport {
  const fromSlot = o.fromSlot ?? 0;
  const max = o.maxProblems ?? 20;
  const r: VerifyReport = {
    processId,
    entries: 0,
    slots: 0,
    fences: 0,
    firstSlot: null,
    lastSlot: null,
    gaps: 0,
    duplicates: 0,
    conflicts: 0,
    outOfOrder: 0,
    messageRepeats: 0,
    hashChainBreaks: 0,
    tokenRegressions: 0,
    problems: [],
    clean: true,
  };
  const problem = (s: string) => {
    if (r.problems.length < max) r.problems.push(s);
  };
  const bySlot = new Map<number, SlotRecord>();
  const slotOfMessage = new Map<string, number>();
  let maxToken = -Infinity;
  let maxSlot = -1;
  for (const e of entries) {
    r.entries++;
    if (e.token < maxToken) {
      r.tokenRegressions++;
      problem(`entry ${e.seq} (${e.kind} ${e.slot}) has token ${e.token} after token ${maxToken}`);
    }
    maxToken = Math.max(maxToken, e.token);
    if (e.kind === 'fence') {
      r.fences++;
      continue;
    }
    const rec = e.record;
    if (rec.slot !== e.slot) problem(`entry ${e.seq}: header slot ${e.slot}, record slot ${rec.slot}`);
    if (e.slot < maxSlot) {
      r.outOfOrder++;
      problem(`slot ${e.slot} (entry ${e.seq}) after slot ${maxSlot}`);
    }
    maxSlot = Math.max(maxSlot, e.slot);
    const first = bySlot.get(e.slot);
    if (first) {
      r.duplicates++;
      if (!sameMessage(first, rec)) {
        r.conflicts++;
        problem(`slot ${e.slot} holds two messages: ${first.messageId} and ${rec.messageId} (entry ${e.seq})`);
      } else problem(`slot ${e.slot} appended twice (entry ${e.seq})`);
      continue;
    }
    bySlot.set(e.slot, rec);
    if (rec.messageId) {
      const at = slotOfMessage.get(rec.messageId);
      if (at !== undefined) {
        r.messageRepeats++;
        problem(`message ${rec.messageId} at slots ${at} and ${e.slot}`);
      } else slotOfMessage.set(rec.messageId, e.slot);
    }
  }
  const present = [...bySlot.keys()].sort((a, b) => a - b);
  r.slots = present.length;
  if (present.length > 0) {
    r.firstSlot = present[0]!;
    r.lastSlot = present[present.length - 1]!;
    for (let s = fromSlot; s <= r.lastSlot; s++) {
      if (!bySlot.has(s)) {
        r.gaps++;
        problem(`slot ${s} is missing`);
      }
    }
  }
  for (const s of present) {
    const rec = bySlot.get(s)!;
    if (!rec.hashChain) continue;
    let expected: string | undefined;
    if (s === 0) expected = firstHashChain(processId);
    else {
      const prev = bySlot.get(s - 1);
      if (prev?.assignmentId && prev.hashChain) expected = nextHashChain(prev.assignmentId, prev.hashChain);
    }
    if (expected !== undefined && expected !== rec.hashChain) {
      r.hashChainBreaks++;
      problem(`slot ${s}: Hash-Chain ${rec.hashChain}, expected ${expected}`);
    }
  }
  if (o.local) {
    const l = { records: o.local.length, missing: 0, extra: 0, mismatched: 0 };
    const localBySlot = new Map(o.local.map((x) => [x.slot, x]));
    const localMax = o.local.reduce((m, x) => Math.max(m, x.slot), -1);
    for (const [s, rec] of bySlot) {
      const mine = localBySlot.get(s);
      if (!mine) {
        if (s <= localMax) {
          l.missing++;
          problem(`slot ${s} is in the stream, not in the local log`);
        }
      } else if (mine.assignmentId !== rec.assignmentId || !sameMessage(mine, rec) || !sameBytes(mine.assignment, rec.assignment)) {
        l.mismatched++;
        problem(`slot ${s}: local assignment ${mine.assignmentId}, stream ${rec.assignmentId}`);
      }
    }
    for (const s of localBySlot.keys()) {
      if (s >= fromSlot && !bySlot.has(s)) {
        l.extra++;
        problem(`slot ${s} is in the local log, not in the stream`);
      }
    }
    r.local = l;
  }
  r.clean =
    r.gaps + r.duplicates + r.conflicts + r.outOfOrder + r.messageRepeats + r.hashChainBreaks + r.tokenRegressions === 0 &&
    (!r.local || r.local.missing + r.local.extra + r.local.mismatched === 0);
  return r;
}
