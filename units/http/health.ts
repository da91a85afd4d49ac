/**
 * Liveness and readiness, as a load balancer or an orchestrator asks them.
 *
 * - live: the process answers HTTP (its event loop turns). Restart it only when this fails.
 * - ready: it can take new work now. Each check names what is missing: the NATS connection, a
 *   JetStream that answers for the SU log, a store it can write, not draining or stopping.
 *
 * Checks run on demand, at most once per `cacheMs` each (one in flight at a time), each within
 * `timeoutMs` (on `clock`, default the real one): a probe that hangs is a failure, not a hung
 * health request.
 */
import { RealClock, type Clock, type TimerHandle } from '../../runtime/clock.js';

export interface HealthCheck {
  name: string;
  /** Resolves undefined when fine, or with why not. A throw is a failure with its message. */
  check(): Promise<string | undefined> | string | undefined;
  /** Cache the answer this long (default: the registry's). */
  cacheMs?: number;
}

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
  /** The failing checks, as one line each. */
  reasons: string[];
}

export class Health {
  private readonly cached = new Map<string, { at: number; result: Promise<CheckResult> }>();
  private readonly clock: Clock;

  constructor(
    private readonly checks: HealthCheck[],
    private readonly o: { cacheMs?: number; timeoutMs?: number; now?: () => number; clock?: Clock } = {},
  ) {
    this.clock = o.clock ?? new RealClock();
  }

  async readiness(): Promise<Readiness> {
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await this.run(c)] as const));
    const checks = Object.fromEntries(results);
    const reasons = results.filter(([, r]) => !r.ok).map(([name, r]) => `${name}: ${r.detail ?? 'failing'}`);
    return { ready: reasons.length === 0, checks, reasons };
  }

  private run(c: HealthCheck): Promise<CheckResult> {
    const now = (this.o.now ?? Date.now)();
    const hit = this.cached.get(c.name);
    if (hit && now - hit.at < (c.cacheMs ?? this.o.cacheMs ?? 1000)) return hit.result;
    const timeoutMs = this.o.timeoutMs ?? 2000;
    const result = (async (): Promise<CheckResult> => {
      let timer: TimerHandle | undefined;
      try {
        const detail = await Promise.race([
          Promise.resolve().then(() => c.check()),
          new Promise<string>((resolve) => (timer = this.clock.setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs))),
        ]);
        return detail === undefined ? { ok: true } : { ok: false, detail };
      } catch (e) {
        return { ok: false, detail: e instanceof Error ? e.message : String(e) };
      } finally {
        if (timer) this.clock.clearTimeout(timer);
      }
    })();
    this.cached.set(c.name, { at: now, result });
    return result;
  }
}
