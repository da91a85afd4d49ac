/**
 * Actors for the mailbox-order property: a receiver that logs every message it gets (info,
 * cast or call, and the EXIT of a linked sender) in arrival order, and a sender that links to
 * it, plays a script of sends, and exits. Both take plain-data arguments, so they can be
 * started on any node by name.
 */
import { isExitMessage, settle, type Behaviour, type From, type Node, type Pid, type Target } from '../../runtime/index.js';

export const RECEIVER = 'fifo.receiver';
export const SENDER = 'fifo.sender';

export type Kind = 'send' | 'cast' | 'call';

/** One step of a sender's script: a message of `kind` (with a payload of `size` bytes), or a yield. */
export type Step = { kind: Kind; size: number; byName: boolean } | { kind: 'yield' };

/** What crosses the bus: who sent it, its place in that sender's sequence, and a payload. */
export interface FifoMessage {
  tag: string;
  seq: number;
  kind: Kind;
  data: Uint8Array;
}

/**
 * What the receiver logs per message: sender, sequence number, kind, payload length and
 * checksum. A linked sender's exit is logged as `[its pid key, -1, 'exit', 0, 0]`.
 */
export type Logged = [tag: string, seq: number, kind: Kind | 'exit', length: number, checksum: number];

/** The payload of message `seq` of sender `tag`: deterministic, so the receiver's copy can be checked. */
export function payload(tag: string, seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seq * 2654435761 + tag.length;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function checksum(data: Uint8Array): number {
  let h = 2166136261;
  for (const b of data) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

function isFifoMessage(m: unknown): m is FifoMessage {
  return typeof m === 'object' && m !== null && typeof (m as FifoMessage).tag === 'string' && typeof (m as FifoMessage).seq === 'number';
}

interface ReceiverState {
  log: Logged[];
  /** A pending `await` call: answered once the log holds `n` messages. */
  waiting?: { from: From; n: number };
}

export type ReceiverCall = { op: 'await'; n: number } | FifoMessage;

function record(state: ReceiverState, m: unknown, reply: (from: From, v: unknown) => void): void {
  if (isExitMessage(m)) state.log.push([m.from.key, -1, 'exit', 0, 0]);
  else if (isFifoMessage(m)) {
    const data = m.data instanceof Uint8Array ? m.data : new Uint8Array(0);
    state.log.push([m.tag, m.seq, m.kind, data.length, checksum(data)]);
  } else throw new Error('not a fifo message');
  if (state.waiting && state.log.length >= state.waiting.n) {
    reply(state.waiting.from, state.log);
    state.waiting = undefined;
  }
}

export const receiverBehaviour: Behaviour<void, ReceiverState> = {
  init(_args, ctx) {
    ctx.trapExit(true);
    return { ok: { log: [] } };
  },
  handleInfo(m, state, ctx) {
    record(state, m, ctx.reply);
    return { state };
  },
  handleCast(m, state, ctx) {
    record(state, m, ctx.reply);
    return { state };
  },
  handleCall(req: ReceiverCall, from, state, ctx) {
    if ('op' in req) {
      if (state.log.length >= req.n) return { reply: state.log, state };
      state.waiting = { from, n: req.n };
      return { noreply: true, state };
    }
    record(state, req, ctx.reply);
    return { reply: 'ok', state };
  },
};

/** Targets of the receiver as a sender sees it: by pid, or by registered name. */
export interface Targets {
  pid: Pid;
  name: Target;
}

export interface SenderRun {
  op: 'run';
  tag: string;
  script: Step[];
  to: Targets;
}

/**
 * Plays `script` towards `to` through `send` / `cast` / `call`, yielding to the event loop at
 * each `yield` step so that senders interleave; answers how many messages it sent.
 */
export async function play(
  caller: { send(t: Target, m: unknown): void; cast(t: Target, m: unknown): void; call(t: Target, m: unknown, o?: { timeout?: number }): Promise<unknown> },
  tag: string,
  script: Step[],
  to: Targets,
): Promise<number> {
  let seq = 0;
  for (const step of script) {
    if (step.kind === 'yield') {
      await settle();
      continue;
    }
    const msg: FifoMessage = { tag, seq: seq++, kind: step.kind, data: payload(tag, seq - 1, step.size) };
    const target = step.byName ? to.name : to.pid;
    if (step.kind === 'send') caller.send(target, msg);
    else if (step.kind === 'cast') caller.cast(target, msg);
    else await caller.call(target, msg, { timeout: 10_000 });
  }
  return seq;
}

/** Links to the receiver, plays its script, answers how many messages it sent, and exits `normal`. */
export const senderBehaviour: Behaviour<void, null> = {
  init() {
    return { ok: null };
  },
  async handleCall(req: SenderRun, _from, state, ctx) {
    ctx.link(req.to.pid);
    return { stop: 'normal', reply: await play(ctx, req.tag, req.script, req.to), state };
  },
};

export function registerFifo(node: Node): void {
  node.registerBehaviour(RECEIVER, receiverBehaviour);
  node.registerBehaviour(SENDER, senderBehaviour);
}
