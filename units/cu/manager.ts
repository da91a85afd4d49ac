/**
 * The CU manager `cu`: starts process actors on demand under the processes' supervisor and
 * keeps at most `maxResident` of them, retiring the least recently used one past that: it stops
 * by itself once idle, without holding the supervisor (process.ts), and its memory comes back
 * from its checkpoint (and the log after it) when it is needed again.
 *
 * Everything that wants a process actor asks here first (`ensure`), which is also what marks a
 * process as recently used. The manager monitors the actors it knows, so a process that stopped
 * or crashed (and may be restarted by its supervisor under the same name) is forgotten and
 * found again by name.
 */
import { startChild, terminateChild, typedName, type Behaviour, type Call, type Name, type Pid } from '../../runtime/index.js';
import { isDownMessage } from '../../runtime/index.js';
import { processName, RETIRE, type ProcessProtocol } from './process.js';

export const CU_MANAGER = typedName<ManagerProtocol>('cu');
export const CU_PROCESSES = 'cu.processes';

export interface NameRegistry {
  whereis<P extends Call>(name: Name<P>): Pid<P> | undefined;
}

export interface ManagerArgs {
  names: NameRegistry;
  maxResident: number;
  /** Name of the process actors' simple_one_for_one supervisor. */
  supervisor?: string;
}

/** `ensure`'s answer: the actor, or why the process cannot be evaluated here. */
export type EnsureReply = { ok: Pid<ProcessProtocol> } | { error: string; code: 'not_found' | 'unprocessable' | 'error' };

export type ManagerProtocol =
  | Call<{ op: 'ensure'; processId: string }, EnsureReply>
  /** The processes resident now, least recently used first. */
  | Call<{ op: 'resident' }, string[]>
  /** Stop a process's actor (it checkpoints); whether it was resident. */
  | Call<{ op: 'evict'; processId: string }, boolean>;

export type ManagerRequest = ManagerProtocol['req'];

interface State {
  args: ManagerArgs;
  supervisor: string;
  /** processId → pid, least recently used first. */
  lru: Map<string, { pid: Pid<ProcessProtocol>; ref: string }>;
}

function touch(s: State, processId: string, pid: Pid<ProcessProtocol>, ref: string): void {
  s.lru.delete(processId);
  s.lru.set(processId, { pid, ref });
}

function unavailable(error: unknown): EnsureReply {
  if (typeof error === 'object' && error !== null && 'cu_process_unavailable' in error) {
    const e = error as { cu_process_unavailable: string; code?: string };
    const code = e.code === 'not_found' || e.code === 'unprocessable' ? e.code : 'error';
    return { error: e.cu_process_unavailable, code };
  }
  return { error: `the process actor did not start: ${typeof error === 'string' ? error : JSON.stringify(error)}`, code: 'error' };
}

export const cuManager: Behaviour<ManagerArgs, State, ManagerProtocol> = {
  init(args) {
    return { ok: { args, supervisor: args.supervisor ?? CU_PROCESSES, lru: new Map() } };
  },

  async handleCall(req, _from, s, ctx) {
    if (req.op === 'resident') return { reply: [...s.lru.keys()], state: s };
    if (req.op === 'evict') {
      const hit = s.lru.get(req.processId);
      if (hit) await terminateChild(ctx, s.supervisor, hit.pid);
      return { reply: hit !== undefined, state: s };
    }
    const { processId } = req;
    const known = s.lru.get(processId);
    if (known && ctx.isAlive(known.pid)) {
      touch(s, processId, known.pid, known.ref);
      return { reply: { ok: known.pid } satisfies EnsureReply, state: s };
    }
    let pid = s.args.names.whereis(processName(processId));
    if (!pid) {
      // A name already taken is answered with its actor by the start itself (supervisors/named-children.ts).
      const r = await startChild(ctx, s.supervisor, { processId });
      if (!('ok' in r) || r.ok === undefined) return { reply: unavailable('error' in r ? r.error : r), state: s };
      pid = r.ok as Pid<ProcessProtocol>;
    }
    if (known) ctx.demonitor(known.ref, { flush: true });
    touch(s, processId, pid, ctx.monitor(pid));
    // Past the bound: retire the least recently used (it stops when idle; asked for again
    // before that, it is found by its name and serves the request first).
    while (s.lru.size > s.args.maxResident) {
      const [oldest, entry] = s.lru.entries().next().value!;
      s.lru.delete(oldest);
      ctx.demonitor(entry.ref, { flush: true });
      ctx.send(entry.pid, RETIRE);
    }
    return { reply: { ok: pid } satisfies EnsureReply, state: s };
  },

  handleInfo(msg, s) {
    if (isDownMessage(msg)) {
      for (const [processId, entry] of s.lru) {
        if (entry.ref === msg.ref) {
          s.lru.delete(processId);
          break;
        }
      }
    }
    return { state: s };
  },
};
