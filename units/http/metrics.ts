/**
 * The node's Prometheus registry (`GET /metrics`), names prefixed `aotp_`. Gauges read the
 * node's state when scraped; counters and histograms are fed by the units through `Metrics`.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Node } from '../../runtime/index.js';

export function nodeMetrics(node: Node): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'aotp_' });
  new Gauge({
    name: 'aotp_actors',
    help: 'Actors alive on this node',
    registers: [registry],
    collect() {
      this.set(node.actors().length);
    },
  });
  return registry;
}
