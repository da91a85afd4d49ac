/**
 * The origin's stake ledger (paper 5.3–5.6, 6.2), in the node's LMDB environment:
 *
 *   sec.stakes          address → Account (amounts as decimal strings: no float rounding)
 *   sec.stake-requests  request item id → unix ms applied (a signed request counts once)
 *   sec.slashes         offense key → Slash (one offense is slashed once)
 *
 * Units (SU, CU, MU) stake under their wallet address. `Unstake` does not give funds back: it
 * moves them to `unstaking`, where they stay locked, and slashable, for the stake-exclusivity
 * period; `Withdraw` releases the unstaked amounts whose period is over and is refused before.
 * A slash takes everything slashable (staked and unstaking): a proven lie costs the whole
 * collateral; the challenger gets `slashRewardPercent` of it, the rest is burned.
 *
 * No token moves: a stake is credited on the staker's signed request. The ledger is the
 * origin's record of collateral, not a token contract (see docs/sec-machines.md).
 *
 * Every change is checked first and written in one transaction; a refusal (Rejected) changes
 * nothing.
 */
import type { Store, Table } from '../../runtime/store.js';
import { parseDataItem, tagValue } from '../ans104/index.js';
import { Rejected } from './requests.js';

export interface Unstaking {
  /** The Unstake request's id. */
  id: string;
  amount: string;
  /** Unix ms when it may be withdrawn. */
  releaseAt: number;
}

export interface Account {
  address: string;
  /** Active stake. */
  staked: string;
  unstaking: Unstaking[];
  /** Taken by slashes, in total. */
  slashed: string;
  /** Given back by withdrawals, in total. */
  withdrawn: string;
  /** Rewards for evidence that slashed someone. */
  rewards: string;
  /** Offense keys of the slashes against this address. */
  slashes: string[];
}

export interface AccountView extends Account {
  /** Staked plus unstaking: what a slash would take now. */
  locked: string;
}

export interface Slash {
  key: string;
  /** The offender. */
  address: string;
  kind: 'double-assignment' | 'attestation-mismatch' | 'forged-message' | 'failed-liveness' | 'failed-publication';
  processId: string;
  /** The evidence item's id and its signer (who gets the reward). */
  evidenceId: string;
  challenger: string;
  amount: string;
  reward: string;
  burned: string;
  at: number;
  /** What was proven, in words. */
  detail: string;
  /** The nested items the proof rests on, base64url. */
  items: string[];
}

export type StakeAction = 'Stake' | 'Unstake' | 'Withdraw';

export interface StakeRequest {
  id: string;
  address: string;
  action: StakeAction;
  /** For Stake and Unstake. */
  quantity?: bigint;
}

const empty = (address: string): Account => ({ address, staked: '0', unstaking: [], slashed: '0', withdrawn: '0', rewards: '0', slashes: [] });
const sum = (xs: readonly Unstaking[]) => xs.reduce((a, u) => a + BigInt(u.amount), 0n);

export function viewOf(a: Account): AccountView {
  return { ...a, locked: String(BigInt(a.staked) + sum(a.unstaking)) };
}

/** The tag the origin adds to an offer it dry-runs: the offering SU's active stake in its ledger. */
export const SU_STAKE_TAG = 'SU-Stake';

/** The spawn tag with which a process requires its SU to have at least this much staked (locked). */
export const MIN_SU_STAKE_TAG = 'Min-SU-Stake';

/** Why an SU with account `a` may not host the process `spawn` creates (undefined: it may). */
export function minStakeRefusal(spawn: Uint8Array, a: AccountView): string | undefined {
  let min: string | undefined;
  try {
    min = tagValue(parseDataItem(spawn).tags, MIN_SU_STAKE_TAG);
  } catch {
    return undefined; // not an item: the SU's own validation says so
  }
  if (min === undefined) return undefined;
  if (!/^[0-9]{1,31}$/.test(min)) return `${MIN_SU_STAKE_TAG} must be a non-negative integer, got '${min.slice(0, 64)}'`;
  // Unstaking funds are still locked, but on their way out: only active stake counts.
  if (BigInt(a.staked) < BigInt(min)) return `this SU (${a.address}) has ${a.staked} staked; the process requires ${MIN_SU_STAKE_TAG} ${min}, so it will not host it`;
  return undefined;
}

