/** Types of assignment-core.js (plain JavaScript so that signing worker threads can load it). */
import type { Tag } from '../ans104/tags.js';
import type { WalletKey } from '../ans104/keys.js';

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

/** Hash-Chain of a process's first assignment (slot 0): sha256(process id bytes). */
export function firstHashChain(processId: string): string;
/** Hash-Chain after assignment `prevAssignmentId`: sha256(its id bytes ‖ its Hash-Chain bytes). */
export function nextHashChain(prevAssignmentId: string, prevHashChain: string): string;
/** 12 digits, zero padded. */
export function formatBlockHeight(height: number): string;
/** The tags of an assignment, in the reference order. */
export function assignmentTags(fields: AssignmentFields): Tag[];
/** The Avro tag block, byte for byte as arbundles writes it. */
export function encodeTags(tags: Tag[]): Buffer;
export function createRunSigner(key: WalletKey, fill?: (buf: Buffer) => Buffer): RunSigner;
/** SignPool extension: op `su.signRun`. */
export function createOps(key: WalletKey): { 'su.signRun': (run: Run) => SignedAssignment[] };
