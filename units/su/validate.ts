/**
 * What the SU accepts on `POST /`: a well-formed, validly signed ANS-104 data item that is
 *   - a spawn: Data-Protocol=ao, Type=Process, Module, and Scheduler naming this SU's address;
 *   - or a message: Data-Protocol=ao, Type=Message, with a target (the process id).
 * Anything else gets a reason. (The reference SU checks tag presence only and no signature:
 * its MU verifies; this SU verifies, since anyone can post to it.) Whether the target process
 * is hosted here is checked by the caller.
 */
import { checkItemSize, InvalidDataItem, parseDataItem, tagValue, verifyDataItem, type ParsedDataItem } from '../ans104/index.js';

export type ValidItem =
  | { kind: 'process'; item: ParsedDataItem }
  | { kind: 'message'; item: ParsedDataItem; processId: string };

export type Validation = { ok: ValidItem } | { error: string };

/** Reference SUs accept `Type`/`type` and `Data-Protocol`/`data-protocol`. */
const tag = (item: ParsedDataItem, name: string) => tagValue(item.tags, name) ?? tagValue(item.tags, name.toLowerCase());

export async function validateItem(raw: Uint8Array, suAddress: string): Promise<Validation> {
  if (raw.length === 0) return { error: 'Request body is empty: send a signed ANS-104 data item' };
  let item: ParsedDataItem;
  try {
    checkItemSize(raw.length);
    item = parseDataItem(raw);
  } catch (e) {
    if (e instanceof InvalidDataItem) return { error: `Not a valid ANS-104 data item: ${e.message}` };
    throw e;
  }
  const type = tag(item, 'Type');
  if (type === undefined) return { error: 'Type tag not present' };
  const protocol = tag(item, 'Data-Protocol');
  if (protocol === undefined) return { error: 'Data-Protocol tag not present' };
  if (protocol !== 'ao') return { error: `Data-Protocol tag must be 'ao', got '${protocol.slice(0, 64)}'` };

  let valid: ValidItem;
  if (type === 'Process') {
    const module = tag(item, 'Module');
    const scheduler = tag(item, 'Scheduler');
    if (module === undefined || scheduler === undefined) return { error: 'Required Module and Scheduler tags for Process type not present' };
    if (scheduler !== suAddress) {
      return { error: `Process does not belong on this SU: its Scheduler tag is '${scheduler.slice(0, 64)}', this SU is '${suAddress}'` };
    }
    valid = { kind: 'process', item };
  } else if (type === 'Message') {
    if (item.target === undefined) return { error: 'Message has no target: set it to the process id' };
    valid = { kind: 'message', item, processId: item.target };
  } else {
    return { error: `Unsupported Type tag value '${type.slice(0, 64)}': this SU takes Process or Message` };
  }

  if (!(await verifyDataItem(item))) return { error: 'Invalid signature: the data item does not verify against its owner' };
  return { ok: valid };
}

/** An Arweave / ANS-104 id: 43 characters of canonical base64url (32 bytes). */
export function isTxId(s: unknown): boolean {
  return typeof s === 'string' && s.length === 43 && /^[A-Za-z0-9_-]+$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s;
}

/**
 * An assignment's `exclude` list: the names of message fields the CU leaves out (aoconnect's
 * `assign({ exclude: ['Data', 'Anchor'] })`); each becomes an Exclude tag of the signed
 * assignment. Bounded so that the assignment always fits the item limits.
 */
export const EXCLUDE_LIMITS = { maxNames: 16, maxNameLength: 64 } as const;
const FIELD_NAME = /^[A-Za-z0-9_-]+$/;

/** Why an exclude list cannot go into an assignment, or undefined when it can. */
export function checkExclude(exclude: readonly unknown[]): string | undefined {
  if (exclude.length > EXCLUDE_LIMITS.maxNames) return `exclude names ${exclude.length} fields; at most ${EXCLUDE_LIMITS.maxNames} may be excluded`;
  for (const name of exclude) {
    if (typeof name !== 'string' || name.length > EXCLUDE_LIMITS.maxNameLength || !FIELD_NAME.test(name)) {
      return `exclude must list message field names (letters, digits, '-' and '_', at most ${EXCLUDE_LIMITS.maxNameLength} characters), got '${String(name).slice(0, 64)}'`;
    }
  }
  return undefined;
}

/** The `exclude` query parameter (comma-separated, possibly repeated), checked. */
export function parseExclude(raw: string | string[] | undefined): { ok: string[] } | { error: string } {
  const exclude = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const error = checkExclude(exclude);
  return error === undefined ? { ok: exclude } : { error };
}
