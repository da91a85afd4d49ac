/**
 * What must hold of a simulated cluster, read from what the nodes wrote (their disks) and what
 * the clients were answered (the workload's ledger):
 *
 * - logs: every process's log has slots 0..n-1, one message each, no message twice, a hash
 *   chain that checks out, and every disk holding it agrees slot by slot (no slot assigned twice);
 * - accepted: every item a client was answered 2xx for is in its process's log, once;
 * - pushed: every message, spawn and assignment in the outbox of a followed message is in its
 *   target's log exactly once, and nothing in a log claims to come from an outbox that does not
 *   hold it (cron outboxes: at most once);
 * - computed: every CU that evaluated a slot got the same result, every checkpoint at one
 *   position has the same memory hash, and what a client read is that result;
 * - supervised: no supervisor gave up (reached its restart intensity), no live node's root exited;
 * - calls: no call outlived its timeout (checked as calls end, see calls.ts);
 * - settled: after the run, every push job has ended.
 */
import { createHash } from 'node:crypto';
import { SimStore, type SimDisk } from '../runtime/sim/disk.js';
import { parseDataItem, tagValue, type Tag } from '../units/ans104/index.js';
import { CuStore } from '../units/cu/store.js';
import { isTerminal, type JobRecord } from '../units/mu/job.js';
import { firstHashChain, nextHashChain } from '../units/su/assignment.js';
import { readSuLog, type SuLogReader } from '../units/su/log-reader.js';
import type { SlotRecord } from '../units/su/store.js';
import { ok, type Workload } from './workload.js';
import { unpack } from 'msgpackr';
import { CLUSTER } from './node.js';
import type { Reference } from './verifier.js';
import type { World } from './world.js';

export interface Violation {
  invariant: 'logs' | 'accepted' | 'pushed' | 'computed' | 'supervised' | 'calls' | 'settled';
  detail: string;
}

/** One disk's tables, read as the units read them. */
interface DiskView {
  name: string;
  su: SuLogReader;
  cu: CuStore;
  jobs: JobRecord[];
  monitors: { processId: string; since: number }[];
}

function view(w: World, name: string, disk: SimDisk): DiskView {
  const store = new SimStore(disk, { sched: w.sched, owner: `inspect:${name}`, latency: () => 0 });
  const jobs = [...store.db<JobRecord, string>('mu.jobs').getRange()].map((e) => e.value);
  const monitors = [...store.db<{ processId: string; since: number }, string>('mu.monitors').getRange()].map((e) => e.value);
  return { name, su: readSuLog(store), cu: new CuStore(store), jobs, monitors };
}

const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 16);

interface Slot {
  record: SlotRecord;
  tags: Tag[];
  type: string | undefined;
}

/** Where a copy of the logs is: a node's disk, or (in a cluster) the replicated stream. */
export interface LogSource {
  name: string;
  logs: Map<string, { slots: SlotRecord[]; nextSlot: number }>;
}

function diskSource(w: World, name: string, disk: SimDisk): LogSource {
  const store = new SimStore(disk, { sched: w.sched, owner: `inspect:${name}`, latency: () => 0 });
  const su = readSuLog(store);
  const logs = new Map<string, { slots: SlotRecord[]; nextSlot: number }>();
  for (const { value: p } of store.db<{ processId: string; nextSlot: number }, string>('su.processes').getRange()) {
    logs.set(p.processId, { slots: su.slotRange(p.processId, 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), nextSlot: p.nextSlot });
  }
  return { name, logs };
}

/**
 * Every copy of the logs (each disk's, and `extra` such as the replicated stream's), checked one
 * by one and against each other; answers the longest log of each process.
 */
