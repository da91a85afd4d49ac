/**
 * The node's Prometheus registry (`GET /metrics`), every name prefixed `aotp_`. Gauges read the
 * node when scraped (members, actors, mailboxes, leases, lag, push jobs); counters and
 * histograms are fed by the units' seams (see cli/instrument.ts) through `NodeMetrics`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Node } from '../../runtime/index.js';
import type { AoView } from '../observer/ao-view.js';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface NodeMetricsArgs {
  node: Node;
  /** On NATS: a running sequencer holds its process's lease. */
  clustered: boolean;
}

export class NodeMetrics {
  readonly registry = new Registry();
  /** accepted (MU), assigned (SU), evaluated (CU), pushed (MU: outbox messages given a slot). */
  readonly messages: Counter<'unit' | 'event'>;
  readonly evaluationSeconds: Histogram;
  readonly ahead: Counter<'outcome'>;
  readonly suCommitSeconds: Histogram;
  readonly streamAppendSeconds: Histogram;
  readonly restarts: Counter<'supervisor'>;

  constructor(a: NodeMetricsArgs) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'aotp_' });
    this.messages = new Counter({ name: 'aotp_messages_total', help: 'Messages by unit and event: mu accepted, su assigned, cu evaluated, mu pushed', labelNames: ['unit', 'event'], registers });
    this.evaluationSeconds = new Histogram({ name: 'aotp_cu_evaluation_seconds', help: 'Time of one message in its module (CU)', buckets: SECONDS, registers });
    this.ahead = new Counter({ name: 'aotp_cu_ahead_total', help: "Messages evaluated while their slot's commit was written (evaluated), and of those the ones dropped because the log did not hold their run (abandoned)", labelNames: ['outcome'], registers });
    for (const outcome of ['evaluated', 'abandoned']) this.ahead.inc({ outcome }, 0);
    this.suCommitSeconds = new Histogram({ name: 'aotp_su_commit_seconds', help: 'Time to commit a run of assignments to LMDB (SU)', buckets: SECONDS, registers });
    this.streamAppendSeconds = new Histogram({ name: 'aotp_stream_append_seconds', help: 'Time to append a run of assignments to the replicated log (JetStream)', buckets: SECONDS, registers });
    this.restarts = new Counter({ name: 'aotp_actor_restarts_total', help: 'Child restarts, by supervisor', labelNames: ['supervisor'], registers });
    a.node.stats.onRestart((supervisor) => this.restarts.inc({ supervisor }));

    const { node } = a;
    new Gauge({
      name: 'aotp_members',
      help: 'Cluster members as this node sees them, by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = { up: 0, draining: 0, down: 0 };
        for (const p of node.peers()) counts[p.state]++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'aotp_actors',
      help: 'Actors alive on this node',
      registers,
      collect() {
        this.set(node.actors().length);
      },
    });
    new Gauge({
      name: 'aotp_mailbox_depth',
      help: 'Messages waiting in mailboxes: the deepest one (max) and all of them (sum)',
      labelNames: ['stat'],
      registers,
      collect() {
        let max = 0;
        let sum = 0;
        for (const p of node.actorProcesses()) {
          max = Math.max(max, p.queued);
          sum += p.queued;
        }
        this.set({ stat: 'max' }, max);
        this.set({ stat: 'sum' }, sum);
      },
    });
    new Gauge({
      name: 'aotp_leases_held',
      help: 'Process logs this node writes as their leaseholder (0 on the in-process bus)',
      registers,
      collect() {
        this.set(a.clustered ? node.actors().filter((x) => x.name?.startsWith('su/')).length : 0);
      },
    });
  }

  /** Gauges read from the AO view (the observer's): CU lag, push jobs by stage. */
  withAo(ao: () => Promise<AoView>): this {
    const registers = [this.registry];
    {
      // One AO view per scrape, shared by the gauges that read it.
      let pending: Promise<AoView> | undefined;
      const view = () => (pending ??= ao().finally(() => setTimeout(() => (pending = undefined), 100)));
      new Gauge({
        name: 'aotp_cu_lag_slots',
        help: 'SU slot minus CU evaluated slot over the processes computed here: the largest (max) and the total (sum)',
        labelNames: ['stat'],
        registers,
        async collect() {
          const lags = (await view()).processes.flatMap((p) => (p.lag === undefined ? [] : [p.lag]));
          this.set({ stat: 'max' }, lags.length ? Math.max(...lags) : 0);
          this.set({ stat: 'sum' }, lags.reduce((x, y) => x + y, 0));
        },
      });
      new Gauge({
        name: 'aotp_push_jobs',
        help: 'Push jobs running on this node, by stage',
        labelNames: ['stage'],
        registers,
        async collect() {
          const jobs = (await view()).jobs;
          for (const stage of ['schedule', 'result'] as const) this.set({ stage }, jobs[stage] ?? 0);
        },
      });
    }
    return this;
  }
}
