import { afterEach, describe, expect, it } from 'vitest';
import { isDownMessage, type DownMessage, type Pid } from '../../../runtime/index.js';
import { CU_MANAGER } from '../../../units/cu/index.js';
import { MODULES, run, spawnAos, startCu, tempDir, type CuHarness } from './support/harness.js';

let h: CuHarness | undefined;
let h2: CuHarness | undefined;
afterEach(async () => {
  await h2?.stop();
  await h?.stop();
  h = h2 = undefined;
});

const evict = (x: CuHarness, processId: string) => x.node.call<boolean>(CU_MANAGER, { op: 'evict', processId });

async function build(x: CuHarness, pid: string, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await run(x, pid, `t = t or {}; t[${i}] = string.rep("v${i}", ${1 + (i % 7)}); n = (n or 0) + 1; return n`);
  }
}

describe.each(MODULES)('checkpoints and hydration (%s)', (moduleName) => {
  it('an evicted process comes back from the checkpoint it wrote when it stopped, byte for byte', async () => {
    h = await startCu();
    const pid = await spawnAos(h, moduleName);
    await build(h, pid, 12);
    const before = await h.api.hash(pid);
    expect(await evict(h, pid)).toBe(true);
    expect(h.cu.runtime.store.checkpointSlots(pid)[0]).toBe(before.slot);
    const after = await h.api.hash(pid);
    expect(after).toEqual(before);
    const status = await h.api.status(pid);
    expect(status.stats).toMatchObject({ restores: 1, replayed: 0, evaluated: 0 });
    expect(await run(h, pid, 'return n')).toBe('12');
  });

  it('checkpoints every N messages, keeps the newest K, and a restarted node hydrates from the newest and replays the rest', async () => {
    const dir = tempDir();
    h = await startCu({ dir, config: { checkpointEvery: 5, checkpointKeep: 2, stepMessages: 1 } });
    const pid = await spawnAos(h, moduleName);
    await build(h, pid, 13);
    const slots = h.cu.runtime.store.checkpointSlots(pid);
    expect(slots).toHaveLength(2);
    expect(slots[0]! - slots[1]!).toBe(5);
    const before = await h.api.hash(pid);
    // Kill the whole node without letting the process checkpoint: results and checkpoints are what is on disk.
    h.node.kill(`cu/${pid}`);
    await new Promise((r) => setTimeout(r, 50));
    await h.stop();
    h = undefined;
    h2 = await startCu({ dir, config: { checkpointEvery: 5, checkpointKeep: 2 } });
    const after = await h2.api.hash(pid);
    expect(after).toEqual(before);
    const status = await h2.api.status(pid);
    expect(status.stats.restores).toBe(1);
    expect(status.stats.replayed).toBe(before.slot - slots[0]!);
    expect(status.stats.evaluated).toBe(0);
    expect(await run(h2, pid, 'n = n + 1; return n')).toBe('14');
  });

  it('a damaged checkpoint is detected by its checksum: the older one is used, or replay from slot 0', async () => {
    h = await startCu({ config: { checkpointEvery: 4, checkpointKeep: 3 } });
    const pid = await spawnAos(h, moduleName);
    await build(h, pid, 10);
    const store = h.cu.runtime.store;
    const before = await h.api.hash(pid);
    await evict(h, pid);
    const damage = async (slot: number) => {
      const c = store.checkpoint(pid, slot)!;
      const data = Uint8Array.from(c.image.data);
      data[data.length >> 1] = (data[data.length >> 1]! + 1) & 0xff;
      await store.putCheckpoint({ ...c, image: { ...c.image, data } });
    };
    const [newest, older] = store.checkpointSlots(pid);
    await damage(newest!);
    expect(await h.api.hash(pid)).toEqual(before);
    let status = await h.api.status(pid);
    expect(status.stats.corruptCheckpoints).toBe(1);
    expect(status.stats.replayed).toBe(before.slot - older!);

    // Every checkpoint damaged: replay from the spawn.
    await evict(h, pid);
    for (const s of store.checkpointSlots(pid)) await damage(s);
    expect(await h.api.hash(pid)).toEqual(before);
    status = await h.api.status(pid);
    expect(status.stats.restores).toBe(0);
    expect(status.stats.replayed).toBe(before.slot + 1);
  });
});

describe('resident processes', () => {
  it('at most maxResident process actors are kept; the least recently used is stopped and comes back from its checkpoint', async () => {
    h = await startCu({ config: { maxResident: 2 } });
    const pids = [await spawnAos(h, MODULES[0]), await spawnAos(h, MODULES[0]), await spawnAos(h, MODULES[1])];
    for (const [i, pid] of pids.entries()) expect(await run(h, pid, `x = ${i * 10}; return x`)).toBe(String(i * 10));
    const resident = await h.node.call<string[]>(CU_MANAGER, { op: 'resident' });
    expect(resident).toEqual([pids[1], pids[2]]);
    for (let i = 0; i < 200 && h.node.whereis(`cu/${pids[0]}`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(h.node.whereis(`cu/${pids[0]}`)).toBeUndefined();
    expect(h.cu.runtime.store.checkpointSlots(pids[0]!)).toHaveLength(1);
    expect(await run(h, pids[0]!, 'x = x + 1; return x')).toBe('1');
    expect(await h.node.call<string[]>(CU_MANAGER, { op: 'resident' })).toEqual([pids[2], pids[0]]);
  });

  it('the least recently used process past maxResident stops by itself (exit normal); it writes a checkpoint only when it has none or the replay since its last one is long', async () => {
    h = await startCu({ config: { maxResident: 1, retireCheckpointAfter: 3, retireCheckpointMs: 1e9 } });
    const x = h;
    const [a, b] = [await spawnAos(x, MODULES[0]), await spawnAos(x, MODULES[0])];
    const store = x.cu.runtime.store;
    /** Uses `other` (which retires `pid`, resident before it) and waits for `pid`'s actor to stop. */
    const retire = async (pid: string, other: string, lua = 'return 0'): Promise<DownMessage> => {
      const actor = x.node.whereis(`cu/${pid}`) as Pid;
      expect(actor).toBeDefined();
      const inbox = x.node.inbox();
      try {
        inbox.monitor(actor);
        await run(x, other, lua);
        return await inbox.receive<DownMessage>(isDownMessage, 30_000);
      } finally {
        inbox.close();
      }
    };

    expect(await run(x, a, 'v = 1; return v')).toBe('1');
    // No checkpoint yet: it writes one as it goes.
    expect((await retire(a, b)).reason).toBe('normal');
    const first = store.checkpointSlots(a);
    expect(first).toEqual([1]);

    // One message since: not worth a checkpoint; it comes back from the old one and replays it.
    expect(await run(x, a, 'v = v + 1; return v')).toBe('2');
    expect((await retire(a, b)).reason).toBe('normal');
    expect(store.checkpointSlots(a)).toEqual(first);
    expect(await run(x, a, 'return v')).toBe('2');
    expect((await x.api.status(a)).stats).toMatchObject({ restores: 1, replayed: 1 });

    // Three since the checkpoint (the replayed one counts): it writes one.
    expect(await run(x, a, 'v = v + 1; return v')).toBe('3');
    expect((await retire(a, b)).reason).toBe('normal');
    expect(store.checkpointSlots(a)[0]).toBe(4);
    expect(await run(x, a, 'return v')).toBe('3');
    expect((await x.api.status(a)).stats).toMatchObject({ restores: 1, replayed: 0 });
  });
});
