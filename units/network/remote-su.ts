/**
 * Another node's SU over its HTTP API, the reference SU's (units/su/routes.ts has the same):
 * items are POSTed as bytes, logs read as JSON pages by nonce. Its JSON gives each item's parts
 * (units/su/json.ts); they are put back together into data items (ans104/assemble.ts) so that
 * this node's CU reads a remote log as it reads its own. A message is checked against its
 * signature; so is an assignment when its anchor survives the JSON (the reference writes a
 * non-text anchor as null, and then only its id, the hash of its signature, can be checked).
 */
import { assembleDataItem, parseDataItem, tagValue, verifyDataItem, type Tag } from '../ans104/index.js';
import type { ProcessInfo, ScheduledMessage } from '../schedule.js';
import type { MessageInnerJson, MessageJson, PageJson, ProcessJson } from '../su/json.js';
import { boundedText } from './bounded-body.js';

/**
 * Most bytes of one answer: a page is bounded by the SU's page budget (8 MiB of items by
 * default), and its JSON can take a few times that for binary data.
 */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** The SU answered 4xx: the request will not pass as it is. */
export class RemoteRefused extends Error {
  override readonly name = 'RemoteRefused';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The SU could not be reached, or answered 5xx: try again later. */
export class RemoteUnavailable extends Error {
  override readonly name = 'RemoteUnavailable';
}

/** A remote log's entry whose parts are not a valid item. */
export class RemoteMismatch extends Error {
  override readonly name = 'RemoteMismatch';
}

async function call<T>(url: string, init: RequestInit, timeoutMs: number): Promise<T> {
  let r: Response;
  try {
    r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new RemoteUnavailable(`${url} did not answer: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = await boundedText(r, MAX_ANSWER_BYTES);
  } catch (e) {
    throw new RemoteUnavailable(`${url.split('?')[0]}: ${(e as Error).message}`);
  }
  if (r.status >= 400 && r.status < 500) {
    let reason = text.slice(0, 500);
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? reason;
    } catch {
      /* not JSON: the text is the reason */
    }
    throw new RemoteRefused(`${url.split('?')[0]} answered ${r.status}: ${reason}`, r.status);
  }
  if (!r.ok) throw new RemoteUnavailable(`${url.split('?')[0]} answered ${r.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new RemoteUnavailable(`${url.split('?')[0]} answered with no JSON`);
  }
}

const textBytes = (s: string | null | undefined) => (s === null || s === undefined ? undefined : Buffer.from(s, 'utf8'));

/** The data item whose parts the SU gave; checked against its signature where it can be. */
async function itemOf(inner: MessageInnerJson | ProcessJson, id: string, data: string | null, strict: boolean): Promise<Uint8Array> {
  const anchor = textBytes(inner.anchor);
  const raw = assembleDataItem({
    signature: inner.signature ?? '',
    owner: inner.owner.key,
    ...(inner.target ? { target: inner.target } : {}),
    ...(anchor && anchor.length === 32 ? { anchor: anchor.toString('base64url') } : {}),
    tags: inner.tags,
    data: textBytes(data) ?? new Uint8Array(0),
  });
  const item = parseDataItem(raw);
  if (item.id !== id) throw new RemoteMismatch(`item ${id}: its signature hashes to ${item.id}`);
  // A null anchor or data may stand for bytes that are not text (then the signed bytes are not
  // all here, and only the id is checked); anything else must match the signature.
  const whole = inner.anchor !== null && data !== null;
  if (!(await verifyDataItem(item)) && (strict || whole)) throw new RemoteMismatch(`item ${id}: its parts do not match its signature`);
  return raw;
}

const int = (tags: Tag[], name: string) => {
  const v = tagValue(tags, name);
  return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
};

async function entryOf(processId: string, m: MessageJson): Promise<ScheduledMessage> {
  const a = m.assignment;
  const slot = int(a.tags, 'Nonce');
  if (slot === undefined) throw new RemoteMismatch(`assignment ${a.id} has no Nonce`);
  const assignment = await itemOf({ ...a, data: '' } as MessageInnerJson, a.id, '', false);
  const messageId = tagValue(a.tags, 'Message') ?? '';
  const message = m.message ? await itemOf(m.message, m.message.id, m.message.data, false) : null;
  return {
    processId,
    slot,
    assignment,
    assignmentId: a.id,
    message,
    messageId,
    timestamp: int(a.tags, 'Timestamp') ?? 0,
    blockHeight: int(a.tags, 'Block-Height') ?? 0,
    hashChain: tagValue(a.tags, 'Hash-Chain') ?? '',
  };
}

export class RemoteSu {
  constructor(private readonly timeoutMs: number) {}

  /** POSTs a spawn or a message; answers its id and timestamp. */
  post(suUrl: string, raw: Uint8Array): Promise<{ id: string; timestamp: number }> {
    return call(`${suUrl}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw) }, this.timeoutMs);
  }

  /** Assigns message `id` to `processId`; answers the assignment's id. */
  assign(suUrl: string, processId: string, id: string, exclude: string[] = []): Promise<{ id: string; timestamp: number }> {
    const q = new URLSearchParams({ 'process-id': processId, assign: id, ...(exclude.length ? { exclude: exclude.join(',') } : {}) });
    return call(`${suUrl}/?${q}`, { method: 'POST' }, this.timeoutMs);
  }

  /** The log entry of a message or assignment id in `processId`'s log. */
  async entry(suUrl: string, processId: string, id: string): Promise<ScheduledMessage> {
    return entryOf(processId, await call<MessageJson>(`${suUrl}/${id}?process-id=${processId}`, {}, this.timeoutMs));
  }

  /** The spawn, its slot-0 entry and the last slot. */
  async process(suUrl: string, processId: string): Promise<ProcessInfo> {
    const p = await call<ProcessJson>(`${suUrl}/processes/${processId}`, {}, this.timeoutMs);
    const spawn = await itemOf(p, processId, p.data, false);
    const [first] = await this.read(suUrl, processId, 0, 0, 1);
    const latest = await entryOf(processId, await call<MessageJson>(`${suUrl}/${processId}/latest`, {}, this.timeoutMs));
    if (!first) throw new RemoteMismatch(`${suUrl} has no slot 0 of ${processId}`);
    return { processId, spawn, first, lastSlot: latest.slot };
  }

  /** Slots `from`..`to` (inclusive), at most `limit`, one page as the SU pages it. */
  async read(suUrl: string, processId: string, from: number, to: number | undefined, limit: number): Promise<ScheduledMessage[]> {
    const q = new URLSearchParams({ 'from-nonce': String(from - 1), limit: String(limit), ...(to !== undefined ? { 'to-nonce': String(to) } : {}) });
    const page = await call<PageJson>(`${suUrl}/${processId}?${q}`, {}, this.timeoutMs);
    const out: ScheduledMessage[] = [];
    for (const edge of page.edges) {
      const e = await entryOf(processId, edge.node);
      if (e.slot < from || (to !== undefined && e.slot > to)) continue;
      // A gap means the SU skipped a slot: the page is cut there, never read past it.
      if (e.slot !== from + out.length) break;
      out.push(e);
    }
    return out;
  }
}
