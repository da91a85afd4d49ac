/**
 * Evaluation ahead of the commit (engine.ts `speculate`): a resident, idle process actor evaluates
 * a run of its slots while the SU's commit of that run is being written; the results are held
 * until the log holds the run, and a run the log never holds is dropped with the memory that
 * evaluated it. The SU's commits are held here by gating the node's (real) LMDB transactions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../runtime/store.js';
import { lastLine, messageItem, printed, resultOf, run, spawnAos, startCu, waitFor, type CuHarness } from './support/harness.js';

let h: CuHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Holds every transaction of `store` issued while `hold` is set until it is released (or fails it). */
function gateCommits(store: Store) {
  const transact = store.transact.bind(store);
  let held: { promise: Promise<void>; open(): void; fail(e: Error): void } | undefined;
  let gated = 0;
  store.transact = <T>(cb: () => T): Promise<T> => {
    const g = held;
    if (!g) return transact(cb);
    gated++;
    return g.promise.then(() => transact(cb));
  };
  return {
    hold() {
      let open!: () => void;
      let fail!: (e: Error) => void;
      const promise = new Promise<void>((resolve, reject) => {
        open = resolve;
        fail = reject;
      });
      promise.catch(() => undefined);
      held = { promise, open, fail };
      gated = 0;
    },
    get gated() {
      return gated;
    },
    release() {
      const g = held;
      held = undefined;
      g?.open();
    },
    fail(e: Error) {
      const g = held;
      held = undefined;
      g?.fail(e);
    },
  };
}

const message = (h: CuHarness, processId: string, lua: string) => messageItem(h, processId, { action: 'Eval', data: lua });

describe('evaluation ahead of the SU commit', () => {
  it('a message is evaluated while its slot is being committed; its result is held until the slot is durable, and it is not evaluated again', async () => {
    h = await startCu();
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32');
    expect(await run(h, pid, 'n = 41; return n')).toBe('41'); // resident and idle
    const before = await h.api.status(pid);
    const gate = gateCommits(h.store);
    const m = await message(h, pid, 'n = n + 1; return n');
    gate.hold();
    const scheduled = h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
    // Evaluated while the commit is held...
    await waitFor(async () => (await h!.api.status(pid)).stats.speculated === before.stats.speculated + 1, 'the message to be evaluated ahead of its commit');
    const during = await h.api.status(pid);
    expect(during.stats.evaluated).toBe(before.stats.evaluated + 1);
    expect(gate.gated).toBeGreaterThan(0);
    // ... but neither durable in the SU's log nor readable from the CU.
    expect(h.su.log.slotOf(m.id, pid)).toBeUndefined();
    expect(h.cu.runtime.store.resultOf(pid, m.id)).toBeUndefined();
    const early = await h.api.result(pid, m.id, 0);
    expect(early).not.toHaveProperty('result');
    gate.release();
    const r = await scheduled;
    expect(r).toHaveProperty('ok');
    expect(lastLine(printed(await resultOf(h, pid, m.id)))).toBe('42');
    const after = await h.api.status(pid);
    expect(after.stats.evaluated).toBe(before.stats.evaluated + 1);
    expect(after.stats.abandoned).toBe(0);
    expect(await run(h, pid, 'return n')).toBe('42');
  });

  it('a run whose commit fails is dropped with the memory that evaluated it; the slot is evaluated again on the durable state, as the log holds it', async () => {
    // Every assignment gets its own Timestamp, so a result says which assignment it was computed for.
    let t = 1_700_000_000_000;
    h = await startCu({ suNow: () => (t += 1000) });
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32');
    expect(await run(h, pid, 'n = 0; return n')).toBe('0');
    const gate = gateCommits(h.store);
    const m = await message(h, pid, 'n = n + 100; return n');
    const slot = h.su.log.process(pid)!.nextSlot;
    gate.hold();
    const scheduled = h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
    await waitFor(async () => (await h!.api.status(pid)).stats.speculated === 1, 'the message to be evaluated ahead of its commit');
    const first = await h.api.status(pid);
    // The commit fails: the sequencer crashes, and the client's retry schedules the message again
    // on its restarted sequencer, at the same slot, with another assignment.
    gate.fail(new Error('the disk failed'));
    const r = await scheduled;
    if (!('ok' in r)) throw new Error(r.error);
    expect(r.ok.slot).toBe(slot);
    const durable = h.su.log.slot(pid, slot)!;
    expect(durable.messageId).toBe(m.id);
    expect(lastLine(printed(await resultOf(h, pid, m.id)))).toBe('100');
    // The result is the durable assignment's, not the one evaluated ahead (whose Timestamp was earlier).
    const stored = h.cu.runtime.store.resultOf(pid, m.id)!;
    expect(stored.slot).toBe(slot);
    expect(stored.timestamp).toBe(durable.timestamp);
    const after = await h.api.status(pid);
    expect(after.stats.abandoned).toBe(1);
    expect(after.stats.evaluated).toBeGreaterThan(first.stats.evaluated);
    expect(await run(h, pid, 'return n')).toBe('100');
  });

  it('with cu.speculate off, nothing is evaluated before the commit', async () => {
    h = await startCu({ config: { speculate: false } });
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32');
    expect(await run(h, pid, 'n = 1; return n')).toBe('1');
    const gate = gateCommits(h.store);
    const m = await message(h, pid, 'n = n + 1; return n');
    gate.hold();
    const scheduled = h.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
    const before = await h.api.status(pid);
    await waitFor(() => gate.gated > 0, 'the commit to be held');
    const during = await h.api.status(pid);
    gate.release();
    await scheduled;
    expect(during.stats.evaluated).toBe(before.stats.evaluated);
    expect(lastLine(printed(await resultOf(h, pid, m.id)))).toBe('2');
  });
});
