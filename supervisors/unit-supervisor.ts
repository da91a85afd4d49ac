import { supervisorSpec, type ChildSpec } from '../runtime/index.js';

/**
 * A unit's own supervisor (CU, MU): rest_for_one over its dynamic supervisors and, last, the
 * actor that starts children under them, so that actor is restarted whenever they are and never
 * holds children that are gone. A few restarts are enough here: each is a whole subtree's.
 */
export function unitSupervisor(id: string, children: ChildSpec[]): ChildSpec {
  return { id, type: 'supervisor', start: supervisorSpec({ strategy: 'rest_for_one', intensity: 3, period: 5, children }) };
}
