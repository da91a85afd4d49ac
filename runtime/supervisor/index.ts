export {
  supervisorSpec,
  startChild,
  terminateChild,
  restartChild,
  deleteChild,
  getChildspec,
  whichChildren,
  countChildren,
  getFlags,
  changePolicy,
} from './api.js';
export { supervisorBehaviour } from './supervisor.js';
export { changeTreePolicy, type TreeChange, type TreePolicyResult } from './tree-policy.js';
export { reloader, RELOADER, type ReloaderArgs, type ReloaderProtocol, type ReloadReply, type ReloadReport, type ReloadError } from './reloader.js';
export { checkChildSpec, checkFlags, checkPolicy } from './child-spec.js';
export type { SupervisorProtocol, SupervisorRequest } from './requests.js';
export type { SupervisorRef } from './api.js';
export type * from './types.js';
