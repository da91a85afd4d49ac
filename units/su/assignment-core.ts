/**
 * The SU's assignment data items, built and signed. Signing worker threads load this module
 * too (a SignPool extension, see assignment.ts), so at run time it imports node: and
 * deep-hash.ts only.
 *
 * An assignment is an ANS-104 item signed by the SU wallet: no target, no anchor, no data (as
 * the reference SU's gen_assignment), and the tags in the order the reference SU writes them (servers/su builder.rs):
 *   Process, Message, Epoch=0, Nonce=<slot>, Hash-Chain, Block-Height (12 digits, zero padded),
 *   Timestamp (unix ms), Data-Protocol=ao, Type=Assignment, Variant=ao.TN.1,
 *   Exclude=<name> (one per excluded name; assign flow only)
 * For slot 0 (the spawn's own assignment) Message is the process id.
 * Hash-Chain: slot 0 = sha256(process id bytes); slot n = sha256(id of assignment n-1 ‖ its
 * Hash-Chain), all as raw 32-byte values, written base64url.
 *
 * No anchor: random anchor bytes are not UTF-8, so the SU's JSON (which serves text) could not
 * carry them and nobody could check the signature from it. Uniqueness needs none: Process,
 * Nonce and Hash-Chain already make every assignment's signed bytes distinct.
 */
