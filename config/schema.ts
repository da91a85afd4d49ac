import { z } from 'zod';

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, _ and - only')
  .max(64);

export const NatsConfigSchema = z.object({
  servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'must look like nats://host:port')).min(1),
  /** Subject prefix shared by one cluster's nodes. */
  cluster: z.string().regex(/^[A-Za-z0-9_-]+$/).default('aotp'),
  heartbeatMs: z.number().int().min(50).default(1000),
  downAfterMs: z.number().int().min(100).optional(),
  user: z.string().optional(),
  pass: z.string().optional(),
  token: z.string().optional(),
});

export const ConfigSchema = z
  .object({
    nodeName: nodeName.default('aotp1'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8734),
    /** LMDB environment and wallets live here. */
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Milliseconds each top-level service gets to stop on shutdown. */
    shutdownMs: z.number().int().min(0).default(5000),
    /** Absent: the embedded in-process bus (a single node). */
    nats: NatsConfigSchema.optional(),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type NatsConfig = z.infer<typeof NatsConfigSchema>;
