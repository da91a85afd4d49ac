/**
 * Signing the SU's assignments: inline on the caller's thread, or on a SignPool of worker
 * threads. The builder itself is assignment-core.ts (which the workers load too); its header
 * describes the tags and the hash chain.
 *
 * A process's assignments are signed one after another (Hash-Chain needs the id, i.e. the
 * signature, of the previous one), so a sequencer hands its queued messages over as one run;
 * parallelism comes from many processes' runs on the pool's workers.
 */
import type { SignPool } from '../ans104/sign-pool.js';
import { SignPool as Pool } from '../ans104/sign-pool.js';
import type { Wallet } from '../ans104/wallet.js';
import { createRunSigner, type Run, type RunSigner, type SignedAssignment } from './assignment-core.js';

export {
  assignmentTags,
  encodeTags,
  firstHashChain,
  formatBlockHeight,
  nextHashChain,
  type AssignmentFields,
  type ChainHead,
  type Run,
  type RunItem,
  type SignedAssignment,
} from './assignment-core.js';

const EXTENSION = new URL('./assignment-core.js', import.meta.url);

/** A SignPool whose workers also sign runs of assignments. */
export function assignmentSignPool(wallet: Wallet, size?: number): SignPool {
  return new Pool(wallet.key, { ...(size !== undefined ? { size } : {}), extensions: [EXTENSION] });
}

export class AssignmentSigner {
  readonly address: string;
  private readonly local: RunSigner | undefined;

  /** With a pool (from `assignmentSignPool`), runs are signed on its workers. */
  constructor(
    wallet: Wallet,
    private readonly pool?: SignPool,
  ) {
    this.address = wallet.address;
    this.local = pool ? undefined : createRunSigner(wallet.key);
  }

  /** Whether `signRun` answers synchronously. */
  get inline(): boolean {
    return this.local !== undefined;
  }

  signRun(run: Run): SignedAssignment[] | Promise<SignedAssignment[]> {
    if (this.local) return this.local.signRun(run);
    return this.pool!.run<SignedAssignment[]>('su.signRun', run);
  }
}
