import { z } from 'zod';

/**
 * How this node takes part in a network of independent nodes (config key `network`): where it
 * looks up processes and Scheduler-Location records (an Arweave gateway's GraphQL), and where it
 * publishes its own record and the spawns its SU assigns (a bundler's upload API). With no
 * gateway, the node is on its own: messages to processes it does not host are `skipped`.
 */
export const NetworkConfigSchema = z
  .object({
    /** An Arweave gateway (GraphQL at `<gateway>/graphql`), e.g. https://arweave.net, or another aotp node. */
    gateway: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')).optional(),
    /**
     * Where items are published (`POST <bundler>/tx`, the bytes of a signed data item). Default:
     * the gateway. Named here, the SU also publishes every assignment with its message, bundled.
     */
    bundler: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')).optional(),
    /** Time-To-Live of this SU's Scheduler-Location record, ms; it is published again at half of it. */
    locationTtlMs: z.number().int().min(1000).default(24 * 60 * 60 * 1000),
    /** How often unpublished spawns and the record are looked at, ms (after a failure: backoff up to 30 s). */
    publishEveryMs: z.number().int().min(10).default(1000),
    /** How often the gateway's block height (`GET /info`) is read for the SU's assignments, ms. */
    blockHeightEveryMs: z.number().int().min(10).default(60_000),
    /** Limit on each request to the gateway, the bundler or another node's SU, ms. */
    timeoutMs: z.number().int().min(1).default(10_000),
    /** Serve as a bundler: accept signed data items on `POST /tx` and answer for them through the gateway. */
    acceptUploads: z.boolean().default(false),
  })
  .strict();

export type NetworkConfig = z.infer<typeof NetworkConfigSchema>;
