/**
 * What the origin accepts: signed ANS-104 data items. A challenge or evidence item is signed by
 * whoever raises it and carries the items it is about (messages, assignments) in its data, as
 * JSON `{ "items": ["<base64url of a data item>", …] }`, so each nested item keeps its own
 * signature and can be verified on its own. An offer is the dry-run message itself, signed by
 * the SU that wants to host the process.
 *
 *   Type=Sec-Challenge  Challenge=Liveness         Process=<id>  items: [the message to schedule]
 *   Type=Sec-Challenge  Challenge=Non-Publication  Process=<id>  items: [the SU's assignment for slot n]
 *   Type=Sec-Evidence   Evidence=Double-Assignment Process=<id>  items: [assignment, assignment] (first = first submitted)
 *   Type=Sec-Evidence   Evidence=Publication       Process=<id>  items: [assignment n, message n]
 *   offer: target=<process id>, Action=Host-Offer, Scheduler-Url=<url> (optional), any terms
 *   Type=Sec-Stake      Action=Stake|Unstake|Withdraw  Quantity=<positive integer> (not for Withdraw)
 *   slashing evidence (POST /sec/slash): slashing.ts
 *
 * Parsing checks form and signatures; whether the facts hold against the process's SU is the
 * origin's job (evidence.ts).
 */
import { randomBytes } from 'node:crypto';
import { createDataItem, InvalidDataItem, ownerAddress, parseDataItem, tagValue, verifyDataItem, type ParsedDataItem, type Tag, type Wallet } from '../ans104/index.js';
import { validateItem } from '../su/validate.js';
import type { StakeRequest } from './stake-ledger.js';

