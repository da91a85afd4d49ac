/**
 * Crash points, for fault tests of a cluster: a node started with chaos enabled and
 * `AOTP_CRASH_AT=<point>` SIGKILLs itself the first time it reaches that point (a test cannot
 * time a kill from outside between two writes a few milliseconds apart). It says so on stderr
 * first, so the test can tell this kill from any other exit.
 *
 *   mu:outbox-stored      a job's signed outbox items are stored, none pushed yet
 *   mu:pushed-unrecorded  the SU assigned an outbox item, its job has not recorded it
 */
export function crashPoint(at: string | undefined): ((point: string) => void) | undefined {
  if (!at) return undefined;
  return (point) => {
    if (point !== at) return;
    process.stderr.write(`aotp: crash point ${point} reached, SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
