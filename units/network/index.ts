/**
 * The node on a network of independent nodes, assembled: the gateway it asks (another node's,
 * or its own when it serves uploads and names none), the locator, the remote-SU client, and what
 * they wrap: the MU's scheduler and the CU's reader. Absent (no gateway, no uploads served), the
 * node keeps to itself.
 */
import type { Wallet } from '../ans104/index.js';
import type { MuScheduler } from '../mu/ports.js';
import type { ScheduleReader } from '../schedule.js';
import type { NetworkConfig } from './config.js';
import { GatewayClient, type LocalGraphQL } from './gateway-client.js';
import { networkReader, type NetworkReader } from './network-reader.js';
import { networkScheduler } from './network-scheduler.js';
import { BLOCK_HEIGHT, blockHeight, type BlockHeightArgs } from './block-height.js';
import { bundlerUpload, PUBLISHER, publisher, type PublisherArgs } from './publisher.js';
import { LOG_PUBLISHER, logPublisher, type LogPublisherArgs } from './log-publisher.js';
import { RemoteSu } from './remote-su.js';
import { SchedulerLocator } from './scheduler-locator.js';

export interface NetworkOptions {
  config: NetworkConfig;
  /** This node's own gateway, asked in-process when no other is named. */
  localGraphQL: LocalGraphQL;
  /** This node's own uploads, when it serves them and names no bundler. */
  localUpload?: (raw: Uint8Array) => Promise<void>;
  now?: () => number;
}

export interface Network {
  locator: SchedulerLocator;
  remote: RemoteSu;
  upload(raw: Uint8Array): Promise<void>;
  scheduler(local: MuScheduler): MuScheduler;
  reader(local: ScheduleReader, suAddress: string): NetworkReader;
  /** The block-height reader's child spec, when the gateway is another node's (this node's own has no blocks). */
  blockHeightChild(set: (height: number) => void): { id: string; start: { behaviour: typeof blockHeight; args: BlockHeightArgs; options: { name: string } } } | undefined;
  /** The publisher's child spec (for the node's tree). */
  publisherChild(args: Omit<PublisherArgs, 'upload' | 'ttlMs' | 'everyMs'>): { id: string; start: { behaviour: typeof publisher; args: PublisherArgs; options: { name: string } } };
  /**
   * The log publisher's child spec (the SU's assignments and messages, bundled), only when
   * `network.bundler` is named: a bundler that takes whole logs is the operator's choice.
   */
  logPublisherChild(args: Omit<LogPublisherArgs, 'upload' | 'everyMs'>): { id: string; start: { behaviour: typeof logPublisher; args: LogPublisherArgs; options: { name: string } } } | undefined;
}

/** The network, or undefined when the config names no gateway and serves no uploads. */
export function createNetwork(o: NetworkOptions): Network | undefined {
  const c = o.config;
  if (!c.gateway && !c.acceptUploads) return undefined;
  const gateway = c.gateway ? new GatewayClient(c.gateway, c.timeoutMs) : new GatewayClient('this node', c.timeoutMs, o.localGraphQL);
  const bundler = c.bundler ?? c.gateway;
  const upload = bundler ? bundlerUpload(bundler, c.timeoutMs) : o.localUpload;
  if (!upload) throw new Error('network: no bundler to publish to (set network.bundler or network.gateway, or network.acceptUploads)');
  const locator = new SchedulerLocator(gateway, o.now);
  const remote = new RemoteSu(c.timeoutMs);
  return {
    locator,
    remote,
    upload,
    scheduler: (local) => networkScheduler(local, locator, remote, o.now),
    reader: (local, suAddress) => networkReader(local, locator, remote, suAddress),
    blockHeightChild: (set) =>
      c.gateway ? { id: 'network-block-height', start: { behaviour: blockHeight, args: { gateway: c.gateway, everyMs: c.blockHeightEveryMs, timeoutMs: c.timeoutMs, set }, options: { name: BLOCK_HEIGHT } } } : undefined,
    publisherChild: (args) => ({ id: 'network-publisher', start: { behaviour: publisher, args: { ...args, upload, ttlMs: c.locationTtlMs, everyMs: c.publishEveryMs }, options: { name: PUBLISHER } } }),
    logPublisherChild: (args) => (c.bundler ? { id: 'network-log-publisher', start: { behaviour: logPublisher, args: { ...args, upload, everyMs: c.publishEveryMs }, options: { name: LOG_PUBLISHER } } } : undefined),
  };
}

export { NetworkConfigSchema, type NetworkConfig } from './config.js';
export { GatewayClient, GatewayUnavailable } from './gateway-client.js';
export { RemoteSu, RemoteRefused, RemoteUnavailable } from './remote-su.js';
export { SchedulerLocator } from './scheduler-locator.js';
export { PUBLISHER, publisher } from './publisher.js';
export { LOG_PUBLISHER, logPublisher, BUNDLE_BYTES } from './log-publisher.js';
export { PublishedLog, type PublishedStatus } from './published-log.js';
