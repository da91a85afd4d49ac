/**
 * CI's seed range: `aotp sim --seeds N` (the compiled CLI, one child process per core) runs N
 * seeds with the default workload and faults; every one must pass. Prints seeds per second.
 * AOTP_SIM_SEEDS changes N (default 500), AOTP_SIM_FROM the first seed (default 1).
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';

const SEEDS = Number(process.env.AOTP_SIM_SEEDS ?? 500);
const FROM = Number(process.env.AOTP_SIM_FROM ?? 1);

describe('the CI seed range', () => {
  it(`${SEEDS} seeds from ${FROM} pass every invariant`, async () => {
    const jobs = Math.max(1, availableParallelism());
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['bin/aotp.js', 'sim', '--seeds', String(SEEDS), '--from', String(FROM), '--jobs', String(jobs), '--json'],
        { maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 },
        (e, stdout, stderr) => (e && !stdout ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1) as { seeds: number; failed: number; seconds: number; seedsPerSecond: number; jobs: number };
    const failures = lines.slice(0, -1) as { seed: number; replay: string; violations: { invariant: string; detail: string }[] }[];
    console.log(`${summary.seeds} seeds in ${summary.seconds} s: ${summary.seedsPerSecond} seeds/s on ${summary.jobs} processes`);
    expect(failures.map((f) => `${f.replay}: ${f.violations[0]?.invariant}: ${f.violations[0]?.detail}`)).toEqual([]);
    expect(summary).toMatchObject({ seeds: SEEDS, failed: 0 });
  }, 25 * 60_000);
});
