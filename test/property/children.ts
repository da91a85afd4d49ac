/**
 * The recording child the supervisor property drives: it traps exits, reports its start and
 * its `terminate(reason)` to an observer, and crashes on demand. Its arguments are plain data,
 * so it can be started on another node by its registered name.
 */
import type { Behaviour, Node, Pid } from '../../runtime/index.js';

export const RECORDER = 'prop.recorder';

export interface RecorderArgs {
  id: string;
  observer: Pid;
}

/** What a recorder tells its observer. */
export type RecorderEvent =
  | { ev: 'started'; id: string; pid: Pid }
  | { ev: 'terminate'; id: string; pid: Pid; reason: unknown };

/** Casts a recorder takes: throw `reason` (a crash), or stop with `reason` (terminate runs either way). */
export type RecorderCast = { op: 'throw'; reason: unknown } | { op: 'stop'; reason: unknown };

export function isRecorderEvent(m: unknown): m is RecorderEvent {
  const ev = (m as { ev?: unknown } | null)?.ev;
  return typeof m === 'object' && m !== null && (ev === 'started' || ev === 'terminate');
}

export const recorderBehaviour: Behaviour<RecorderArgs, RecorderArgs> = {
  init(args, ctx) {
    ctx.trapExit(true);
    ctx.send(args.observer, { ev: 'started', id: args.id, pid: ctx.self } satisfies RecorderEvent);
    return { ok: args };
  },
  handleCast(msg: RecorderCast, state) {
    if (msg.op === 'throw') throw msg.reason;
    return { stop: msg.reason, state };
  },
  handleCall(_req, _from, state) {
    return { reply: state.id, state };
  },
  terminate(reason, state, ctx) {
    ctx.send(state.observer, { ev: 'terminate', id: state.id, pid: ctx.self, reason } satisfies RecorderEvent);
  },
};

export function registerRecorder(node: Node): void {
  node.registerBehaviour(RECORDER, recorderBehaviour);
}
