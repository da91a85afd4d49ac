import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, type LmdbStore } from '../../../runtime/store.js';
import { StaleRun, SuStore, type NewSlot } from '../../../units/su/store.js';
import { tempDir } from './helpers.js';

let dir: string;
let store: LmdbStore;
afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const P = 'P'.repeat(43);
const slot = (n: number, messageId = `m${n}`.padEnd(43, 'x')): NewSlot => ({
  slot: n,
  kind: n === 0 ? 'process' : 'message',
  assignmentId: `a${n}`.padEnd(43, 'y'),
  messageId: n === 0 ? P : messageId,
  timestamp: 1000 + n,
  blockHeight: 0,
  hashChain: `h${n}`,
  assignment: new Uint8Array([n]),
  item: new Uint8Array([n, n]),
});

describe('SU store appends', () => {
  it('a run that does not start at the next slot, or repeats a scheduled message, writes nothing', async () => {
    dir = tempDir();
    store = Store.open(join(dir, 'lmdb'));
    const su = new SuStore(store);
    await su.append(P, [slot(0), slot(1)]);
    const before = store.db('su.refs').getKeysCount();
    await expect(su.append(P, [slot(3)])).rejects.toThrow(StaleRun); // a gap
    await expect(su.append(P, [slot(1, 'other'.padEnd(43, 'z'))])).rejects.toThrow(StaleRun); // a slot taken twice
    await expect(su.append(P, [slot(2, slot(1).messageId)])).rejects.toThrow(/already scheduled/); // a message twice
    await expect(su.append(P, [slot(2), slot(3, slot(1).messageId)])).rejects.toThrow(StaleRun); // half a good run
    expect(store.db('su.refs').getKeysCount()).toBe(before);
    expect(su.slot(P, 2)).toBeUndefined();
    expect(su.process(P)!.nextSlot).toBe(2);
    await su.append(P, [slot(2)]);
    expect(su.process(P)).toMatchObject({ nextSlot: 3, head: { slot: 2, id: slot(2).assignmentId } });
  });

  it('runs queued together after a failed one fail too: no gap is left behind', async () => {
    dir = tempDir();
    store = Store.open(join(dir, 'lmdb'));
    const su = new SuStore(store);
    await su.append(P, [slot(0)]);
    const bad = su.append(P, [slot(2)]); // slot 1 never came
    const next = su.append(P, [slot(3)]);
    await expect(bad).rejects.toThrow(StaleRun);
    await expect(next).rejects.toThrow(StaleRun);
    await su.settled(P);
    expect(su.process(P)!.nextSlot).toBe(1);
  });

  it('item bytes are found by id, including for a slot that assigns another slot\'s message', async () => {
    dir = tempDir();
    store = Store.open(join(dir, 'lmdb'));
    const su = new SuStore(store);
    const Q = 'Q'.repeat(43);
    await su.append(P, [slot(0), slot(1)]);
    await su.append(Q, [{ ...slot(0), messageId: Q }, { ...slot(1), assignmentId: 'b1'.padEnd(43, 'y'), kind: 'assign', item: undefined }]);
    expect(Buffer.from(su.item(slot(1).messageId)!)).toEqual(Buffer.from([1, 1]));
    expect(Buffer.from(su.item(P)!)).toEqual(Buffer.from([0, 0]));
    expect(su.hasItem('n'.padEnd(43, 'x'))).toBe(false);
    expect(su.locate(slot(1).assignmentId)).toMatchObject({ slot: 1 });
  });
});
