/** The log verifier on hand-made logs (no NATS): each kind of violation is counted. */
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../units/cluster/replicated-log.js';
import { verify } from '../../units/cluster/verify.js';
import type { SlotRecord } from '../../units/su/store.js';
import { randomId, slotRecords } from './support.js';

const pid = randomId();
let seq = 0;
const slot = (record: SlotRecord, token = 1): LogEntry => ({ kind: 'slot', seq: ++seq, processId: pid, slot: record.slot, token, record });
const fence = (next: number, token: number): LogEntry => ({ kind: 'fence', seq: ++seq, processId: pid, slot: next, token, holder: 'n' });

describe('verify', () => {
  const recs = slotRecords(pid, 0, 10);

  it('a clean log reports zero everywhere', () => {
    const r = verify(pid, [fence(0, 1), ...recs.slice(0, 5).map((x) => slot(x)), fence(5, 2), ...recs.slice(5).map((x) => slot(x, 2))], { local: recs });
    expect(r).toMatchObject({ entries: 12, slots: 10, fences: 2, firstSlot: 0, lastSlot: 9, gaps: 0, duplicates: 0, conflicts: 0, outOfOrder: 0, messageRepeats: 0, hashChainBreaks: 0, tokenRegressions: 0, clean: true });
    expect(r.local).toEqual({ records: 10, missing: 0, extra: 0, mismatched: 0 });
    expect(r.problems).toEqual([]);
  });

  it('counts gaps, duplicates, conflicting messages, chain breaks, token regressions', () => {
    const other = slotRecords(pid, 4, 1, recs[3]!)[0]!; // another message at slot 4, chained correctly
    const broken = { ...recs[8]!, hashChain: randomId() };
    const entries = [
      ...recs.slice(0, 5).map((x) => slot(x, 2)),
      slot(recs[4]!, 2), // the same slot again
      slot(other, 1), // a second message at slot 4, by an older token
      // slot 5, 6 missing
      slot(recs[7]!, 2),
      slot(broken, 2),
      slot(recs[9]!, 2),
    ];
    const r = verify(pid, entries);
    expect(r).toMatchObject({ slots: 8, gaps: 2, duplicates: 2, conflicts: 1, outOfOrder: 0, hashChainBreaks: 2, tokenRegressions: 1, clean: false });
    // slot 8's own Hash-Chain is wrong, and slot 9's (right) one no longer follows from it.
    expect(r.problems.some((p) => p.includes('slot 5 is missing'))).toBe(true);
  });

  it('counts out-of-order slots, a message at two slots, and differences with the local log', () => {
    const dup = { ...recs[3]!, slot: 3, messageId: recs[1]!.messageId };
    const entries = [slot(recs[0]!), slot(recs[2]!), slot(recs[1]!), slot(dup)];
    const local = [recs[0]!, { ...recs[1]!, assignmentId: randomId() }, recs[2]!, recs[3]!, recs[4]!];
    const r = verify(pid, entries, { local });
    expect(r.outOfOrder).toBe(1);
    expect(r.messageRepeats).toBe(1);
    expect(r.local).toEqual({ records: 5, missing: 0, extra: 1, mismatched: 2 });
    expect(r.clean).toBe(false);
  });

  it('a catch-up read is checked from its first slot', () => {
    const r = verify(pid, recs.slice(6).map((x) => slot(x)), { fromSlot: 6 });
    expect(r).toMatchObject({ gaps: 0, hashChainBreaks: 0, clean: true });
    expect(verify(pid, recs.slice(6).map((x) => slot(x))).gaps).toBe(6);
  });
});
