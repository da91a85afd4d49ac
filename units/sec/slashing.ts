/**
 * Evidence that slashes (`POST /sec/slash`; paper 5.3, 5.4): a signed `Type=Sec-Evidence` item
 * whose data holds the items the proof rests on (requests.ts), checked here into an offense:
 *
 *   Evidence=Double-Assignment     Process=<id>  items: [assignment, assignment]
 *     two assignments signed by one key for the process and one Nonce, naming different
 *     messages. The signer is the offender, whether or not it still hosts the process.
 *   Evidence=Attestation-Mismatch  Process=<id>  items: [the CU's attestation]
 *     an attestation (units/cu/attestation.ts) whose slot, module, result hash or memory hash
 *     differs from what this origin's CU computes for the same message of the same log.
 *   Evidence=Forged-Message        Process=<id>  items: [a message an MU signed]
 *     a message whose signer (the MU) claims, by its From-Process and From-Message tags, that
 *     evaluating that message of the process sent it, when this origin's CU finds no such
 *     message in that evaluation's outbox (paper 5.5.2: an MU signing an invalid message).
 *
 * Forged or tampered items fail their signatures in the parser; consistent ones (different
 * keys, slots or processes, the same message twice, an attestation that agrees) are refused
 * with the reason. An offense has a key, so it is slashed once however often it is shown.
 */
import { ownerAddress, tagValue, type ParsedDataItem } from '../ans104/index.js';
import { InvalidAttestation, readAttestation, type AttestationFields } from '../cu/attestation.js';
import type { EvalOutput } from '../cu/index.js';
import { pushedMessages, type PushedMessage } from '../mu/index.js';
import { readAssignment } from './evidence.js';
import { nested, processTag, Rejected, signed } from './requests.js';
import type { Slash } from './stake-ledger.js';

/** What this origin's CU computes for a message: the facts of its own attestation, and its result. */
export interface Recompute {
  attestation(processId: string, messageId: string): Promise<AttestationFields | { missing: string }>;
  result(processId: string, messageId: string): Promise<EvalOutput | { missing: string }>;
}

type Answer<T> = Promise<T | { busy: string } | { missing: string }>;

export type Offense = Omit<Slash, 'amount' | 'reward' | 'burned' | 'at'>;

/** A Recompute from a CU's attestations (`CuApi.attestation`, or the cluster's routed one). */
export function recomputeWith(
  cu: {
    attestation(processId: string, messageId: string, waitMs: number): Answer<{ attestation: Uint8Array }>;
    result(processId: string, messageId: string, waitMs: number): Answer<{ result: EvalOutput }>;
  },
  waitMs: number,
): Recompute {
  return {
    async attestation(processId, messageId) {
      const r = await cu.attestation(processId, messageId, waitMs);
      if ('busy' in r) return { missing: r.busy };
      if ('missing' in r) return r;
      return readAttestation(r.attestation);
    },
    async result(processId, messageId) {
      const r = await cu.result(processId, messageId, waitMs);
      if ('busy' in r) return { missing: r.busy };
      if ('missing' in r) return r;
      return r.result;
    },
  };
}

/** What the origin's CU answers, or the reason it cannot (a refusal keeps its 4xx status). */
async function recomputed<T>(what: () => Promise<T | { missing: string }>, messageId: string, processId: string): Promise<T> {
  let truth: T | { missing: string };
  try {
    truth = await what();
  } catch (e) {
    // The CU's refusal (an unknown process: 404, …) or its absence: an answer, not an origin crash.
    const status = (e as { status?: unknown }).status;
    throw new Rejected(`cannot recompute message ${messageId} of ${processId}: ${(e as Error).message}`, typeof status === 'number' && status >= 400 && status < 500 ? status : 503);
  }
  if (typeof truth === 'object' && truth !== null && 'missing' in truth) throw new Rejected(`cannot recompute message ${messageId} of ${processId}: ${(truth as { missing: string }).missing}`, 404);
  return truth as T;
}

const b64 = (item: ParsedDataItem) => Buffer.from(item.raw).toString('base64url');

/** Two assignments of one signer for one process and nonce naming different messages. */
export function doubleAssignmentOffense(items: [ParsedDataItem, ParsedDataItem], processId: string): Omit<Offense, 'evidenceId' | 'challenger'> {
  const a = readAssignment(items[0], 'assignment 1');
  const b = readAssignment(items[1], 'assignment 2');
  for (const x of [a, b]) if (x.processId !== processId) throw new Rejected(`an assignment is for process ${x.processId}, not ${processId}`);
  if (a.signer !== b.signer) throw new Rejected(`the assignments are signed by different keys (${a.signer}, ${b.signer}): no double assignment by one SU`);
  if (a.slot !== b.slot) throw new Rejected(`the assignments are for different nonces (${a.slot} and ${b.slot}): no double assignment`);
  if (a.messageId === b.messageId) throw new Rejected(`both assignments name message ${a.messageId}: no double assignment`);
  return {
    key: `double-assignment:${a.signer}:${processId}:${a.slot}`,
    address: a.signer,
    kind: 'double-assignment',
    processId,
    detail: `SU ${a.signer} signed nonce ${a.slot} of ${processId} twice: message ${a.messageId} (assignment ${a.id}) and message ${b.messageId} (assignment ${b.id})`,
    items: items.map(b64),
  };
}

