/**
 * Tiny scripted behaviours for the conformance suite, in the spirit of the child modules
 * supervisor_SUITE drives (start ok / ignore / error, crash on demand, trap exits, slow
 * terminate). Every child reports its lifecycle to an observer pid with plain `send`, so the
 * same children work on one node, on two nodes of a LocalBus, and across NATS.
 *
 * Arguments are plain data (msgpack-encodable): they cross the bus on remote starts.
 */
import {
  isExitMessage,
  supervisorBehaviour,
  type ActorContext,
  type Behaviour,
  type Node,
  type Pid,
} from '../../runtime/index.js';

/** Registered names. */
export const CHILD = 'conf.child';
export const SCRIPT = 'conf.script';
/** The runtime's supervisor under a name, so a child supervisor can be started on another node. */
export const SUPERVISOR = 'conf.supervisor';
/** A supervisor whose init function throws its argument (an init crash, on any node). */
export const CRASHING_SUPERVISOR = 'conf.supervisor.crashing';

/**
 * What a child's `init` does.
 * - `ok` / `ignore`: as gen_server's `{ok, S}` / `ignore`;
 * - `{ error }`: refuse to start (`{stop, Reason}`); `{ throw }`: throw the value;
 * - `{ after, then }`: wait `after` ms on the node's clock, then do `then` (OTP's
 *   supervisor_deadlock child sleeps before failing; here the test moves the clock);
 * - `script`: ask the script actor of the child's node for the next directive.
 */
export type Directive = 'ok' | 'ignore' | { error: unknown } | { throw: unknown } | { after: number; then: Directive };

/** How `terminate` behaves: report and return, wait `delay` ms on the clock, or never return. */
export type TerminateMode = 'fast' | 'hang' | { delay: number };

export interface ChildArgs {
  /** Label reported with every event (the child spec id, or any tag for dynamic children). */
  id: string;
  observer: Pid;
  init?: Directive | 'script';
  /** Key in the script actor (defaults to `id`). */
  script?: string;
  trap?: boolean;
  terminate?: TerminateMode;
}

/** What children tell the observer. */
export type ChildEvent =
  | { ev: 'init'; id: string; pid: Pid }
  /** A timed init (`{ after }`) has set its timer: the clock may be moved now. */
  | { ev: 'waiting'; id: string; pid: Pid }
  | { ev: 'started'; id: string; pid: Pid }
  | { ev: 'refused'; id: string; pid: Pid; how: string }
  | { ev: 'terminate'; id: string; pid: Pid; reason: unknown }
  | { ev: 'exit-message'; id: string; pid: Pid; from: Pid; reason: unknown };

export function isEvent(m: unknown, ev?: ChildEvent['ev'], id?: string): m is ChildEvent {
  if (typeof m !== 'object' || m === null || typeof (m as { ev?: unknown }).ev !== 'string') return false;
  const e = m as ChildEvent;
  return (ev === undefined || e.ev === ev) && (id === undefined || e.id === id);
}

/** Requests a child answers. */
export type ChildCall =
  | { op: 'ping' }
  /** Never answered: for call timeouts. */
  | { op: 'noreply' }
  /** Stop with `reason` without answering: the caller sees the callee die mid-call. */
  | { op: 'stop'; reason: unknown };

/** Casts a child takes: exit by itself with `reason` (terminate runs), or throw `reason`. */
export type ChildCast = { op: 'stop'; reason: unknown } | { op: 'throw'; reason: unknown };

interface ChildState {
  args: ChildArgs;
}

const sleep = (ctx: ActorContext, ms: number, armed?: () => void) =>
  new Promise<void>((resolve) => {
    ctx.clock.setTimeout(resolve, ms);
    armed?.();
  });

/** Resolves only when the actor dies (a terminate that hangs until it is killed). */
const untilDead = (ctx: ActorContext) =>
  new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });

async function resolveDirective(
  d: Directive | 'script',
  args: ChildArgs,
  ctx: ActorContext,
  armed: () => void,
): Promise<Directive> {
  let out: Directive = d === 'script' ? await ctx.call<Directive>(SCRIPT, { op: 'next', key: args.script ?? args.id }) : d;
  while (typeof out === 'object' && 'after' in out) {
    const step: { after: number; then: Directive } = out;
    await sleep(ctx, step.after, armed);
    out = step.then;
  }
  return out;
}