import { createHash, createPrivateKey, constants, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { WalletKey } from '../ans104/keys.js';
import type { Tag } from '../ans104/tags.js';
import { dataItemPrefix, deepHashBlob } from '../ans104/deep-hash.js';

export interface AssignmentFields {
  processId: string;
  /** The assigned message (for slot 0, the process id). */
  messageId: string;
  slot: number;
  hashChain: string;
  blockHeight: number;
  /** Unix ms */
  timestamp: number;
  exclude?: string[];
}

/** One slot to sign; the process and the chain come from the run. */
export type RunItem = Omit<AssignmentFields, 'processId' | 'hashChain'>;

/** The assignment before a run: its slot, id and chain value. */
export interface ChainHead {
  slot: number;
  id: string;
  hashChain: string;
}

export interface Run {
  processId: string;
  /** null when the run starts at slot 0 */
  prev: ChainHead | null;
  items: RunItem[];
}

export interface SignedAssignment {
  id: string;
  raw: Uint8Array;
  hashChain: string;
}

export interface RunSigner {
  signatureType: number;
  owner: Buffer;
  signRun(run: Run): SignedAssignment[];
}

const b64 = (s: string) => Buffer.from(s, 'base64url');

/** Hash-Chain of a process's first assignment (slot 0): sha256(process id bytes). */
export function firstHashChain(processId: string): string {
  return createHash('sha256').update(b64(processId)).digest('base64url');
}

/** Hash-Chain after assignment `prevAssignmentId`: sha256(its id bytes ‖ its Hash-Chain bytes). */
export function nextHashChain(prevAssignmentId: string, prevHashChain: string): string {
  return createHash('sha256').update(b64(prevAssignmentId)).update(b64(prevHashChain)).digest('base64url');
}

/** 12 digits, zero padded. */
export function formatBlockHeight(height: number): string {
  return String(height).padStart(12, '0');
}

/** The tags of an assignment, in the reference order. */
export function assignmentTags(f: AssignmentFields): Tag[] {
  const tags: Tag[] = [
    { name: 'Process', value: f.processId },
    { name: 'Message', value: f.messageId },
    { name: 'Epoch', value: '0' },
    { name: 'Nonce', value: String(f.slot) },
    { name: 'Hash-Chain', value: f.hashChain },
    { name: 'Block-Height', value: formatBlockHeight(f.blockHeight) },
    { name: 'Timestamp', value: String(f.timestamp) },
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Type', value: 'Assignment' },
    { name: 'Variant', value: 'ao.TN.1' },
  ];
  for (const x of f.exclude ?? []) tags.push({ name: 'Exclude', value: x });
  return tags;
}

/** Bytes of Avro's zigzag varint for a non-negative integer. */
function longSize(n: number): number {
  let m = n * 2;
  let size = 1;
  while (m >= 0x80) {
    m = Math.floor(m / 128);
    size++;
  }
  return size;
}

function writeLong(buf: Buffer, pos: number, n: number): number {
  let m = n * 2;
  while (m >= 0x80) {
    buf[pos++] = (m & 0x7f) | 0x80;
    m = Math.floor(m / 128);
  }
  buf[pos++] = m;
  return pos;
}

/** The Avro tag block, byte for byte as arbundles' serializeTags writes it. */
export function encodeTags(tags: readonly Tag[]): Buffer {
  if (tags.length === 0) return Buffer.alloc(0);
  let size = longSize(tags.length) + 1;
  const lengths: number[] = [];
  for (const t of tags) {
    const n = Buffer.byteLength(t.name);
    const v = Buffer.byteLength(t.value);
    lengths.push(n, v);
    size += longSize(n) + n + longSize(v) + v;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = writeLong(buf, 0, tags.length);
  for (let i = 0; i < tags.length; i++) {
    pos = writeLong(buf, pos, lengths[2 * i]!);
    pos += buf.write(tags[i]!.name, pos, 'utf8');
    pos = writeLong(buf, pos, lengths[2 * i + 1]!);
    pos += buf.write(tags[i]!.value, pos, 'utf8');
  }
  buf[pos] = 0;
  return buf;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_HASH = deepHashBlob(EMPTY);

/** Signs runs of consecutive assignments of one process with one key. */
export function createRunSigner(jwk: WalletKey): RunSigner {
  const key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  const rsa = jwk.kty === 'RSA';
  const signatureType = rsa ? 1 : 2;
  const signatureLength = rsa ? 512 : 64;
  const owner = b64(jwk.kty === 'RSA' ? jwk.n : jwk.x);
  const prefix = dataItemPrefix(signatureType, owner);
  const sigOpts: KeyObject | SignKeyObjectInput = rsa ? { key, padding: constants.RSA_PKCS1_PSS_PADDING } : key;
  const algorithm = rsa ? 'sha256' : null;

  /** One assignment: its id and bytes. */
  function signOne(fields: AssignmentFields): { id: string; raw: Buffer } {
    const tagList = assignmentTags(fields);
    const tags = encodeTags(tagList);
    const message = prefix.fork().push(EMPTY).push(tags).pushHashed(EMPTY_HASH).digest();
    const signature = sign(algorithm, message, sigOpts);
    if (signature.length !== signatureLength) throw new Error(`signature of ${signature.length} bytes, expected ${signatureLength}`);
    const raw = Buffer.alloc(2 + signatureLength + owner.length + 2 + 16 + tags.length);
    let p = raw.writeUInt16LE(signatureType, 0);
    p += signature.copy(raw, p);
    p += owner.copy(raw, p);
    raw[p++] = 0; // no target
    raw[p++] = 0; // no anchor
    p = raw.writeBigUInt64LE(BigInt(tagList.length), p);
    p = raw.writeBigUInt64LE(BigInt(tags.length), p);
    tags.copy(raw, p);
    return { id: createHash('sha256').update(signature).digest('base64url'), raw };
  }

  /**
   * Signs `run.items` (consecutive slots of `run.processId`) one after another, each chained
   * to the one before; `run.prev` is the assignment before the first item (null for slot 0).
   */
  function signRun(run: Run): SignedAssignment[] {
    const out: SignedAssignment[] = [];
    let prev = run.prev;
    for (const item of run.items) {
      if (prev === null && item.slot !== 0) throw new Error(`slot ${item.slot} of ${run.processId} has no previous assignment`);
      if (prev !== null && item.slot !== prev.slot + 1) throw new Error(`slot ${item.slot} does not follow slot ${prev.slot}`);
      const hashChain = prev === null ? firstHashChain(run.processId) : nextHashChain(prev.id, prev.hashChain);
      const { id, raw } = signOne({ ...item, processId: run.processId, hashChain });
      out.push({ id, raw, hashChain });
      prev = { id, hashChain, slot: item.slot };
    }
    return out;
  }

  return { signatureType, owner, signRun };
}

/** The SignPool extension: op `su.signRun` on each worker. */
export function createOps(jwk: WalletKey): { 'su.signRun': (run: Run) => SignedAssignment[] } {
  const signer = createRunSigner(jwk);
  return { 'su.signRun': (run) => signer.signRun(run) };
}
