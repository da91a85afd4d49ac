/**
 * Conformance with Erlang/OTP's supervisor and gen_server, case by case after
 * lib/stdlib/test/supervisor_SUITE.erl (see otp-cases.md for the mapping). Every case observes
 * only the public API: start results, exit reasons seen through monitors and links, the order
 * of lifecycle events, which_children and count_children.
 */
import { afterEach, describe } from 'vitest';
import { adminCases } from './cases/admin.js';
import { genServerCases } from './cases/gen-server.js';
import { policyCases } from './cases/policy.js';
import { restartTypeCases } from './cases/restart-types.js';
import { restartingCases } from './cases/restarting.js';
import { significantCases } from './cases/significant.js';
import { startStopCases } from './cases/start-stop.js';
import { strategyCases } from './cases/strategies.js';
import { treeCases } from './cases/tree.js';
import { Harness } from './harness.js';
import type { Topology } from './topology.js';

/** What each group of cases gets: a fresh harness per case, stopped after it. */
export interface Suite {
  setup(opts?: { simulated?: boolean }): Promise<Harness>;
}

export function supervisorConformance(topology: Topology): void {
  describe(`OTP conformance (${topology.name})`, { timeout: 10_000 }, () => {
    const live: Harness[] = [];
    afterEach(async () => {
      await Promise.all(live.splice(0).map((h) => h.stop()));
    });
    const suite: Suite = {
      async setup(opts) {
        const h = await Harness.start(topology, opts);
        live.push(h);
        return h;
      },
    };
    describe('supervisor start and stop', () => startStopCases(suite));
    describe('child administration', () => adminCases(suite));
    describe('restart types', () => restartTypeCases(suite));
    describe('strategies and restart intensity', () => strategyCases(suite));
    describe('failed restarts retried through the mailbox', () => restartingCases(suite));
    describe('significant children and auto_shutdown', () => significantCases(suite));
    describe('supervision trees', () => treeCases(suite));
    describe('live policy changes (code_change)', () => policyCases(suite));
    describe('gen_server basics', () => genServerCases(suite));
  });
}
