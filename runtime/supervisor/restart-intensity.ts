/**
 * OTP's restart intensity: a restart is allowed while at most `intensity` restarts fall within
 * the last `period` seconds (whole seconds, as OTP counts them, both ends included).
 *
 * Restarts are counted per second, oldest first, so adding one is constant work however many
 * the window holds (a supervisor allowed a million restarts a second would otherwise copy its
 * list at every restart).
 */
export class RestartIntensity {
  private readonly seconds: number[] = [];
  private readonly counts: number[] = [];
  private total = 0;

  /** Counts a restart at `nowSeconds`, forgetting those older than `period` seconds. */
  add(nowSeconds: number, period: number): void {
    const threshold = nowSeconds - period;
    let drop = 0;
    while (drop < this.seconds.length && this.seconds[drop]! < threshold) this.total -= this.counts[drop++]!;
    if (drop > 0) {
      this.seconds.splice(0, drop);
      this.counts.splice(0, drop);
    }
    const last = this.seconds.length - 1;
    // A clock that steps back counts with the newest second, keeping the list in order.
    if (last >= 0 && nowSeconds <= this.seconds[last]!) this.counts[last]!++;
    else {
      this.seconds.push(nowSeconds);
      this.counts.push(1);
    }
    this.total++;
  }

  /** Restarts within the window as of the last `add`. */
  get count(): number {
    return this.total;
  }

  exceeded(intensity: number): boolean {
    return this.total > intensity;
  }
}
