/**
 * What the MU's routes ask of it. A submitted item becomes a root push job, written to LMDB
 * before anything else happens; the answer waits (bounded) until the SU has given it a slot,
 * so a refused item gets its reason and leaves no job behind, and an accepted one can be read
 * from the CU at once.
 */
import { CallError, type Caller } from '../../runtime/index.js';
import { InvalidDataItem, ownerAddress, parseDataItem, tagValue, verifyDataItem, type ParsedDataItem } from '../ans104/index.js';
import { checkExclude, isTxId, validateItem } from '../su/validate.js';
import { assignJobId, isTerminal, type JobRecord } from './job.js';
import { startJob, startMonitor, stopMonitor, type NameRegistry } from './launcher.js';
import type { MuRuntime, ScheduledReply } from './push-job.js';

export class MuError extends Error {
  override readonly name = 'MuError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Accepted {
  /** The item's id (a message or a process), or for an assignment the SU's assignment id. */
  id: string;
  message: string;
  /** The job that carries it. */
  job: string;
}

/** A job as the trace route shows it (without the item bytes). */
export type JobView = Omit<JobRecord, 'raw'>;
export const jobView = ({ raw: _raw, ...rest }: JobRecord): JobView => rest;

export class MuApi {
  constructor(
    private readonly caller: Caller,
    private readonly names: NameRegistry,
    readonly mu: MuRuntime,
    private readonly o: { scheduleWaitMs: number; maxMonitorsPerOwner: number },
  ) {}

  /** `POST /` with a data item: a Message to a hosted process, or a Process to spawn. */
  async submit(raw: Uint8Array): Promise<Accepted> {
    const v = await validateItem(raw, await this.spawnScheduler(raw));
    if ('error' in v) throw new MuError(400, v.error);
    const { item } = v.ok;
    if (v.ok.kind === 'message' && !(await this.mu.scheduler.processTags(v.ok.processId))) throw new MuError(400, `Process not found: ${v.ok.processId}`);
    if (v.ok.kind === 'process') {
      const module = tagValue(item.tags, 'Module')!;
      let known;
      try {
        known = await this.mu.compute.hasModule(module);
      } catch (e) {
        throw new MuError(503, `Module ${module.slice(0, 64)} cannot be looked up now, try again: ${(e as Error).message}`);
      }
      if ('missing' in known) {
        throw new MuError(400, `${known.missing} (GET / lists the modules this node bundles)`);
      }
    }
    const now = this.mu.now();
    const job: JobRecord = {
      id: item.id,
      kind: v.ok.kind === 'process' ? 'spawn' : 'message',
      processId: v.ok.kind === 'process' ? item.id : v.ok.processId,
      messageId: item.id,
      raw: Uint8Array.from(raw),
      root: item.id,
      pushedFor: item.id,
      depth: 0,
      // A spawn's own evaluation is not cranked (as the reference MU); a message's is.
      follow: v.ok.kind === 'message',
      stage: 'schedule',
      rev: 0,
      createdAt: now,
      updatedAt: now,
    };
    const done = await this.run(job);
    return { id: item.id, message: `Processing ${v.ok.kind === 'process' ? 'Process' : 'DataItem'}`, job: done.id };
  }

  /**
   * The SU a spawn may name: this node's, or on a network any SU whose location is found (the
   * push job posts the spawn there). Anything else is checked against this node's SU.
   */
  private async spawnScheduler(raw: Uint8Array): Promise<string> {
    const local = this.mu.scheduler.address;
    if (!this.mu.scheduler.reaches) return local;
    let scheduler: string | undefined;
    try {
      const tags = parseDataItem(raw).tags;
      scheduler = tagValue(tags, 'Type') === 'Process' ? tagValue(tags, 'Scheduler') : undefined;
    } catch {
      return local; // validateItem says what is wrong with it
    }
    if (scheduler === undefined || scheduler === local) return local;
    try {
      return (await this.mu.scheduler.reaches(scheduler)) ? scheduler : local;
    } catch (e) {
      throw new MuError(503, `SU ${scheduler.slice(0, 64)} cannot be looked up now, try again: ${(e as Error).message}`);
    }
  }

  /** `POST /?process-id=&assign=`: assigns an existing message to a process and pushes its result. */
  async assign(processId: string, messageId: string, exclude: string[] = []): Promise<Accepted> {
    if (!isTxId(processId)) throw new MuError(400, `process-id must be a process id (43 base64url characters), got '${processId.slice(0, 64)}'`);
    if (!isTxId(messageId)) throw new MuError(400, `assign must be a transaction id (43 base64url characters), got '${messageId.slice(0, 64)}'`);
    const badExclude = checkExclude(exclude);
    if (badExclude) throw new MuError(400, badExclude);
    if (!(await this.mu.scheduler.processTags(processId))) throw new MuError(400, `Process not found: ${processId}`);
    const now = this.mu.now();
    const job: JobRecord = {
      id: assignJobId(messageId, processId),
      kind: 'assign',
      processId,
      messageId,
      root: assignJobId(messageId, processId),
      pushedFor: messageId,
      depth: 0,
      follow: true,
      ...(exclude.length ? { exclude } : {}),
      stage: 'schedule',
      rev: 0,
      createdAt: now,
      updatedAt: now,
    };
    const done = await this.run(job);
    return { id: done.assignmentId ?? messageId, message: 'Processing Assignment', job: done.id };
  }