export class StakeLedger {
  private readonly accounts: Table<Account, string>;
  private readonly requests: Table<number, string>;
  private readonly slashes: Table<Slash, string>;

  constructor(
    private readonly store: Store,
    private readonly o: { exclusivityMs: number; rewardPercent: number },
  ) {
    this.accounts = store.db('sec.stakes');
    this.requests = store.db('sec.stake-requests');
    this.slashes = store.db('sec.slashes');
  }

  account(address: string): AccountView {
    return viewOf(this.accounts.get(address) ?? empty(address));
  }

  slash(key: string): Slash | undefined {
    return this.slashes.get(key);
  }

  /** Applies a signed stake request at `now`; answers the account after it. */
  async apply(r: StakeRequest, now: number): Promise<AccountView> {
    if (this.requests.get(r.id) !== undefined) throw new Rejected(`request ${r.id} was applied already; sign a new one (another anchor) to repeat it`, 409);
    const a = structuredClone(this.accounts.get(r.address) ?? empty(r.address));
    if (r.action === 'Stake') {
      a.staked = String(BigInt(a.staked) + r.quantity!);
    } else if (r.action === 'Unstake') {
      if (r.quantity! > BigInt(a.staked)) throw new Rejected(`${r.address} has ${a.staked} staked; cannot unstake ${r.quantity}`, 409);
      a.staked = String(BigInt(a.staked) - r.quantity!);
      a.unstaking.push({ id: r.id, amount: String(r.quantity), releaseAt: now + this.o.exclusivityMs });
    } else {
      const due = a.unstaking.filter((u) => u.releaseAt <= now);
      if (due.length === 0) {
        const next = a.unstaking.reduce((m, u) => Math.min(m, u.releaseAt), Infinity);
        throw new Rejected(
          a.unstaking.length === 0
            ? `${r.address} has nothing unstaking to withdraw`
            : `nothing of ${r.address} is released yet: its unstaked funds stay locked for the stake-exclusivity period, until ${new Date(next).toISOString()}`,
          409,
        );
      }
      a.unstaking = a.unstaking.filter((u) => u.releaseAt > now);
      a.withdrawn = String(BigInt(a.withdrawn) + sum(due));
    }
    await this.store.transact(() => {
      void this.accounts.put(r.address, a);
      void this.requests.put(r.id, now);
    });
    return viewOf(a);
  }

  /**
   * Slashes `address` for a verified offense (its key names it: one offense, one slash). Answers
   * the record; refuses an offense slashed before, and an offender with nothing to take.
   */
  async slashFor(o: Omit<Slash, 'amount' | 'reward' | 'burned'>): Promise<{ slash: Slash; account: AccountView }> {
    const before = this.slashes.get(o.key);
    if (before) throw new Rejected(`this offense was slashed already (evidence ${before.evidenceId}, ${before.amount} taken from ${before.address})`, 409);
    const a = structuredClone(this.accounts.get(o.address) ?? empty(o.address));
    const amount = BigInt(a.staked) + sum(a.unstaking);
    if (amount === 0n) throw new Rejected(`the evidence holds, but ${o.address} has no stake to slash`, 409);
    const reward = o.challenger === o.address ? 0n : (amount * BigInt(this.o.rewardPercent)) / 100n;
    const slash: Slash = { ...o, amount: String(amount), reward: String(reward), burned: String(amount - reward) };
    a.staked = '0';
    a.unstaking = [];
    a.slashed = String(BigInt(a.slashed) + amount);
    a.slashes.push(o.key);
    const c = o.challenger === o.address ? undefined : structuredClone(this.accounts.get(o.challenger) ?? empty(o.challenger));
    if (c) c.rewards = String(BigInt(c.rewards) + reward);
    await this.store.transact(() => {
      void this.slashes.put(o.key, slash);
      void this.accounts.put(o.address, a);
      if (c) void this.accounts.put(o.challenger, c);
    });
    return { slash, account: viewOf(a) };
  }
}