export function checkLogs(w: World, violations: Violation[] = [], extra: LogSource[] = []): Map<string, Slot[]> {
  const logs = new Map<string, Slot[]>();
  const where = new Map<string, string>();
  const sources = [...[...w.disks].map(([name, disk]) => diskSource(w, name, disk)), ...extra];
  for (const { name, logs: copies } of sources) {
    for (const [processId, { slots, nextSlot }] of copies) {
      const p = { processId, nextSlot };
      const seen = new Map<string, number>();
      let chain: string | undefined;
      let prevId: string | undefined;
      slots.forEach((s, i) => {
        if (s.slot !== i) violations.push({ invariant: 'logs', detail: `${name}: process ${p.processId} has slot ${s.slot} at position ${i} (a gap)` });
        const twice = seen.get(s.messageId);
        if (twice !== undefined) violations.push({ invariant: 'logs', detail: `${name}: message ${s.messageId} is in slots ${twice} and ${s.slot} of ${p.processId}` });
        seen.set(s.messageId, s.slot);
        const expected = i === 0 ? firstHashChain(p.processId) : nextHashChain(prevId!, chain!);
        if (s.hashChain !== expected) violations.push({ invariant: 'logs', detail: `${name}: ${p.processId} slot ${s.slot}: Hash-Chain does not follow slot ${s.slot - 1}` });
        chain = s.hashChain;
        prevId = s.assignmentId;
      });
      if (slots.length !== p.nextSlot) violations.push({ invariant: 'logs', detail: `${name}: ${p.processId} says next slot ${p.nextSlot} but holds ${slots.length} slots` });
      const known = logs.get(p.processId) ?? [];
      for (let i = 0; i < Math.min(known.length, slots.length); i++) {
        const a = known[i]!.record;
        const b = slots[i]!;
        if (a.assignmentId !== b.assignmentId || a.messageId !== b.messageId) {
          violations.push({ invariant: 'logs', detail: `${p.processId} slot ${i} differs: ${a.messageId} (assignment ${a.assignmentId}) on ${where.get(p.processId)}, ${b.messageId} (assignment ${b.assignmentId}) on ${name}` });
          break;
        }
      }
      if (slots.length > known.length) {
        logs.set(p.processId, [
          ...known,
          ...slots.slice(known.length).map((record) => {
            const tags = record.item ? parseDataItem(record.item).tags : [];
            return { record, tags, type: tagValue(tags, 'Type') };
          }),
        ]);
        where.set(p.processId, name);
      }
    }
  }
  return logs;
}

interface OutItem {
  Target?: string;
  Tags?: { name: string; value: string }[];
}

const tagOf = (item: OutItem, name: string) => item.Tags?.find((t) => t.name === name)?.value;

/**
 * In a cluster, the push jobs as JetStream holds them (their truth), without the inert children
 * (written by an attempt whose parent's update lost: they count for nothing, see mu-jobs.ts);
 * undefined on a single node.
 */
export function clusterJobs(w: World): JobRecord[] | undefined {
  const kv = w.jetstream?.streams.get(`KV_${CLUSTER}_mu_jobs`);
  if (!kv) return undefined;
  const jobs: JobRecord[] = [];
  for (const subject of kv.bySubject.keys()) {
    const m = kv.lastOf(subject)!;
    if ((m.header?.get('KV-Operation') || 'PUT') !== 'PUT') continue; // purged or deleted
    jobs.push((unpack(m.data) as { record: JobRecord }).record);
  }
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const inert = (j: JobRecord) => j.parent !== undefined && byId.get(j.parent)?.stage === 'done' && !(byId.get(j.parent)!.children ?? []).includes(j.id);
  return jobs.filter((j) => !inert(j));
}