const COMPARED = ['slot', 'moduleId', 'resultHash', 'memoryHash'] as const;

/** An attestation that recomputation contradicts. */
export async function attestationOffense(item: ParsedDataItem, processId: string, recompute: Recompute | undefined): Promise<Omit<Offense, 'evidenceId' | 'challenger'>> {
  let att;
  try {
    att = await readAttestation(item.raw);
  } catch (e) {
    if (e instanceof InvalidAttestation) throw new Rejected(`the attestation: ${e.message}`);
    throw e;
  }
  if (att.processId !== processId) throw new Rejected(`the attestation is for process ${att.processId}, not ${processId}`);
  if (!recompute) throw new Rejected('this origin has no CU to recompute attestations with', 501);
  const truth = await recomputed(() => recompute.attestation(processId, att.messageId), att.messageId, processId);
  const differs = COMPARED.filter((k) => String(att[k]) !== String(truth[k]));
  if (differs.length === 0) throw new Rejected(`the attestation ${att.id} agrees with the recomputation (slot ${att.slot}, result and memory hashes): nothing to slash`);
  return {
    key: `attestation-mismatch:${att.cu}:${processId}:${att.messageId}`,
    address: att.cu,
    kind: 'attestation-mismatch',
    processId,
    detail: `CU ${att.cu} attested message ${att.messageId} of ${processId} with ${differs.map((k) => `${k} ${att[k]}`).join(', ')}; recomputed: ${differs.map((k) => `${k} ${truth[k]}`).join(', ')}`,
    items: [b64(item)],
  };
}

/** A message its MU signed as sent by a process's evaluation that did not send it. */
export async function forgedMessageOffense(item: ParsedDataItem, processId: string, recompute: Recompute | undefined): Promise<Omit<Offense, 'evidenceId' | 'challenger'>> {
  const fromProcess = tagValue(item.tags, 'From-Process');
  const fromMessage = tagValue(item.tags, 'From-Message');
  if (fromProcess !== processId) throw new Rejected(`the message says it is from process ${String(fromProcess).slice(0, 64)}, not ${processId}`);
  if (!fromMessage) throw new Rejected('the message names no From-Message: its signer did not say which evaluation sent it, so nothing can be checked');
  if (!recompute) throw new Rejected('this origin has no CU to recompute messages with', 501);
  const output = await recomputed(() => recompute.result(processId, fromMessage), fromMessage, processId);
  const src = { fromProcess: processId, fromModule: tagValue(item.tags, 'From-Module') ?? '', fromMessage, ...(tagValue(item.tags, 'Pushed-For') ? { pushedFor: tagValue(item.tags, 'Pushed-For')! } : {}) };
  const same = (m: PushedMessage) =>
    m.target === item.target &&
    (m.anchor ?? '') === (item.anchor ?? '') &&
    Buffer.from(m.data).equals(Buffer.from(item.data)) &&
    m.tags.length === item.tags.length &&
    m.tags.every((t, i) => t.name === item.tags[i]!.name && t.value === item.tags[i]!.value);
  if (pushedMessages(output, src).some(same)) throw new Rejected(`message ${item.id} is in the outbox of message ${fromMessage} of ${processId}: nothing to slash`);
  const signer = ownerAddress(item);
  return {
    key: `forged-message:${signer}:${item.id}`,
    address: signer,
    kind: 'forged-message',
    processId,
    detail: `${signer} signed message ${item.id} as sent by ${processId} evaluating ${fromMessage}; that evaluation's outbox holds no such message`,
    items: [b64(item)],
  };
}

/** Parses and checks slashing evidence into the offense it proves. */
export async function parseSlashEvidence(raw: Uint8Array, recompute: Recompute | undefined): Promise<Offense> {
  const item = await signed(raw, 'evidence');
  if (tagValue(item.tags, 'Type') !== 'Sec-Evidence') throw new Rejected('evidence must have the tag Type=Sec-Evidence');
  const processId = processTag(item);
  const kind = tagValue(item.tags, 'Evidence');
  const by = { evidenceId: item.id, challenger: ownerAddress(item) };
  if (kind === 'Double-Assignment') {
    const [a, b] = nested(item, 2);
    return { ...by, ...doubleAssignmentOffense([await signed(a!, 'assignment 1'), await signed(b!, 'assignment 2')], processId) };
  }
  if (kind === 'Attestation-Mismatch') {
    const [a] = nested(item, 1);
    return { ...by, ...(await attestationOffense(await signed(a!, 'the attestation'), processId, recompute)) };
  }
  if (kind === 'Forged-Message') {
    const [a] = nested(item, 1);
    return { ...by, ...(await forgedMessageOffense(await signed(a!, 'the message'), processId, recompute)) };
  }
  throw new Rejected(`Evidence must be Double-Assignment, Attestation-Mismatch or Forged-Message to slash, got '${String(kind).slice(0, 64)}'`);
}
