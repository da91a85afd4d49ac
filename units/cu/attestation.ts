/**
 * A CU attestation (paper 3.4, 5.4): an ANS-104 item signed by the CU wallet that states what
 * the CU computed for one message of one process, so that anyone who recomputes it can prove the
 * CU wrong. No target, no anchor, no data; tags:
 *
 *   Data-Protocol=ao, Variant=ao.TN.1, Type=Attestation,
 *   Process, Message, Slot, Module, Timestamp (the message's, unix ms),
 *   Result-Hash   sha256 (base64url) of the canonical result (below),
 *   Memory-Hash   the process memory after the message (worker/instance.ts `memoryHash`, hex:
 *                 the same value a checkpoint of that slot records)
 *
 * Canonical result: JSON of { Assignments, Error, Messages, Output, Spawns } with object keys
 * sorted at every depth, no whitespace, Error null when absent. GasUsed is left out (it says how
 * the work went, not what it produced).
 */
import { createHash } from 'node:crypto';
import { ownerAddress, parseDataItem, signDataItem, tagValue, verifyDataItem, type Tag, type WalletKey } from '../ans104/index.js';
import type { EvalOutput } from './message.js';

export interface AttestationFields {
  processId: string;
  messageId: string;
  slot: number;
  moduleId: string;
  timestamp: number;
  resultHash: string;
  memoryHash: string;
}

export interface Attestation extends AttestationFields {
  /** The item's id. */
  id: string;
  /** The signer's address. */
  cu: string;
  raw: Uint8Array;
}

/** JSON with object keys sorted at every depth (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** sha256 (base64url) of the canonical result. */
export function resultHash(out: EvalOutput): string {
  const canonical = canonicalJson({ Assignments: out.Assignments ?? [], Error: out.Error ?? null, Messages: out.Messages ?? [], Output: out.Output ?? null, Spawns: out.Spawns ?? [] });
  return createHash('sha256').update(canonical).digest('base64url');
}

export function attestationTags(f: AttestationFields): Tag[] {
  return [
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Variant', value: 'ao.TN.1' },
    { name: 'Type', value: 'Attestation' },
    { name: 'Process', value: f.processId },
    { name: 'Message', value: f.messageId },
    { name: 'Slot', value: String(f.slot) },
    { name: 'Module', value: f.moduleId },
    { name: 'Timestamp', value: String(f.timestamp) },
    { name: 'Result-Hash', value: f.resultHash },
    { name: 'Memory-Hash', value: f.memoryHash },
  ];
}

export async function signAttestation(key: WalletKey, f: AttestationFields): Promise<Uint8Array> {
  return (await signDataItem(key, { data: '', tags: attestationTags(f) })).raw;
}

/** Why bytes are not a valid attestation. */
export class InvalidAttestation extends Error {
  override readonly name = 'InvalidAttestation';
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** Parses and checks an attestation: a valid signed item with every tag well formed. */
export async function readAttestation(raw: Uint8Array): Promise<Attestation> {
  let item;
  try {
    item = parseDataItem(raw);
  } catch (e) {
    throw new InvalidAttestation(`not a data item: ${(e as Error).message}`);
  }
  if (!(await verifyDataItem(item))) throw new InvalidAttestation(`the signature of attestation ${item.id} does not verify`);
  const t = (name: string) => tagValue(item.tags, name);
  if (t('Type') !== 'Attestation' || t('Data-Protocol') !== 'ao') throw new InvalidAttestation(`item ${item.id} is not an attestation (Type=${t('Type') ?? 'none'})`);
  const f = {
    processId: t('Process') ?? '',
    messageId: t('Message') ?? '',
    slot: Number(t('Slot')),
    moduleId: t('Module') ?? '',
    timestamp: Number(t('Timestamp')),
    resultHash: t('Result-Hash') ?? '',
    memoryHash: t('Memory-Hash') ?? '',
  };
  if (!ID.test(f.processId) || !ID.test(f.messageId) || !ID.test(f.moduleId)) throw new InvalidAttestation(`attestation ${item.id}: Process, Message and Module must be ids`);
  if (!Number.isSafeInteger(f.slot) || f.slot < 0) throw new InvalidAttestation(`attestation ${item.id}: Slot must be a non-negative integer`);
  if (!/^[A-Za-z0-9_-]{43}$/.test(f.resultHash) || !/^[0-9a-f]{64}$/.test(f.memoryHash)) throw new InvalidAttestation(`attestation ${item.id}: Result-Hash or Memory-Hash is malformed`);
  return { ...f, id: item.id, cu: ownerAddress(item), raw };
}
