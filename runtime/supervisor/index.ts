export { supervisorSpec, startChild, terminateChild, restartChild, deleteChild, whichChildren, countChildren } from './api.js';
export { supervisorBehaviour } from './supervisor.js';
export { checkChildSpec, checkFlags } from './child-spec.js';
export type * from './types.js';
