import { z } from 'zod';

/** The Messenger Unit's settings (config key `mu`). */
export const MuConfigSchema = z
  .object({
    /** A wallet JSON file (RSA JWK or Ed25519 OKP JWK). Absent: `<dataDir>/mu-wallet.json`, created on first start. */
    wallet: z.string().min(1).optional(),
    /** Kind of the wallet created on first start. It signs every outbox message, so processes list its address in `Authority`. */
    walletKind: z.enum(['ed25519', 'rsa']).default('ed25519'),
    /** Longest chain of messages caused by one push (the client's message is depth 0). */
    maxDepth: z.number().int().min(0).default(256),
    /** Most outbox items (messages, spawns, assignment targets) one evaluation may push. */
    maxFanOut: z.number().int().min(1).default(256),
    /** Most jobs one push may make in all (the client's message and everything it causes). */
    maxPushJobs: z.number().int().min(1).default(1000),
    /** Outbox items per second one process may have pushed (0: no limit), and the burst allowed after a quiet spell. */
    processRate: z.number().min(0).default(200),
    processBurst: z.number().int().min(1).default(2000),
    /** Backoff while the SU or CU is out of reach or a result is not ready: first delay, cap, and tries before a job fails. */
    retryFirstMs: z.number().int().min(1).default(100),
    retryMaxMs: z.number().int().min(1).default(10_000),
    retryAttempts: z.number().int().min(1).default(30),
    /** Most cron monitors one address may have started (each evaluates its process every cronPollMs). */
    maxMonitorsPerOwner: z.number().int().min(0).default(16),
    /** How often a monitored process's cron results are fetched, ms. */
    cronPollMs: z.number().int().min(10).default(1000),
    /** How long `POST /` waits for the SU to assign the message before answering 202 anyway, ms. */
    scheduleWaitMs: z.number().int().min(0).default(30_000),
    /** Job-actor restarts allowed within restartPeriod seconds before the MU subtree gives up. */
    restartIntensity: z.number().int().min(0).default(100),
    restartPeriod: z.number().int().min(1).default(5),
  })
  .strict();

export type MuConfig = z.infer<typeof MuConfigSchema>;

export const muDefaults = (overrides: Partial<MuConfig> = {}): MuConfig => MuConfigSchema.parse(overrides);