export const childBehaviour: Behaviour<ChildArgs, ChildState> = {
  async init(args, ctx) {
    if (args.trap) ctx.trapExit(true);
    const report = (e: { ev: ChildEvent['ev']; [k: string]: unknown }) => ctx.send(args.observer, { ...e, id: args.id, pid: ctx.self });
    report({ ev: 'init' });
    const d = await resolveDirective(args.init ?? 'ok', args, ctx, () => report({ ev: 'waiting' }));
    if (d === 'ok') {
      report({ ev: 'started' });
      return { ok: { args } };
    }
    if (d === 'ignore') {
      report({ ev: 'refused', how: 'ignore' });
      return { ignore: true };
    }
    if ('error' in d) {
      report({ ev: 'refused', how: 'error' });
      return { stop: d.error };
    }
    report({ ev: 'refused', how: 'throw' });
    throw 'throw' in d ? d.throw : new Error('unresolved init directive');
  },

  handleCall(req: ChildCall, _from, state) {
    switch (req.op) {
      case 'ping':
        return { reply: { pong: state.args.id }, state };
      case 'noreply':
        return { noreply: true, state };
      case 'stop':
        return { stop: req.reason, state };
    }
  },

  handleCast(msg: ChildCast, state) {
    if (msg.op === 'throw') throw msg.reason;
    return { stop: msg.reason, state };
  },

  handleInfo(msg, state, ctx) {
    if (isExitMessage(msg)) {
      ctx.send(state.args.observer, {
        ev: 'exit-message',
        id: state.args.id,
        pid: ctx.self,
        from: msg.from,
        reason: msg.reason,
      } satisfies ChildEvent);
    }
    return { state };
  },

  async terminate(reason, state, ctx) {
    const { args } = state;
    ctx.send(args.observer, { ev: 'terminate', id: args.id, pid: ctx.self, reason } satisfies ChildEvent);
    const mode = args.terminate ?? 'fast';
    if (mode === 'hang') await untilDead(ctx);
    else if (typeof mode === 'object') await sleep(ctx, mode.delay);
  },
};

/** Script requests: plan the next init directives for a key; `next` takes one (default `ok`). */
export type ScriptCall =
  | { op: 'plan'; key: string; steps: Directive[]; then?: Directive }
  | { op: 'next'; key: string }
  | { op: 'attempts'; key: string }
  | { op: 'ping' };

interface ScriptState {
  plans: Record<string, { steps: Directive[]; then: Directive; attempts: number }>;
}

/**
 * Scripting that must survive restarts ("fail the next two starts") lives here, in an actor
 * registered on the children's node, which children ask from their `init`.
 */
export const scriptBehaviour: Behaviour<void, ScriptState> = {
  init() {
    return { ok: { plans: {} } };
  },
  handleCall(req: ScriptCall, _from, state) {
    switch (req.op) {
      case 'plan':
        state.plans[req.key] = { steps: [...req.steps], then: req.then ?? 'ok', attempts: 0 };
        return { reply: 'ok', state };
      case 'next': {
        const p = (state.plans[req.key] ??= { steps: [], then: 'ok', attempts: 0 });
        p.attempts++;
        return { reply: p.steps.length > 0 ? p.steps.shift() : p.then, state };
      }
      case 'attempts':
        return { reply: state.plans[req.key]?.attempts ?? 0, state };
      case 'ping':
        return { reply: 'pong', state };
    }
  },
};

/** The supervisor behaviour with an init function that throws what it is given. */
export const crashingSupervisor: Behaviour<{ throw: unknown }, unknown> = {
  ...(supervisorBehaviour as Behaviour<unknown, unknown>),
  init: (args, ctx) =>
    supervisorBehaviour.init(() => {
      throw args.throw;
    }, ctx),
};

/** Make the suite's behaviours startable by name on `node` (also from other nodes). */
export function registerConformanceBehaviours(node: Node): void {
  node.registerBehaviour(CHILD, childBehaviour);
  node.registerBehaviour(SCRIPT, scriptBehaviour);
  node.registerBehaviour(SUPERVISOR, supervisorBehaviour);
  node.registerBehaviour(CRASHING_SUPERVISOR, crashingSupervisor);
}
