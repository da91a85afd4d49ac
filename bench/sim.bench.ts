/**
 * bench:sim — how fast the deterministic simulation runs: seeds per second (one process, one
 * core) for a single node and for a three-node cluster with the default workload and faults,
 * against a baseline measured in the same run: the same seeds with no faults. Also simulated
 * seconds per real second and events per second. Ends with one JSON line.
 *
 *   npm run bench:sim [-- --seeds N] [-- --quick]
 */
import { simulate, type SimOptions } from '../sim/run.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seedsArg = args.indexOf('--seeds');
const N = seedsArg >= 0 ? Number(args[seedsArg + 1]) : quick ? 4 : 20;

async function measure(label: string, o: Omit<SimOptions, 'seed'>): Promise<{ seedsPerSecond: number; simulatedPerReal: number; eventsPerSecond: number; failed: number }> {
  // One seed first, outside the timing: module compilation and the first instance are per process.
  await simulate({ ...o, seed: 1_000_000 });
  let virtual = 0;
  let events = 0;
  let failed = 0;
  const t0 = performance.now();
  for (let seed = 1; seed <= N; seed++) {
    const r = await simulate({ ...o, seed });
    virtual += r.virtualMs;
    events += r.events;
    if (!r.ok) failed++;
  }
  const secs = (performance.now() - t0) / 1000;
  const out = { seedsPerSecond: N / secs, simulatedPerReal: virtual / 1000 / secs, eventsPerSecond: events / secs, failed };
  console.log(`${label.padEnd(34)} ${out.seedsPerSecond.toFixed(2)} seeds/s, ${out.simulatedPerReal.toFixed(0)} simulated s per s, ${out.eventsPerSecond.toFixed(0)} events/s${failed ? `, ${failed} failed` : ''}`);
  return out;
}

const baseline = await measure('1 node, no faults (baseline)', { nodes: 1, faults: [] });
const single = await measure('1 node, default faults', { nodes: 1 });
const clusterBase = await measure('3 nodes, no faults (baseline)', { nodes: 3, faults: [] });
const cluster = await measure('3 nodes, default faults', { nodes: 3 });
console.log(`ratio to the fault-free baseline: 1 node ${(single.seedsPerSecond / baseline.seedsPerSecond).toFixed(2)}, 3 nodes ${(cluster.seedsPerSecond / clusterBase.seedsPerSecond).toFixed(2)}`);
console.log(
  JSON.stringify({
    seeds: N,
    seedsPerSecond: +single.seedsPerSecond.toFixed(3),
    seedsPerSecondCluster: +cluster.seedsPerSecond.toFixed(3),
    baselineSeedsPerSecond: +baseline.seedsPerSecond.toFixed(3),
    baselineSeedsPerSecondCluster: +clusterBase.seedsPerSecond.toFixed(3),
    ratio: +(single.seedsPerSecond / baseline.seedsPerSecond).toFixed(3),
    ratioCluster: +(cluster.seedsPerSecond / clusterBase.seedsPerSecond).toFixed(3),
    simulatedSecondsPerSecond: +single.simulatedPerReal.toFixed(1),
    eventsPerSecond: Math.round(single.eventsPerSecond),
    failed: single.failed + cluster.failed + baseline.failed + clusterBase.failed,
  }),
);
