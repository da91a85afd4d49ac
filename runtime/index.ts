export { Node, type NodeOptions } from './node.js';
export { Pid, isPid, describeTarget, typedName, onNode, type Target, type RemoteName, type Name } from './pid.js';
export { LocalBus } from './local-bus.js';
export type { Transport, TransportHandlers } from './transport.js';
export { RealClock, SimulatedClock, settle, type Clock, type TimerHandle } from './clock.js';
export { CallError, CodecError, SpecError, type CallFailure } from './errors.js';
export { isNormalExit, isShutdown, formatReason, type ExitReason } from './reason.js';
export { Inbox, InboxError, type CallMessage } from './inbox.js';
export { encode, decode, roundTrip, isSendable } from './codec.js';
export {
  isExitMessage,
  isDownMessage,
  type Behaviour,
  type Call,
  type ProtocolOf,
  type ReplyTo,
  type InitResult,
  type CallResult,
  type NoReplyResult,
  type From,
  type ExitMessage,
  type DownMessage,
  type StartResult,
  type StartSpec,
  type SpawnOptions,
} from './behaviour.js';
export type { ActorContext, Caller, CallOptions, CallFn, CallReply } from './context.js';
export * from './supervisor/index.js';
export { DuplicateNode, NatsTransport, type NatsTransportOptions } from './nats-transport.js';
export { createLogger, type Logger } from './logger.js';
export { nodeStatus, STATUS_NAME, type ActorView, type KillReply, type NodeStatus, type NodeView, type StatusRequest, type StatusProtocol } from './status.js';
export { service, serviceProxy, ServiceError, type ServiceArgs, type ServiceCall, type ServiceProtocol } from './service.js';
export { prng } from './prng.js';
export { resourceOwner, type ResourceArgs, type ResourceFailure } from './resource-owner.js';
export { NodeStats, type CrashRecord } from './stats.js';