/** A request the origin turns down, with the reason (and a 4xx status); nothing was changed. */
export class Rejected extends Error {
  override readonly name = 'Rejected';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type SecRequest =
  | { kind: 'liveness'; id: string; processId: string; message: ParsedDataItem; by: string }
  | { kind: 'non-publication'; id: string; processId: string; assignment: ParsedDataItem; by: string }
  | { kind: 'double-assignment'; id: string; processId: string; assignments: [ParsedDataItem, ParsedDataItem]; by: string }
  | { kind: 'publication'; id: string; processId: string; assignment: ParsedDataItem; message: ParsedDataItem };

export interface Offer {
  id: string;
  processId: string;
  /** The offering SU's address (the item's signer). */
  address: string;
  url?: string;
  item: ParsedDataItem;
}

export async function signed(raw: Uint8Array, what: string): Promise<ParsedDataItem> {
  if (raw.length === 0) throw new Rejected(`${what}: the body is empty: send a signed ANS-104 data item`);
  let item: ParsedDataItem;
  try {
    item = parseDataItem(raw);
  } catch (e) {
    if (e instanceof InvalidDataItem) throw new Rejected(`${what}: not a valid ANS-104 data item: ${e.message}`);
    throw e;
  }
  if (!(await verifyDataItem(item))) throw new Rejected(`${what}: invalid signature: the data item does not verify against its owner`);
  return item;
}

export function nested(item: ParsedDataItem, count: number): Uint8Array[] {
  let items: unknown;
  try {
    items = (JSON.parse(Buffer.from(item.data).toString('utf8')) as { items?: unknown }).items;
  } catch {
    throw new Rejected('the data must be JSON { "items": [base64url data items] }');
  }
  if (!Array.isArray(items) || items.length !== count || !items.every((s) => typeof s === 'string')) {
    throw new Rejected(`the data must hold exactly ${count} item(s) in "items", as base64url strings`);
  }
  return items.map((s: string) => Buffer.from(s, 'base64url'));
}

/** Whether `raw` is a spawn (which validateItem would judge against an SU address; no challenge message is one). */
function isSpawn(raw: Uint8Array): boolean {
  try {
    const tags = parseDataItem(raw).tags;
    return (tagValue(tags, 'Type') ?? tagValue(tags, 'type')) === 'Process';
  } catch {
    return false;
  }
}

export const processTag = (item: ParsedDataItem): string => {
  const p = tagValue(item.tags, 'Process');
  if (p === undefined || !/^[A-Za-z0-9_-]{43}$/.test(p)) throw new Rejected('Process tag missing or not a process id');
  return p;
};

/** A challenge (`POST /sec/challenge`). */
export async function parseChallenge(raw: Uint8Array): Promise<SecRequest> {
  const item = await signed(raw, 'challenge');
  if (tagValue(item.tags, 'Type') !== 'Sec-Challenge') throw new Rejected('a challenge must have the tag Type=Sec-Challenge');
  const processId = processTag(item);
  const kind = tagValue(item.tags, 'Challenge');
  if (kind === 'Liveness') {
    // The SU will schedule this message: it gets the checks `POST /su` applies, through the
    // same function, so a challenge cannot put into a log what the SU itself would refuse.
    const raw = nested(item, 1)[0]!;
    if (isSpawn(raw)) throw new Rejected('the challenge message must be Type=Message, not a spawn');
    const v = await validateItem(raw, '');
    if ('error' in v) throw new Rejected(`the challenge message: ${v.error}`);
    if (v.ok.kind !== 'message') throw new Rejected('the challenge message must be Type=Message');
    if (v.ok.processId !== processId) throw new Rejected(`the challenge message targets ${v.ok.processId}, not ${processId}`);
    return { kind: 'liveness', id: item.id, processId, message: v.ok.item, by: ownerAddress(item) };
  }
  if (kind === 'Non-Publication') {
    const assignment = await signed(nested(item, 1)[0]!, 'the challenged assignment');
    return { kind: 'non-publication', id: item.id, processId, assignment, by: ownerAddress(item) };
  }
  throw new Rejected(`Challenge must be Liveness or Non-Publication, got '${String(kind).slice(0, 64)}'`);
}

/** Evidence (`POST /sec/evidence`). A nested item that does not verify is a forgery: rejected. */
export async function parseEvidence(raw: Uint8Array): Promise<SecRequest> {
  const item = await signed(raw, 'evidence');
  if (tagValue(item.tags, 'Type') !== 'Sec-Evidence') throw new Rejected('evidence must have the tag Type=Sec-Evidence');
  const processId = processTag(item);
  const kind = tagValue(item.tags, 'Evidence');
  if (kind === 'Double-Assignment') {
    const [a, b] = nested(item, 2);
    return { kind: 'double-assignment', id: item.id, processId, assignments: [await signed(a!, 'assignment 1'), await signed(b!, 'assignment 2')], by: ownerAddress(item) };
  }
  if (kind === 'Publication') {
    const [a, m] = nested(item, 2);
    return { kind: 'publication', id: item.id, processId, assignment: await signed(a!, 'the assignment'), message: await signed(m!, 'the message') };
  }
  throw new Rejected(`Evidence must be Double-Assignment or Publication, got '${String(kind).slice(0, 64)}'`);
}

/** A stake request (`POST /sec/stake`): the signer stakes, unstakes or withdraws. */
export async function parseStake(raw: Uint8Array): Promise<StakeRequest> {
  const item = await signed(raw, 'stake request');
  if (tagValue(item.tags, 'Type') !== 'Sec-Stake') throw new Rejected('a stake request must have the tag Type=Sec-Stake');
  const action = tagValue(item.tags, 'Action');
  if (action !== 'Stake' && action !== 'Unstake' && action !== 'Withdraw') throw new Rejected(`Action must be Stake, Unstake or Withdraw, got '${String(action).slice(0, 64)}'`);
  if (action === 'Withdraw') return { id: item.id, address: ownerAddress(item), action };
  const q = tagValue(item.tags, 'Quantity');
  if (q === undefined || !/^[1-9][0-9]{0,30}$/.test(q)) throw new Rejected(`Quantity must be a positive integer (at most 31 digits), got '${String(q).slice(0, 64)}'`);
  return { id: item.id, address: ownerAddress(item), action, quantity: BigInt(q) };
}

/** An offer (`POST /sec/offer`). */
export async function parseOffer(raw: Uint8Array): Promise<Offer> {
  const item = await signed(raw, 'offer');
  if (tagValue(item.tags, 'Action') !== 'Host-Offer') throw new Rejected('an offer must have the tag Action=Host-Offer');
  if (item.target === undefined) throw new Rejected('an offer must target the unhosted process');
  const url = tagValue(item.tags, 'Scheduler-Url');
  return { id: item.id, processId: item.target, address: ownerAddress(item), ...(url ? { url } : {}), item };
}

/** Builds a challenge or evidence item (for clients and tests). */
export function secItem(signer: Wallet, o: { type: 'Sec-Challenge' | 'Sec-Evidence'; kind: string; processId: string; items: Uint8Array[]; tags?: Tag[] }) {
  return createDataItem(
    {
      data: JSON.stringify({ items: o.items.map((b) => Buffer.from(b).toString('base64url')) }),
      anchor: randomBytes(32),
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Type', value: o.type },
        { name: o.type === 'Sec-Challenge' ? 'Challenge' : 'Evidence', value: o.kind },
        { name: 'Process', value: o.processId },
        ...(o.tags ?? []),
      ],
    },
    signer,
  );
}
