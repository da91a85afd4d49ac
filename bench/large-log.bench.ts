/**
 * Memory of evaluating a log of large messages: `npm run bench:large-log` (N=<messages>, default
 * 20, each 9.5 MB; --quick: 8).
 *
 * The CU evaluates N messages of 9.5 MB on a real aos process (a handler counts them and keeps
 * nothing), twice in this run: with its read budget (cu.readPageBytes, 8 MiB by default) and
 * with the budget lifted (every read takes up to readPage = 256 messages, as before the budget).
 * The figure is the growth of the process's anonymous resident memory (RssAnon: heaps, buffers,
 * WASM memory) from the start of the evaluation to its peak; the LMDB map's file pages are left
 * out (they are the page cache, shared and reclaimable, and the same in both runs).
 */
import { readFileSync } from 'node:fs';
import { run, send, spawnAos, startCu } from '../test/units/cu/support/harness.js';

const N = Number(process.env.N ?? (process.argv.includes('--quick') ? 8 : 20));
const SIZE = 9.5 * 2 ** 20;
const MB = 2 ** 20;
const anon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function measure(readPageBytes: number | undefined): Promise<{ growthMB: number; ms: number }> {
  const h = await startCu({ config: readPageBytes === undefined ? {} : { readPageBytes } });
  try {
    const pid = await spawnAos(h, 'aos-2.0.4-wasm32');
    await run(h, pid, 'Handlers.add("big", Handlers.utils.hasMatchingTag("Action", "Big"), function (msg) Count = (Count or 0) + 1 end); return "ok"');
    const data = 'y'.repeat(SIZE - 1);
    for (let i = 0; i < N; i++) await send(h, pid, { action: 'Big', data: data + String(i % 10) });
    gc();
    const base = anon();
    let peak = base;
    const sample = setInterval(() => (peak = Math.max(peak, anon())), 20);
    const t0 = performance.now();
    await h.api.evaluate(pid, undefined, 3_600_000);
    const ms = performance.now() - t0;
    clearInterval(sample);
    peak = Math.max(peak, anon());
    if ((await run(h, pid, 'return Count')) !== String(N)) throw new Error('not every message was evaluated');
    return { growthMB: (peak - base) / MB, ms };
  } finally {
    await h.stop();
    gc();
  }
}

console.log(`# large-log benchmark: node ${process.version}, ${N} messages of ${SIZE / MB} MB`);
const budget = await measure(undefined);
console.log(`with the read budget (8 MiB): RssAnon +${budget.growthMB.toFixed(0)} MB, ${(budget.ms / 1000).toFixed(1)} s`);
const unbounded = await measure(Number.MAX_SAFE_INTEGER);
console.log(`budget lifted (256 messages a read): RssAnon +${unbounded.growthMB.toFixed(0)} MB, ${(unbounded.ms / 1000).toFixed(1)} s`);
console.log(`the budget holds ${(unbounded.growthMB / budget.growthMB).toFixed(1)}x less memory`);
console.log(
  JSON.stringify({
    messages: N,
    messageMB: SIZE / MB,
    rssAnonGrowthMB: Math.round(budget.growthMB),
    rssAnonGrowthUnboundedMB: Math.round(unbounded.growthMB),
    ratio: Number((unbounded.growthMB / budget.growthMB).toFixed(2)),
    evaluateMs: Math.round(budget.ms),
    evaluateUnboundedMs: Math.round(unbounded.ms),
  }),
);
process.exit(0);
