/** The AO-Sec origin's settings (`sec` in the node's config). */
import { z } from 'zod';

export const SecConfigSchema = z
  .object({
    /** A liveness challenge's period when the process's spawn has no `Liveness-Period` tag (ms). */
    livenessPeriodMs: z.number().int().min(1).default(60_000),
    /** A non-publication challenge's window when the spawn has no `Publication-Window` tag (ms). */
    publicationWindowMs: z.number().int().min(1).default(60_000),
    /** How often the origin asks the SU again while a challenge is open (ms). */
    retryMs: z.number().int().min(1).default(1000),
    /** How long unstaked funds stay locked (and slashable) before they can be withdrawn (ms; 7 days). */
    stakeExclusivityMs: z.number().int().min(0).default(7 * 24 * 3600 * 1000),
    /** The share of a slashed stake that goes to the challenger (percent); the rest is burned. */
    slashRewardPercent: z.number().int().min(0).max(100).default(50),
    /** Restarts of the origin allowed within restartPeriod seconds before its subtree gives up. */
    restartIntensity: z.number().int().min(0).default(5),
    restartPeriod: z.number().int().min(1).default(5),
  })
  .strict();

export type SecConfig = z.infer<typeof SecConfigSchema>;

export const secDefaults = (c: Partial<SecConfig> = {}): SecConfig => SecConfigSchema.parse(c);

/** Spawn tags with which a process sets its own periods (ms). */
export const LIVENESS_PERIOD_TAG = 'Liveness-Period';
export const PUBLICATION_WINDOW_TAG = 'Publication-Window';
