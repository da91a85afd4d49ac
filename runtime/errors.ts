import { describeTarget, type Target } from './pid.js';
import { formatReason, type ExitReason } from './reason.js';
import type { SpecProblem } from './supervisor/types.js';

/** Why a `call` failed. `exit` means the callee died during the call with `reason`. */
export type CallFailure = 'timeout' | 'noproc' | 'noconnection' | 'exit';

/** The typed error of a failed `call`, as gen_server:call's exit `{Reason, {gen_server, call, …}}`. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly kind: CallFailure,
    readonly target: Target,
    readonly reason?: ExitReason,
  ) {
    super(
      kind === 'exit'
        ? `call to ${describeTarget(target)} failed: callee exited (${formatReason(reason)})`
        : `call to ${describeTarget(target)} failed: ${kind}`,
    );
  }
}

/** Raised when a frame or message cannot be encoded or decoded for the bus. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** A supervisor spec that is invalid: names the bad field, and says what is wrong as data (`problem`). */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    readonly field: string,
    message: string,
    readonly problem: SpecProblem,
  ) {
    super(`${field}: ${message}`);
  }
}
