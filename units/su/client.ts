/**
 * How the rest of the node schedules: finds the sequencer `su/<processId>` by name, starts it
 * under the sequencers' supervisor when it is not running, and calls it.
 *
 * A call that fails because the sequencer was not there (`noproc`), stopped while the request
 * waited in its mailbox (an idle stop), or died (a crash or a kill) is made again, to the
 * restarted or a fresh sequencer. That is safe because scheduling is idempotent by message id:
 * the retry gets the slot the first attempt got, or the first slot if it never got one.
 */
import { CallError, formatReason, startChild, type Caller, type Pid } from '../../runtime/index.js';
import type { ReadyReply, ScheduleReply, SequencerCall, SequencerRequest } from './sequencer.js';

export const sequencerName = (processId: string) => `su/${processId}`;

/** The running sequencers' registry: a local node. */
export interface NameRegistry {
  whereis(name: string): Pid | undefined;
}

/** In a cluster: which node runs a process's sequencer. */
export interface Placement {
  /** This node's name. */
  self: string;
  owner(processId: string): string;
}

export interface SuClientOptions {
  /** Name of the sequencers' simple_one_for_one supervisor. */
  supervisor: string;
  /** Per call, ms. */
  timeout: number;
  /** Calls per request before giving up; default 4. */
  attempts?: number;
  /** Absent: every sequencer runs on this node. */
  placement?: Placement;
}

/** The sequencer could not be reached (after retries). */
export class SchedulerUnavailable extends Error {
  override readonly name = 'SchedulerUnavailable';
}

/** Remote sequencers' pids kept (a request to a known one is one bus hop, not two). */
const REMOTE_PIDS = 10_000;

export class SuClient {
  private readonly remotePids = new Map<string, Pid>();

  constructor(
    private readonly caller: Caller,
    private readonly names: NameRegistry,
    private readonly options: SuClientOptions,
  ) {}

  /** The running sequencer of `processId`, started if needed. */
  async sequencer(processId: string): Promise<Pid> {
    const name = sequencerName(processId);
    const owner = this.options.placement?.owner(processId);
    const remote = owner !== undefined && owner !== this.options.placement!.self;
    const running = remote ? this.remotePids.get(processId) : this.names.whereis(name);
    // A remote pid is good while its node still owns the process (a dead one fails the call, which forgets it).
    if (running && (!remote || running.node === owner)) return running;
    // The owner's sequencers' supervisor starts it there (or answers the running one).
    const supervisor = remote ? { name: this.options.supervisor, node: owner } : this.options.supervisor;
    const r = await startChild(this.caller, supervisor, { processId });
    const pid = 'ok' in r && r.ok ? r.ok : 'error' in r && typeof r.error === 'object' && r.error !== null && 'already_started' in r.error ? (r.error as { already_started: Pid }).already_started : undefined;
    if (pid) {
      if (remote) {
        this.remotePids.delete(processId);
        this.remotePids.set(processId, pid);
        if (this.remotePids.size > REMOTE_PIDS) this.remotePids.delete(this.remotePids.keys().next().value!);
      }
      return pid;
    }
    const now = remote ? undefined : this.names.whereis(name);
    if (now) return now;
    throw new SchedulerUnavailable(`cannot start the sequencer of ${processId}: ${formatReason('error' in r ? r.error : r)}`);
  }

  async schedule(processId: string, request: SequencerRequest): Promise<ScheduleReply> {
    return this.ask<ScheduleReply>(processId, request);
  }

  /**
   * Waits until the sequencer of `processId` (started if needed) has finished its `init`: its
   * node's log then holds every slot the replicated log had when it claimed the process. A
   * running sequencer's name is registered before its init ends, so finding the name is not
   * enough. With `slot`: also until that slot, if this sequencer assigned it, is committed here.
   * Rejects (SchedulerUnavailable) when it cannot start, e.g. another node holds the log.
   */
  async ready(processId: string, slot?: number): Promise<number> {
    return (await this.ask<ReadyReply>(processId, { op: 'ready', ...(slot !== undefined ? { slot } : {}) })).ready.nextSlot;
  }

  private async ask<R>(processId: string, request: SequencerCall): Promise<R> {
    const attempts = this.options.attempts ?? 4;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        // Not starting may be passing too: the owner died meanwhile (the next attempt asks its
        // successor), or it is still taking the process over.
        const pid = await this.sequencer(processId);
        return (await this.caller.call<R>(pid, request, { timeout: this.options.timeout })) as R;
      } catch (e) {
        this.remotePids.delete(processId);
        if (!(e instanceof SchedulerUnavailable) && (!(e instanceof CallError) || e.kind === 'timeout')) throw e;
        last = e;
      }
    }
    throw new SchedulerUnavailable(`the sequencer of ${processId} did not answer: ${(last as Error).message}`);
  }
}
