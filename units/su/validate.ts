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