  /**
   * Writes the job (unless it exists), starts it and waits for its slot; a refusal removes it.
   * With a store whose writes share the SU's commits, the job's write is not waited for before
   * its item is scheduled: it is durable when the SU's commit is, so the client's answer costs
   * one commit, not two.
   */
  private async run(job: JobRecord): Promise<Pick<JobRecord, 'id' | 'assignmentId'>> {
    const known = await this.mu.store.current(job.id);
    if (known && isTerminal(known)) return known;
    const written = known ? undefined : this.mu.store.write(undefined, [job]);
    written?.catch(() => undefined); // waited for below
    if (written && !this.mu.store.sharesSuCommits) await written;
    const pid = await startJob(this.caller, job.id);
    let reply: ScheduledReply | undefined;
    if (pid) {
      try {
        reply = await this.caller.call(pid, { op: 'scheduled' }, { timeout: Math.max(this.o.scheduleWaitMs, 1) });
      } catch (e) {
        // The job may have ended between start and call (noproc), or is still waiting for the
        // SU (timeout): the record says which.
        if (!(e instanceof CallError)) throw e;
      }
    }
    await written;
    if (reply && 'ok' in reply) return { id: job.id, ...(reply.ok.assignmentId ? { assignmentId: reply.ok.assignmentId } : {}) };
    // In a cluster, the job may be another node's (the same item sent to two nodes at once).
    const now = (await this.mu.store.current(job.id))!;
    if (now.stage === 'failed' && now.slot === undefined && !known) {
      await this.mu.store.forget(now);
      throw new MuError(400, now.reason ?? 'the scheduler refused the message');
    }
    return now;
  }

  /**
   * `POST /monitor/:processId`: its cron results are pushed from now on. Each monitor makes the
   * node evaluate its process every poll, so only the process's owner or one of its Authority
   * addresses may start one, and one address may start at most `maxMonitorsPerOwner`.
   */
  async monitor(processId: string, raw: Uint8Array): Promise<{ message: string; processId: string }> {
    const by = await this.monitorRequest(processId, raw);
    if (!this.mu.store.monitor(processId)) {
      const started = this.mu.store.allMonitors().filter((m) => m.by === by).length;
      if (started >= this.o.maxMonitorsPerOwner) {
        throw new MuError(429, `${by} already monitors ${started} processes, the most one address may; unmonitor one first`);
      }
      const now = this.mu.now();
      await this.mu.store.putMonitor({ processId, cursor: String(now), since: now, by });
    }
    await startMonitor(this.caller, processId);
    return { message: 'Monitoring process', processId };
  }

  /** `DELETE /monitor/:processId`: by the same people who may start it. */
  async unmonitor(processId: string, raw: Uint8Array): Promise<{ message: string; processId: string }> {
    await this.monitorRequest(processId, raw);
    if (!(await this.mu.store.removeMonitor(processId))) throw new MuError(404, `Process ${processId.slice(0, 64)} is not monitored`);
    await stopMonitor(this.caller, this.names, processId);
    return { message: 'Process deleted', processId };
  }

  /** Checks a monitor request (signed, aimed at the process, by its owner or an Authority); answers its signer. */
  private async monitorRequest(processId: string, raw: Uint8Array): Promise<string> {
    const item = await this.checkSigned(raw);
    if (!isTxId(processId)) throw new MuError(404, `Process not found: ${processId.slice(0, 64)}`);
    // aoconnect signs monitor requests with the process as target: one signed for another process is not this request.
    if (item.target !== processId) throw new MuError(400, `The signed item must target the process ${processId} (its target is ${item.target ?? 'empty'})`);
    const [owner, tags] = await Promise.all([this.mu.scheduler.processOwner(processId), this.mu.scheduler.processTags(processId)]);
    if (owner === undefined || tags === undefined) throw new MuError(404, `Process not found: ${processId}`);
    const by = ownerAddress(item);
    const authorities = tags.filter((t) => t.name === 'Authority').flatMap((t) => t.value.split(',').map((a) => a.trim()));
    if (by !== owner && !authorities.includes(by)) {
      throw new MuError(403, `Only the owner of ${processId} or one of its Authority addresses may start or stop its monitor; ${by} is neither`);
    }
    return by;
  }

  /** A job and the rest of its push. */
  async trace(id: string): Promise<{ job: JobView; push: JobView[] }> {
    const job = this.mu.store.job(id) ?? (await this.mu.store.current(id));
    if (!job) throw new MuError(404, `No push job ${id.slice(0, 100)}`);
    return { job: jobView(job), push: this.mu.store.push(job.root).map(jobView) };
  }

  private async checkSigned(raw: Uint8Array): Promise<ParsedDataItem> {
    if (raw.length === 0) throw new MuError(400, 'Signed data item is required');
    let item: ParsedDataItem;
    try {
      item = parseDataItem(raw);
    } catch (e) {
      if (e instanceof InvalidDataItem) throw new MuError(400, `Not a valid ANS-104 data item: ${e.message}`);
      throw e;
    }
    if (!(await verifyDataItem(item))) throw new MuError(400, 'Invalid signature: the data item does not verify against its owner');
    return item;
  }
}
