/**
 * The reference SU's JSON shapes (servers/su/src/domain/core/json.rs; serde names, snake_case):
 *
 *   Owner           { address, key }                  key: base64url owner, address: sha256 of it
 *   Tag             { name, value }
 *   MessageInner    { id, owner, data, tags, signature, anchor, target }
 *   AssignmentInner { id, owner, tags, signature, anchor, target }
 *   Message         { message: MessageInner | null, assignment: AssignmentInner }
 *   ProcessInner    { process_id, block, owner, tags, timestamp, data, anchor, signature, target }
 *   Page            { page_info: { has_next_page }, edges: [{ node: Message, cursor }] }
 *                   (and, when this SU publishes its logs, `published: { through, backlog }`)
 *
 * data and anchor are the bytes as UTF-8 text, null when they are not valid UTF-8; target is
 * "" when absent for messages and assignments, null for a process. `message` is null for a
 * slot of the assign flow, as the reference stores only the assignment for it.
 */
import { addressFromOwner, parseDataItem, tagValue, type ParsedDataItem, type Tag } from '../ans104/index.js';
import type { Page, SuEntry } from './reader.js';

export interface OwnerJson {
  address: string;
  key: string;
}
export interface MessageInnerJson {
  id: string;
  owner: OwnerJson;
  data: string | null;
  tags: Tag[];
  signature: string;
  anchor: string | null;
  target: string | null;
}
export type AssignmentInnerJson = Omit<MessageInnerJson, 'data'>;
export interface MessageJson {
  message: MessageInnerJson | null;
  assignment: AssignmentInnerJson;
}
export interface ProcessJson {
  process_id: string;
  block: string;
  owner: OwnerJson;
  tags: Tag[];
  timestamp: number;
  data: string | null;
  anchor: string | null;
  signature: string | null;
  target: string | null;
}
export interface PageJson {
  page_info: { has_next_page: boolean };
  edges: { node: MessageJson; cursor: string }[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

function owner(item: ParsedDataItem): OwnerJson {
  return { address: addressFromOwner(Buffer.from(item.owner, 'base64url')), key: item.owner };
}

export function messageInner(item: ParsedDataItem): MessageInnerJson {
  return {
    id: item.id,
    owner: owner(item),
    data: text(item.data),
    tags: item.tags,
    signature: item.signature,
    anchor: item.anchor ?? null,
    target: item.target ?? '',
  };
}

export function assignmentInner(item: ParsedDataItem): AssignmentInnerJson {
  return {
    id: item.id,
    owner: owner(item),
    tags: item.tags,
    signature: item.signature,
    anchor: item.anchor ?? null,
    target: item.target ?? '',
  };
}

export function messageJson(e: SuEntry): MessageJson {
  const assignment = assignmentInner(parseDataItem(e.assignment));
  const message = e.kind === 'assign' || e.message === null ? null : messageInner(parseDataItem(e.message));
  return { message, assignment };
}

/** The process as `GET /processes/:id` returns it: its spawn item and its slot-0 assignment. */
export function processJson(spawn: Uint8Array, first: { assignment: Uint8Array; timestamp: number }): ProcessJson {
  const item = parseDataItem(spawn);
  const a = parseDataItem(first.assignment);
  return {
    process_id: item.id,
    block: tagValue(a.tags, 'Block-Height') ?? '',
    owner: owner(item),
    tags: item.tags,
    timestamp: Number(tagValue(a.tags, 'Timestamp') ?? first.timestamp),
    data: text(item.data),
    anchor: item.anchor ?? null,
    signature: item.signature,
    target: item.target ?? null,
  };
}

const edgeJson = (page: Page, e: SuEntry): PageJson['edges'][number] => ({ node: messageJson(e), cursor: String(page.mode === 'nonce' ? e.slot : e.timestamp) });

/**
 * A page (PageJson) as JSON text in parts, one per edge: a page is bounded in item bytes, but JSON
 * can take up to six characters for one byte of data (`\u0001`), and a whole page in one string
 * could pass the longest string V8 makes. Built before anything is sent, so an entry that does
 * not serialise is still an error answer.
 */
export function pageJsonParts(page: Page, extra?: Record<string, unknown>): string[] {
  const parts = [`{"page_info":${JSON.stringify({ has_next_page: page.hasNextPage })},"edges":[`];
  page.entries.forEach((e, i) => parts.push((i ? ',' : '') + JSON.stringify(edgeJson(page, e))));
  // Fields past the reference's (such as `published`) follow its two, which clients read alone.
  parts.push(']' + Object.entries(extra ?? {}).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('') + '}');
  return parts;
}
