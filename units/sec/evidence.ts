/**
 * Checking facts against the process's SU: that an assignment is the SU's (its signer is the
 * host), for this process, at this slot, naming this message; and what two assignments prove.
 * Every failure is a Rejected with the reason, before anything changes.
 */
import { ownerAddress, parseDataItem, tagValue, verifyDataItem, type ParsedDataItem } from '../ans104/index.js';
import { Rejected } from './requests.js';

export interface Assignment {
  id: string;
  signer: string;
  processId: string;
  messageId: string;
  slot: number;
}

/** The fields of an assignment item (signature already checked by the parser). */
export function readAssignment(item: ParsedDataItem, what = 'the assignment'): Assignment {
  if (tagValue(item.tags, 'Type') !== 'Assignment') throw new Rejected(`${what} is not an assignment (Type=Assignment)`);
  const processId = tagValue(item.tags, 'Process');
  const messageId = tagValue(item.tags, 'Message');
  const nonce = tagValue(item.tags, 'Nonce');
  if (processId === undefined || messageId === undefined || nonce === undefined || !/^\d{1,15}$/.test(nonce)) {
    throw new Rejected(`${what} lacks its Process, Message or Nonce tag`);
  }
  return { id: item.id, signer: ownerAddress(item), processId, messageId, slot: Number(nonce) };
}

/** An assignment by `host` for `processId`. */
export function hostAssignment(item: ParsedDataItem, processId: string, host: string, what = 'the assignment'): Assignment {
  const a = readAssignment(item, what);
  if (a.processId !== processId) throw new Rejected(`${what} is for process ${a.processId}, not ${processId}`);
  if (a.signer !== host) throw new Rejected(`${what} is signed by ${a.signer}, not by the process's SU ${host}`);
  return a;
}

/** Two assignments of `host` for one process and slot naming different messages: the proof. */
export function doubleAssignment(items: [ParsedDataItem, ParsedDataItem], processId: string, host: string): { slot: number; kept: Assignment; other: Assignment } {
  const a = hostAssignment(items[0], processId, host, 'assignment 1');
  const b = hostAssignment(items[1], processId, host, 'assignment 2');
  if (a.slot !== b.slot) throw new Rejected(`the assignments are for different slots (${a.slot} and ${b.slot}): no double assignment`);
  if (a.messageId === b.messageId) throw new Rejected(`both assignments name message ${a.messageId}: no double assignment`);
  // The first submitted (the first in the evidence) is the one kept at the slot.
  return { slot: a.slot, kept: a, other: b };
}

/** Whether stored assignment bytes are a valid assignment of `host` for message `messageId`. */
export async function isHostAssignment(raw: Uint8Array, processId: string, host: string, messageId: string): Promise<boolean> {
  if (!(await verifyDataItem(raw))) return false;
  try {
    const a = hostAssignment(parseDataItem(raw), processId, host);
    return a.messageId === messageId;
  } catch {
    return false;
  }
}
