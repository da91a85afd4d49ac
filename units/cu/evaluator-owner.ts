/**
 * The actor `cu.evaluators`: owns the CU's evaluator pool. It opens the pool when it starts and
 * closes it (stopping the threads not held by a process) when it stops; it is the first child of
 * the CU's rest_for_one subtree (supervisors/cu.ts), so the process actors, which take their
 * threads from the pool, stop before it and start after it.
 *
 * Each thread that dies (not stopped on purpose) is reported to it: it starts spares again in
 * its place. The process actor that held the thread restarts by itself (process.ts). Threads
 * dying faster than `maxDeaths` within `periodMs` (a broken thread file, a machine out of
 * memory) are not replaced in a loop: the actor stops, and its supervisor restarts it with the
 * process actors, or gives up and escalates.
 */
import type { Behaviour, Call } from '../../runtime/index.js';
import { typedName } from '../../runtime/index.js';
import type { EvaluatorDeath, EvaluatorSource } from './worker/client.js';

export const CU_EVALUATORS = typedName<EvaluatorOwnerProtocol>('cu.evaluators');

/** `deaths`: how many of the pool's threads have died since this actor started. */
export type EvaluatorOwnerProtocol = Call<{ op: 'deaths' }, number>;

export interface EvaluatorOwnerArgs {
  pool: EvaluatorSource;
  /** Thread deaths tolerated within `periodMs` (by the actor's clock). */
  maxDeaths?: number;
  periodMs?: number;
}

interface State {
  pool: EvaluatorSource;
  unwatch: () => void;
  /** When recent deaths happened (ctx.clock), oldest first. */
  recent: number[];
  deaths: number;
  maxDeaths: number;
  periodMs: number;
}

const DIED = 'cu.evaluator-died';

export const evaluatorOwner: Behaviour<EvaluatorOwnerArgs, State, EvaluatorOwnerProtocol> = {
  init(args, ctx) {
    // Trapping exits: a stop by the supervisor runs terminate, which closes the pool.
    ctx.trapExit(true);
    args.pool.open();
    const unwatch = args.pool.watch?.((death) => ctx.send(ctx.self, { tag: DIED, death })) ?? (() => undefined);
    return { ok: { pool: args.pool, unwatch, recent: [], deaths: 0, maxDeaths: args.maxDeaths ?? 20, periodMs: args.periodMs ?? 10_000 } };
  },

  handleCall(req, _from, s) {
    return { reply: s.deaths, state: s };
  },

  handleInfo(msg, s, ctx) {
    if ((msg as { tag?: string } | undefined)?.tag !== DIED) return { state: s };
    const d = (msg as { death: EvaluatorDeath }).death;
    const now = ctx.clock.now();
    s.deaths++;
    s.recent.push(now);
    while (s.recent.length > 0 && now - s.recent[0]! > s.periodMs) s.recent.shift();
    ctx.log.warn({ threadId: d.threadId, reason: d.reason, busy: d.busy }, 'evaluator thread died');
    if (s.recent.length > s.maxDeaths) return { stop: { evaluator_threads_dying: s.recent.length, periodMs: s.periodMs }, state: s };
    s.pool.refill?.();
    return { state: s };
  },

  async terminate(_reason, s) {
    s.unwatch();
    await s.pool.close();
  },
};
