/**
 * CI's seed range: `aotp sim` (the compiled CLI, one child process per core) over 500 seeds, 450
 * on one node and 50 on a three-node cluster, with the default workload and faults; every one
 * must pass. Prints seeds per second. AOTP_SIM_SEEDS scales the count (default 500),
 * AOTP_SIM_FROM sets the first seed (default 1).
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';

const SEEDS = Number(process.env.AOTP_SIM_SEEDS ?? 500);
const FROM = Number(process.env.AOTP_SIM_FROM ?? 1);
const CLUSTER = Math.max(1, Math.round(SEEDS / 10));

interface Summary {
  seeds: number;
  failed: number;
  seconds: number;
  seedsPerSecond: number;
  jobs: number;
}

function sim(args: string[]): Promise<{ summary: Summary; failures: { seed: number; replay: string; violations: { invariant: string; detail: string }[] }[] }> {
  const jobs = Math.max(1, availableParallelism());
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['bin/aotp.js', 'sim', ...args, '--jobs', String(jobs), '--json'], { maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 }, (e, stdout, stderr) => {
      if (e && !stdout) return reject(new Error(`${e.message}\n${stderr}`));
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as never);
      resolve({ summary: lines.at(-1)!, failures: lines.slice(0, -1) });
    }),
  );
}

describe('the CI seed range', () => {
  it(`${SEEDS} seeds from ${FROM} (${SEEDS - CLUSTER} on one node, ${CLUSTER} on three) pass every invariant`, async () => {
    const single = await sim(['--seeds', String(SEEDS - CLUSTER), '--from', String(FROM)]);
    const cluster = await sim(['--seeds', String(CLUSTER), '--from', String(FROM), '--nodes', '3']);
    const seconds = single.summary.seconds + cluster.summary.seconds;
    console.log(
      `${SEEDS} seeds in ${seconds.toFixed(1)} s (${(SEEDS / seconds).toFixed(2)} seeds/s on ${single.summary.jobs} processes): ` +
        `1 node ${single.summary.seedsPerSecond} seeds/s, 3 nodes ${cluster.summary.seedsPerSecond} seeds/s`,
    );
    const failures = [...single.failures, ...cluster.failures].map((f) => `${f.replay}: ${f.violations[0]?.invariant}: ${f.violations[0]?.detail}`);
    expect(failures).toEqual([]);
    expect(single.summary).toMatchObject({ seeds: SEEDS - CLUSTER, failed: 0 });
    expect(cluster.summary).toMatchObject({ seeds: CLUSTER, failed: 0 });
  }, 25 * 60_000);
});
