/**
 * CI's seed range: `aotp sim` (the compiled CLI, one child process per core) over 500 seeds on
 * one node with the default workload and faults, then 24 seeds of a three-node cluster with the
 * default faults too (kills of busy actors included); every one must pass. Prints seeds per
 * second. AOTP_SIM_SEEDS sets the count of the first range (default 500), AOTP_SIM_FROM the
 * first seed (default 1), AOTP_SIM_CLUSTER_SEEDS the second (default 24).
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';

const SEEDS = Number(process.env.AOTP_SIM_SEEDS ?? 500);
const FROM = Number(process.env.AOTP_SIM_FROM ?? 1);
const CLUSTER = Number(process.env.AOTP_SIM_CLUSTER_SEEDS ?? 24);

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
  it(`${SEEDS} seeds from ${FROM} on one node, ${CLUSTER} on three, pass every invariant`, async () => {
    const single = await sim(['--seeds', String(SEEDS), '--from', String(FROM)]);
    const cluster = await sim(['--seeds', String(CLUSTER), '--from', String(FROM), '--nodes', '3']);
    console.log(
      `${SEEDS} seeds on one node in ${single.summary.seconds} s (${single.summary.seedsPerSecond} seeds/s on ${single.summary.jobs} processes); ` +
        `${CLUSTER} on three nodes in ${cluster.summary.seconds} s (${cluster.summary.seedsPerSecond} seeds/s)`,
    );
    const failures = [...single.failures, ...cluster.failures].map((f) => `${f.replay}: ${f.violations[0]?.invariant}: ${f.violations[0]?.detail}`);
    expect(failures).toEqual([]);
    expect(single.summary).toMatchObject({ seeds: SEEDS, failed: 0 });
    expect(cluster.summary).toMatchObject({ seeds: CLUSTER, failed: 0 });
  }, 25 * 60_000);
});
