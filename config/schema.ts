import { z } from 'zod';
import { CuConfigSchema } from '../units/cu/config.js';
import { MuConfigSchema } from '../units/mu/config.js';
import { NetworkConfigSchema } from '../units/network/config.js';
import { SecConfigSchema } from '../units/sec/config.js';

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, _ and - only')
  .max(64);

const filePath = z.string().min(1, 'must be a non-empty file path');

/** TLS to the NATS servers (PEM files; the CA is needed when the server's certificate is not publicly trusted). */
export const NatsTlsSchema = z
  .object({
    caFile: filePath.optional(),
    /** A client certificate and its key, for servers that verify clients (both or neither). */
    certFile: filePath.optional(),
    keyFile: filePath.optional(),
    /** TLS before the NATS INFO (the server needs `handshake_first`, nats-server 2.10+). */
    handshakeFirst: z.boolean().optional(),
  })
  .strict()
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: 'certFile and keyFile go together: give both or neither',
    path: ['keyFile'],
  });

export const NatsConfigSchema = z.object({
  servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'must look like nats://host:port')).min(1),
  /** Subject prefix shared by one cluster's nodes. */
  cluster: z.string().regex(/^[A-Za-z0-9_-]+$/).default('aotp'),
  /**
   * Membership: every node beats every `heartbeatMs`; one not heard for `downAfterMs` is down,
   * and its processes are taken over at once (the replicated log fences the old writer). So
   * `downAfterMs` is most of the failover time after a node dies; a node whose event loop
   * stalls longer than it is taken for dead (safe, but its processes move).
   */
  heartbeatMs: z.number().int().min(50).default(250),
  downAfterMs: z.number().int().min(100).default(1000),
  user: z.string().optional(),
  pass: z.string().optional(),
  token: z.string().optional(),
  /**
   * How long a node's ownership of a process log lives without renewal, ms. A dead owner's
   * processes do not wait for it (they move once the owner is down); it bounds how long an
   * owner that is up but cannot renew keeps them. An R3 JetStream bucket refuses writes for
   * several seconds after its leader dies, so less than ~10 s risks losing live leases.
   */
  leaseTtlMs: z.number().int().min(500).default(20_000),
  /**
   * Replicas of the lease bucket, the replicated SU log and the cluster's identity. Absent: as
   * many as the NATS cluster reports servers, at most 3 (1 for a single nats-server).
   */
  replicas: z.number().int().min(1).max(5).optional(),
  tls: NatsTlsSchema.optional(),
})
  .strict()
  .refine((n) => n.user === undefined || n.pass !== undefined, { message: 'nats.user is set but nats.pass is not: give both', path: ['pass'] })
  .refine((n) => n.pass === undefined || n.user !== undefined, { message: 'nats.pass is set but nats.user is not: give both', path: ['user'] });

export const SuConfigSchema = z
  .object({
    /** A wallet JSON file (Arweave RSA JWK or Ed25519 OKP JWK). Absent: `<dataDir>/su-wallet.json`, created on first start. */
    wallet: z.string().min(1).optional(),
    /**
     * Kind of the wallet created on first start (and expected in the file). The reference SU
     * signs with RSA-4096; the default here is Ed25519, whose signatures cost ~30 µs instead of
     * ~4 ms, because the hash chain makes each process's signatures strictly sequential: with RSA
     * one process gets at most ~250 assignments/s. ANS-104 type-2 items verify with arbundles,
     * so readers of the log are not affected. Choose `rsa` to match the reference exactly.
     */
    walletKind: z.enum(['ed25519', 'rsa']).default('ed25519'),
    /** Signing worker threads; 0 signs on the event loop. Default: 0 for ed25519, one per core for rsa. */
    signers: z.number().int().min(0).max(256).optional(),
    /** A process's sequencer stops after this many ms without requests (0: never). */
    idleMs: z.number().int().min(0).default(60_000),
    /** Most slots a sequencer signs and commits as one run. */
    maxRun: z.number().int().min(1).max(4096).default(512),
    /** Sequencer restarts allowed within restartPeriod seconds before the SU subtree gives up. */
    restartIntensity: z.number().int().min(0).default(100),
    restartPeriod: z.number().int().min(1).default(5),
    /** How long an HTTP request waits for its sequencer, ms. */
    callTimeoutMs: z.number().int().min(1).default(30_000),
    /** Item bytes one page of `GET /su/:processId` holds at most (a page always holds one entry). */
    pageBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  })
  .strict();

export const ConfigSchema = z
  .object({
    nodeName: nodeName.default('aotp1'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8734),
    /**
     * The URL clients reach this node by (behind a proxy, a public name): the units' URLs in
     * `GET /` and the SU's Scheduler-Location record are built from it. Absent:
     * http://<host>:<port> (the port the listener bound).
     */
    publicUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http(s) URL without query or fragment, like https://node.example')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /**
     * Bytes of large responses (64 KiB and more) the node holds for clients still reading them;
     * past it, another large response is a 503 until they have read (one is always sent).
     */
    responseBytesInFlight: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
    /** LMDB environment and wallets live here. */
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `json`: one JSON object per line (for log collectors); `pretty`: readable lines (pino-pretty). */
    logFormat: z.enum(['json', 'pretty']).default('json'),
    /** Accept chaos requests (kill actors, pause the bus) from `aotp chaos` over the bus. For test clusters only. */
    chaos: z.boolean().default(false),
    /** Milliseconds each top-level service gets to stop on shutdown. */
    shutdownMs: z.number().int().min(0).default(5000),
    /**
     * On SIGTERM/SIGINT, how long a clustered node drains first (lame duck: no new work, its
     * process logs handed over, its push jobs finished) before its tree stops. A stop takes at
     * most drainMs + 2 × shutdownMs, plus 10 s for closing the stores; past that the process
     * exits 1, logging what it was still doing.
     */
    drainMs: z.number().int().min(0).default(15_000),
    /** Absent: the embedded in-process bus (a single node). */
    nats: NatsConfigSchema.optional(),
    /** The Scheduler Unit, served under /su. */
    su: SuConfigSchema.prefault({}),
    /** The Compute Unit, served under /cu (its settings are defined with it, in units/cu/config.ts). */
    cu: CuConfigSchema.prefault({}),
    /** The Messenger Unit, served under /mu (settings in units/mu/config.ts). */
    mu: MuConfigSchema.prefault({}),
    /** The AO-Sec origin, served under /sec (settings in units/sec/config.ts). */
    sec: SecConfigSchema.prefault({}),
    /** Other operators' nodes: where processes and SUs are looked up and published (units/network/config.ts). */
    network: NetworkConfigSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type NatsConfig = z.infer<typeof NatsConfigSchema>;
export type SuConfig = z.infer<typeof SuConfigSchema>;
export type { CuConfig } from '../units/cu/config.js';
export type { MuConfig } from '../units/mu/config.js';
