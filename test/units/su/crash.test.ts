import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../../runtime/store.js';
import { loadOrCreateWallet } from '../../../units/ans104/index.js';
import { createSu, SuClient, type ScheduleReply } from '../../../units/su/index.js';
import { SEQUENCERS } from '../../../supervisors/su.js';
import { checkLog, messageItem, spawnProcess, startSu, tempDir, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const slotOf = (r: ScheduleReply) => {
  if (!('ok' in r)) throw new Error(r.error);
  return r.ok.slot;
};

describe.each([
  ['inline signing', 0],
  ['signing pool', 2],
] as const)('killing the sequencer mid-write (%s)', (_label, signers) => {
  it('leaves each message in the log whole or not at all; acked ones are in; the log goes on from the last durable slot', async () => {
    h = await startSu({ signers, maxRun: 8, attempts: 1 });
    const pid = await spawnProcess(h);
    const acked = new Map<string, number>();
    const failed: { id: string; raw: Uint8Array }[] = [];
    const ROUNDS = 3;
    let kills = 0;
    const sent: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const base = acked.size;
      let killed = false;
      // 16 senders, each sending its next message when the previous one is answered, until the kill.
      const sender = async () => {
        while (!killed) {
          const m = await messageItem(pid);
          sent.push(m.id);
          try {
            acked.set(m.id, slotOf(await h!.client.schedule(pid, { op: 'message', id: m.id, raw: m.raw })));
          } catch {
            failed.push(m);
            return;
          }
        }
      };
      const senders = Array.from({ length: 16 }, sender);
      // Kill while the sequencer has appends in flight.
      await waitFor(() => acked.size >= base + 50 && h!.runtime.store.busy > 0, `writes in flight in round ${round}`);
      killed = true;
      kills += h.node.kill('su/').length;
      await Promise.all(senders);
      // The killed sequencer's appends already queued still commit (or fail) after its death.
      await h.runtime.store.settled(pid);
    }
    expect(kills).toBe(ROUNDS);
    expect(failed.length).toBeGreaterThan(0);

    const log = await checkLog(h.su, pid);
    for (const [id, slot] of acked) expect(log.messages[slot], `acked ${id} at ${slot}`).toBe(id);
    const inLog = new Map(log.messages.map((id, slot) => [id, slot]));

    // Every failed message, sent again, gets its slot if it made it, else the next free one.
    const retry = new SuClient(h.node, h.node, { supervisor: SEQUENCERS, timeout: 30_000 });
    let next = log.nextSlot;
    for (const m of failed) {
      const r = await retry.schedule(pid, { op: 'message', id: m.id, raw: m.raw });
      const slot = slotOf(r);
      if (inLog.has(m.id)) {
        expect(slot).toBe(inLog.get(m.id));
        expect('ok' in r && r.ok.existing).toBe(true);
      } else expect(slot).toBe(next++);
    }
    const final = await checkLog(h.su, pid);
    expect(final.nextSlot).toBe(1 + sent.length);
    expect(new Set(final.messages)).toEqual(new Set([pid, ...sent]));
  });
});

const FIXTURE = fileURLToPath(new URL('./fixtures/writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Ack {
  pid: string;
  id: string;
  slot: number;
}

/** Runs the writer until it has acked `atLeast` messages, then SIGKILLs it. */
function runWriterAndKill(dir: string, atLeast: number): Promise<{ ready: Map<string, number>; acks: Ack[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, '4', '16'], {
      cwd: ROOT,
      env: { ...process.env, AOTP_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = new Map<string, number>();
    const acks: Ack[] = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        const [kind, pid, a, b] = line.split(' ');
        if (kind === 'READY') ready.set(pid!, Number(a));
        if (kind === 'ACK') acks.push({ pid: pid!, id: a!, slot: Number(b) });
      }
      if (!killed && acks.length >= atLeast) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ ready, acks });
      else reject(new Error(`writer exited by itself (${code}): ${stderr}`));
    });
  });
}

describe('a node crash (SIGKILL of the writing process)', () => {
  it('keeps every acked message, no half-written slot, and the next run continues from the last durable slot', async () => {
    const dir = tempDir('aotp-su-crash-');
    try {
      const first = await runWriterAndKill(dir, 400);
      const second = await runWriterAndKill(dir, 400);
      expect([...second.ready.keys()]).toEqual([...first.ready.keys()]);

      const store = Store.open(join(dir, 'lmdb'));
      const { wallet } = await loadOrCreateWallet(dir, { kind: 'ed25519', fileName: 'su-wallet.json' });
      const su = createSu({ wallet, store, signers: 0, idleMs: 0, maxRun: 64 });
      try {
        const logs = new Map<string, string[]>();
        for (const pid of first.ready.keys()) logs.set(pid, (await checkLog(su, pid)).messages);
        for (const a of [...first.acks, ...second.acks]) expect(logs.get(a.pid)![a.slot], `acked ${a.id}`).toBe(a.id);
        // The second run started where the first one's durable log ended.
        for (const [pid, next] of second.ready) {
          const firstRunSlots = logs.get(pid)!.slice(0, next);
          expect(firstRunSlots.length).toBe(next);
          const firstAcked = first.acks.filter((a) => a.pid === pid).map((a) => a.slot);
          expect(next).toBeGreaterThan(Math.max(...firstAcked));
          const secondAcked = second.acks.filter((a) => a.pid === pid).map((a) => a.slot);
          if (secondAcked.length) expect(Math.min(...secondAcked)).toBeGreaterThanOrEqual(next);
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
