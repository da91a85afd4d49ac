/**
 * OTP's restart intensity: a restart is allowed while at most `intensity` restarts fall within
 * the last `period` seconds (whole seconds, as OTP counts them, both ends included). The list
 * of restart times is newest first.
 */
export function addRestart(restarts: number[], nowSeconds: number, period: number): number[] {
  const threshold = nowSeconds - period;
  const kept: number[] = [nowSeconds];
  for (const r of restarts) {
    if (r < threshold) break;
    kept.push(r);
  }
  return kept;
}

export function exceeded(restarts: number[], intensity: number): boolean {
  return restarts.length > intensity;
}
