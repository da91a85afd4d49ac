/**
 * A node's supervision policy: the settings of its config that shape the supervision tree
 * (restart intensity and period of each unit's subtree, and how long services get to stop).
 * `aotp reload` sends it to running nodes, which apply it live (runtime/supervisor/reloader.ts);
 * every other setting needs a restart.
 */
import { z } from 'zod';
import { ConfigSchema, SuConfigSchema, type Config } from '../config/schema.js';
import { CuConfigSchema } from '../units/cu/config.js';
import { MuConfigSchema } from '../units/mu/config.js';
import { SecConfigSchema } from '../units/sec/config.js';

/** A unit's restart budget, with the config's ranges and no defaults: a policy says every value. */
const budget = (s: typeof SuConfigSchema | typeof CuConfigSchema | typeof MuConfigSchema | typeof SecConfigSchema) =>
  z.object({ restartIntensity: s.shape.restartIntensity.unwrap(), restartPeriod: s.shape.restartPeriod.unwrap() }).strict();

export const NodePolicySchema = z
  .object({
    shutdownMs: ConfigSchema.shape.shutdownMs.unwrap(),
    su: budget(SuConfigSchema),
    cu: budget(CuConfigSchema),
    mu: budget(MuConfigSchema),
    sec: budget(SecConfigSchema),
  })
  .strict();

export type NodePolicy = z.infer<typeof NodePolicySchema>;

const UNITS = ['su', 'cu', 'mu', 'sec'] as const;

/** The policy part of a config. */
export function policyOf(config: Config): NodePolicy {
  const unit = (u: (typeof UNITS)[number]) => ({ restartIntensity: config[u].restartIntensity, restartPeriod: config[u].restartPeriod });
  return { shutdownMs: config.shutdownMs, su: unit('su'), cu: unit('cu'), mu: unit('mu'), sec: unit('sec') };
}

/** `config` with the settings of `policy`. */
export function withPolicy(config: Config, policy: NodePolicy): Config {
  const out: Config = { ...config, shutdownMs: policy.shutdownMs };
  for (const u of UNITS) Object.assign(out, { [u]: { ...config[u], ...policy[u] } });
  return out;
}

/** A policy from the bus, checked: the policy, or what is wrong with it (one line per field). */
export function parsePolicy(raw: unknown): { ok: NodePolicy } | { error: string } {
  const r = NodePolicySchema.safeParse(raw);
  if (r.success) return { ok: r.data };
  return { error: r.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`).join('; ') };
}

/** The settings that differ between two policies, as `path: [from, to]`. */
export function policyDiff(from: NodePolicy, to: NodePolicy): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  if (from.shutdownMs !== to.shutdownMs) out.shutdownMs = [from.shutdownMs, to.shutdownMs];
  for (const u of UNITS) {
    for (const k of ['restartIntensity', 'restartPeriod'] as const) {
      if (from[u][k] !== to[u][k]) out[`${u}.${k}`] = [from[u][k], to[u][k]];
    }
  }
  return out;
}
