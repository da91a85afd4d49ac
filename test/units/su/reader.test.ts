import { afterEach, describe, expect, it } from 'vitest';
import { parseDataItem, verifyDataItem } from '../../../units/ans104/index.js';
import type { ScheduleReader } from '../../../units/schedule.js';
import { checkLog, messageItem, spawnProcess, startSu, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('the schedule reader (what the CU reads)', () => {
  it('process(): the spawn item, its slot-0 entry and the last durable slot; read(): inclusive ranges with a limit', async () => {
    h = await startSu();
    const pid = await spawnProcess(h);
    const ids: string[] = [pid];
    for (let i = 0; i < 5; i++) {
      const m = await messageItem(pid, `m${i}`);
      const r = await h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
      expect('ok' in r).toBe(true);
      ids.push(m.id);
    }
    const reader: ScheduleReader = h.su.reader;
    const info = (await reader.process(pid))!;
    expect(parseDataItem(info.spawn).id).toBe(pid);
    expect(info.first).toMatchObject({ processId: pid, slot: 0, messageId: pid });
    expect(info.lastSlot).toBe(5);
    expect(await reader.process('U'.repeat(43))).toBeUndefined();

    const all = await reader.read(pid, 0);
    expect(all.map((e) => e.slot)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.map((e) => e.messageId)).toEqual(ids);
    const mid = await reader.read(pid, 2, 4);
    expect(mid.map((e) => e.slot)).toEqual([2, 3, 4]);
    expect((await reader.read(pid, 1, undefined, 2)).map((e) => e.slot)).toEqual([1, 2]);
    expect(await reader.read(pid, 6)).toEqual([]);
    const e = mid[0]!;
    expect(parseDataItem(e.message!).id).toBe(e.messageId);
    expect(Buffer.from(parseDataItem(e.message!).data).toString()).toBe('m1');
    expect(parseDataItem(e.assignment).id).toBe(e.assignmentId);
    expect(await verifyDataItem(e.assignment)).toBe(true);
    expect(e.blockHeight).toBe(0);
    expect(e.timestamp).toBeGreaterThanOrEqual(info.first.timestamp);
  });
});

describe('an RSA-4096 SU', () => {
  it('signs on its worker pool; the log verifies and chains like an Ed25519 one', async () => {
    h = await startSu({ kind: 'rsa', signers: 2 });
    const pids = await Promise.all([spawnProcess(h), spawnProcess(h)]);
    const items = await Promise.all(pids.flatMap((pid) => [0, 1, 2].map(() => messageItem(pid))));
    await Promise.all(items.map((m, i) => h!.client.schedule(pids[Math.floor(i / 3)]!, { op: 'message', id: m.id, raw: m.raw })));
    for (const pid of pids) {
      const log = await checkLog(h.su, pid, { verifyAll: true, signer: Buffer.from(h.wallet.owner).toString('base64url') });
      expect(log.nextSlot).toBe(4);
    }
    expect(parseDataItem(h.su.log.slot(pids[0]!, 1)!.assignment).signatureType).toBe(1);
  });
});
