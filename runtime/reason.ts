/**
 * Exit reasons. As in OTP, `normal`, `shutdown` and `{ shutdown: x }` are normal; anything else
 * (an Error, a string, any value) is abnormal. `kill` is the untrappable reason of an exit
 * signal; the process then dies with `killed`.
 */
export type ExitReason = unknown;

export interface ShutdownReason {
  shutdown: unknown;
}

export function isShutdown(reason: ExitReason): boolean {
  return (
    reason === 'shutdown' ||
    (typeof reason === 'object' && reason !== null && 'shutdown' in reason && Object.keys(reason).length === 1)
  );
}

export function isNormalExit(reason: ExitReason): boolean {
  return reason === 'normal' || isShutdown(reason);
}

/** A short printable form of a reason for logs and errors. */
export function formatReason(reason: ExitReason): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'string') return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}
