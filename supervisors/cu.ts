import type { ChildSpec } from '../runtime/index.js';
import { namedChildren } from './named-children.js';
import { unitSupervisor } from './unit-supervisor.js';
import type { CuRuntime } from '../units/cu/engine.js';
import { CU_EVALUATORS, evaluatorOwner } from '../units/cu/evaluator-owner.js';
import { CU_MANAGER, CU_PROCESSES, cuManager, type NameRegistry } from '../units/cu/manager.js';
import { processActor, processName } from '../units/cu/process.js';

export interface CuTreeOptions {
  /** The node (to find process actors by name). */
  names: NameRegistry;
  /** Process-actor restarts allowed within `period` seconds before the CU subtree gives up. */
  intensity: number;
  period: number;
  /** ms a process actor gets to write its checkpoint when stopped. */
  shutdownMs: number;
  /** Evaluator threads that may die within `periodMs` before their owner stops (default 20 in 10 s). */
  threadDeaths?: { max: number; periodMs: number };
}

/**
 * The Compute Unit's subtree (rest_for_one, so the manager is restarted whenever the process
 * supervisor is, and never holds stale actors):
 *
 * - `cu.evaluators`: owns the evaluator threads' pool (opens it, closes it when stopped, replaces
 *   threads that die). First: the process actors that use it stop before it and start after it.
 * - `cu.processes`: simple_one_for_one supervisor of process actors `cu/<processId>`, started
 *   on demand. Restart `transient`: an actor that crashed (or was killed) is restarted and
 *   hydrates from its checkpoint when next asked; one stopped by the manager (eviction) is not.
 *   A start that finds the name taken answers with the running actor (as supervisors/su.ts).
 * - `cu`: the manager (starts actors, bounds how many are resident).
 */
export function cuTree(cu: CuRuntime, o: CuTreeOptions): ChildSpec {
  return unitSupervisor('cu', [
    { id: 'evaluators', start: { behaviour: evaluatorOwner, args: { pool: cu.pool, ...(o.threadDeaths ? { maxDeaths: o.threadDeaths.max, periodMs: o.threadDeaths.periodMs } : {}) }, options: { name: CU_EVALUATORS } }, shutdown: o.shutdownMs },
    namedChildren({
      id: 'processes',
      name: CU_PROCESSES,
      childId: 'process',
      start: (ctx, { processId }: { processId: string }) => ctx.spawnLink({ behaviour: processActor, args: { processId, cu } }, { name: processName(processId) }),
      intensity: o.intensity,
      period: o.period,
      shutdownMs: o.shutdownMs,
    }),
    {
      id: 'manager',
      start: { behaviour: cuManager, args: { names: o.names, maxResident: cu.config.maxResident }, options: { name: CU_MANAGER } },
    },
  ]);
}