/** Everything, after the run has settled. */
export function checkFinal(w: World, workload: Workload, violations: Violation[], reference: Reference, extra: LogSource[] = [], settledAt = Infinity): void {
  const logs = checkLogs(w, violations, extra);
  const views = [...w.disks].map(([name, disk]) => view(w, name, disk));

  // accepted: every item answered 2xx is in its log once.
  for (const s of workload.ledger) {
    if (!ok(s.status) || s.op === 'monitor') continue;
    const log = logs.get(s.processId) ?? [];
    const n = log.filter((x) => x.record.messageId === s.id).length;
    if (n !== 1) violations.push({ invariant: 'accepted', detail: `${s.op} ${s.id} to ${s.processId} was answered ${s.status} by ${s.node} at ${s.at.toFixed(0)} but is in its log ${n} times` });
  }

  // computed: results, checkpoints and reads agree.
  const results = new Map<string, { hash: string; output: unknown; node: string }>();
  const checkpoints = new Map<string, { hash: string; node: string }>();
  for (const v of views) {
    for (const processId of logs.keys()) {
      for (const r of v.cu.resultsBetween(processId, { from: -1, to: Number.MAX_SAFE_INTEGER })) {
        const key = `${processId}/${r.slot}`;
        const h = hashOf(r.output);
        const known = results.get(key);
        if (!known) results.set(key, { hash: h, output: r.output, node: v.name });
        else if (known.hash !== h) violations.push({ invariant: 'computed', detail: `result of ${processId} slot ${r.slot}: ${known.hash} on ${known.node}, ${h} on ${v.name}` });
      }
      for (const slot of v.cu.checkpointSlots(processId)) {
        const c = v.cu.checkpoint(processId, slot);
        if (!c) continue;
        const key = `${processId}/${slot}/${c.cron ?? -1}`;
        const known = checkpoints.get(key);
        if (!known) checkpoints.set(key, { hash: c.image.memoryHash, node: v.name });
        else if (known.hash !== c.image.memoryHash) violations.push({ invariant: 'computed', detail: `memory of ${processId} at slot ${slot}: ${known.hash.slice(0, 12)} on ${known.node}, ${c.image.memoryHash.slice(0, 12)} on ${v.name}` });
      }
    }
  }
  // ... and what the reference evaluation computes from the final log.
  for (const [processId, slots] of reference) {
    for (const [slot, r] of slots) {
      const stored = results.get(`${processId}/${slot}`);
      if (stored && stored.hash !== hashOf(r.output)) {
        violations.push({ invariant: 'computed', detail: `result of ${processId} slot ${slot} on ${stored.node} is ${stored.hash}; evaluating the final log gives ${hashOf(r.output)}` });
      }
      if (!stored) results.set(`${processId}/${slot}`, { hash: hashOf(r.output), output: r.output, node: 'reference' });
    }
  }
  for (const r of workload.reads) {
    const slot = logs.get(r.processId)?.find((x) => x.record.messageId === r.messageId)?.record.slot;
    const stored = slot === undefined ? undefined : results.get(`${r.processId}/${slot}`);
    if (!stored) violations.push({ invariant: 'computed', detail: `${r.node} answered a result for ${r.messageId} of ${r.processId}, which no CU holds` });
    else if (hashOf(r.output) !== stored.hash) violations.push({ invariant: 'computed', detail: `${r.node} answered ${hashOf(r.output)} for ${r.messageId} at ${r.at.toFixed(0)}; the CUs computed ${stored.hash}` });
  }

  // pushed: each outbox item of a followed message is in its target's log exactly once.
  const pushed = new Map<string, string[]>();
  const spawnedNotices = new Map<string, number>();
  for (const [processId, log] of logs) {
    for (const s of log) {
      const from = tagValue(s.tags, 'From-Process');
      if (!from) continue;
      if (tagValue(s.tags, 'Action') === 'Spawned') {
        const key = `${processId}|${tagValue(s.tags, 'Process')}`;
        spawnedNotices.set(key, (spawnedNotices.get(key) ?? 0) + 1);
        continue;
      }
      const ref = tagValue(s.tags, 'Reference');
      const key = `${s.type}|${from}|${ref}`;
      pushed.set(key, [...(pushed.get(key) ?? []), `${processId}/${s.record.slot}`]);
    }
  }
  const expected = new Set<string>();
  for (const [processId, log] of logs) {
    for (const s of log) {
      const followed = s.record.kind === 'assign' || (s.record.kind === 'message' && tagValue(s.tags, 'Cast')?.toLowerCase() !== 'true');
      if (!followed) continue;
      const r = results.get(`${processId}/${s.record.slot}`);
      if (!r) {
        violations.push({ invariant: 'pushed', detail: `no CU computed ${processId} slot ${s.record.slot} (${s.record.messageId}), whose outbox the MU had to push` });
        continue;
      }
      expectOutbox(r.output as { Messages?: OutItem[]; Spawns?: OutItem[]; Assignments?: { Processes?: string[]; Message?: string }[] }, processId, `slot ${s.record.slot}`, true);
    }
  }
  // Cron results of monitored processes (the monitor on one node, the results on the owner's): pushed at most once.
  const monitors = views.flatMap((v) => v.monitors);
  for (const v of views) {
    for (const m of monitors) {
      for (const c of v.cu.cronsBetween(m.processId, {})) {
        if (c.at >= m.since) expectOutbox(c.output as never, m.processId, `cron ${c.at}`, false);
      }
    }
  }
  function expectOutbox(out: { Messages?: OutItem[]; Spawns?: OutItem[]; Assignments?: { Processes?: string[]; Message?: string }[] }, processId: string, what: string, exactlyOnce: boolean): void {
    for (const [kind, items] of [['Message', out.Messages ?? []], ['Process', out.Spawns ?? []]] as const) {
      for (const item of items) {
        // A message to what is not a process (a wallet) goes nowhere on this network.
        if (kind === 'Message' && !(item.Target && logs.has(item.Target))) continue;
        const key = `${kind}|${processId}|${tagOf(item, 'Reference')}`;
        if (expected.has(key)) continue;
        expected.add(key);
        const at = pushed.get(key) ?? [];
        if (at.length > 1 || (exactlyOnce && at.length === 0)) {
          violations.push({ invariant: 'pushed', detail: `${kind.toLowerCase()} ${tagOf(item, 'Reference')} of ${processId}'s ${what} (to ${item.Target ?? 'a new process'}) is in the logs ${at.length} times${at.length ? `: ${at.join(', ')}` : ''}` });
        }
        if (kind === 'Process' && exactlyOnce && at.length === 1) {
          const child = logs.get(at[0]!.split('/')[0]!)?.[0]?.record.messageId;
          const notices = spawnedNotices.get(`${processId}|${child}`) ?? 0;
          if (notices !== 1) violations.push({ invariant: 'pushed', detail: `${processId} was told its spawn ${child} was Spawned ${notices} times` });
        }
      }
    }
    for (const a of out.Assignments ?? []) {
      for (const target of a.Processes ?? []) {
        if (!exactlyOnce || !a.Message) continue;
        const n = (logs.get(target) ?? []).filter((x) => x.record.messageId === a.Message).length;
        if (n !== 1) violations.push({ invariant: 'pushed', detail: `assignment of ${a.Message} to ${target} (from ${processId}'s ${what}) is in its log ${n} times` });
      }
    }
  }
  for (const [key, at] of pushed) {
    if (!expected.has(key)) violations.push({ invariant: 'pushed', detail: `${at.join(', ')} hold a ${key.split('|')[0]!.toLowerCase()} from ${key.split('|')[1]} (Reference ${key.split('|')[2]}) that no outbox of it holds` });
  }

  // supervised.
  for (const l of w.logs) {
    if (l.msg.includes('reached max restart intensity')) violations.push({ invariant: 'supervised', detail: `${l.node}:${l.creation}: a supervisor gave up (${JSON.stringify(l.line).slice(0, 200)})` });
  }
  for (const n of w.live()) {
    if (n.rootExit !== undefined) violations.push({ invariant: 'supervised', detail: `${n.name}: the root supervisor exited (${JSON.stringify(n.rootExit)})` });
  }

  // settled: no push job still open; a job that ended failed says why, which must not be that it gave up.
  // In a cluster the jobs' truth is the KV bucket (a node's copy of a job another took over may lag).
  const kvJobs = clusterJobs(w);
  const sources = kvJobs ? [{ name: 'jetstream', jobs: kvJobs }] : views;
  for (const v of sources) {
    for (const j of v.jobs) {
      // A cron monitor goes on making jobs after the run settled: those are on their way.
      if (j.createdAt > settledAt) continue;
      if (!isTerminal(j)) violations.push({ invariant: 'settled', detail: `${v.name}: push job ${j.id} (${j.kind} to ${j.processId}) is still at ${j.stage}` });
      else if (j.stage === 'failed' && /gave up/.test(j.reason ?? '')) violations.push({ invariant: 'settled', detail: `${v.name}: push job ${j.id} failed: ${j.reason}` });
    }
  }
}
