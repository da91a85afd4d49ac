/**
 * ANS-104 data items: sign, parse, verify.
 *
 * Layout: sigType u16le | signature | owner | target? (1 + 32) | anchor? (1 + 32) |
 * tag count u64le | tag bytes u64le | tags (Avro) | data. The id is base64url(sha256(signature)).
 *
 * Signing off the event loop: `signDataItem(key, fields)` depends only on its arguments, both
 * plain JSON (a string or Uint8Array for data), so a worker thread can run it as is —
 * `parentPort.on('message', async ({ key, fields }) => { const { id, raw } = await
 * signDataItem(key, fields); parentPort.postMessage({ id, raw }, [raw.buffer]) })` — with the
 * wallet built once per worker (walletFromKey memoises per key object). RSA-4096 signing costs
 * milliseconds of CPU per item; that is what a pool of such workers would spread across cores.
 */
import { createHash } from 'node:crypto';
import { createData, SIG_CONFIG, type Signer } from '@dha-team/arbundles';
import { dataItemSignatureData } from './deep-hash.js';
import { InvalidDataItem } from './errors.js';
import { addressFromOwner, b64url, verifySignature, type WalletKey } from './keys.js';
import { ITEM_LIMITS, SUPPORTED_SIGNATURE_TYPES, supportedSignatureTypes } from './limits.js';
import { checkTagsToSign, decodeTags, type Tag } from './tags.js';
import { walletFromKey } from './wallet.js';

export interface DataItemFields {
  data: string | Uint8Array;
  tags?: Tag[];
  /** base64url of 32 bytes (a process id, for a message). */
  target?: string;
  /** exactly 32 bytes: a string is taken as UTF-8 (as arbundles and aoconnect do). */
  anchor?: string | Uint8Array;
}

export interface SignedDataItem {
  id: string;
  raw: Uint8Array;
}

export interface ParsedDataItem {
  /** base64url(sha256(signature)) */
  id: string;
  /** base64url of the owner public key bytes */
  owner: string;
  /** base64url */
  signature: string;
  signatureType: number;
  /** base64url of the 32 target bytes, when present */
  target?: string;
  /**
   * The anchor as text, when present and valid UTF-8: the form aoconnect writes and the
   * reference SU returns (it returns null for a non-UTF-8 anchor). `rawAnchor` has the bytes.
   */
  anchor?: string;
  rawAnchor?: Uint8Array;
  tags: Tag[];
  /** A view into `raw`. */
  data: Uint8Array;
  /** The item's bytes as given (not copied). */
  raw: Uint8Array;
}

export async function createDataItem(fields: DataItemFields, wallet: { signer: Signer }): Promise<SignedDataItem> {
  const { data, opts, tagBytes } = checkFields(fields);
  const s = wallet.signer;
  const size =
    2 + s.signatureLength + s.ownerLength + (opts.target ? 33 : 1) + (opts.anchor !== undefined ? 33 : 1) + 16 + tagBytes +
    (typeof data === 'string' ? Buffer.byteLength(data) : data.length);
  checkItemSize(size);
  const item = createData(data, wallet.signer, opts);
  await item.sign(wallet.signer);
  return { id: item.id, raw: item.getRaw() };
}

/** `createDataItem` as a function of plain values: what a signing worker thread runs. */
export function signDataItem(key: WalletKey, fields: DataItemFields): Promise<SignedDataItem> {
  return createDataItem(fields, walletFromKey(key));
}

function checkFields(fields: DataItemFields) {
  const { data, tags = [], target, anchor } = fields;
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new InvalidDataItem('bad-data', 'data must be a string or a Uint8Array');
  }
  const tagBytes = checkTagsToSign(tags);
  if (target !== undefined && !isId(target)) {
    throw new InvalidDataItem('bad-target', `target must be an id (32 bytes as 43 base64url characters), got '${String(target)}'`);
  }
  if (anchor !== undefined) {
    const bytes = typeof anchor === 'string' ? Buffer.byteLength(anchor) : anchor instanceof Uint8Array ? anchor.length : -1;
    if (bytes !== 32) throw new InvalidDataItem('bad-anchor', `anchor must be exactly 32 bytes, got ${bytes}`);
  }
  return {
    data,
    tagBytes,
    opts: {
      tags,
      ...(target !== undefined ? { target } : {}),
      // arbundles writes Buffer.from(anchor): a Uint8Array passes through byte for byte.
      ...(anchor !== undefined ? { anchor: anchor as string } : {}),
    },
  };
}

/**
 * An item this node makes or accepts from a client is at most ITEM_LIMITS.maxItemBytes. (Parsing
 * does not check it: a module's binary, loaded from elsewhere, may be larger.)
 */
export function checkItemSize(bytes: number): void {
  if (bytes > ITEM_LIMITS.maxItemBytes) {
    throw new InvalidDataItem('too-large', `the item is ${bytes} bytes; the limit is ${ITEM_LIMITS.maxItemBytes}`);
  }
}

/** 43 characters of canonical base64url for 32 bytes (what decodes and re-encodes unchanged). */
function isId(s: unknown): s is string {
  return typeof s === 'string' && s.length === 43 && Buffer.from(s, 'base64url').toString('base64url') === s;
}

interface Layout {
  signatureType: number;
  signature: Buffer;
  owner: Buffer;
  target?: Buffer;
  anchor?: Buffer;
  tagCount: number;
  tagBytes: Buffer;
  data: Buffer;
}

/** Reads the layout, checking every length against the buffer before touching the bytes. */
function readLayout(raw: Buffer): Layout {
  const need = (end: number, what: string) => {
    if (end > raw.length) throw new InvalidDataItem('truncated', `${raw.length} bytes end before the ${what} (needs ${end})`);
  };
  need(2, 'signature type');
  const signatureType = raw.readUInt16LE(0);
  const config = (SIG_CONFIG as Record<number, { sigLength: number; pubLength: number } | undefined>)[signatureType];
  if (!config) throw new InvalidDataItem('unknown-signature-type', `unknown signature type ${signatureType}; this node accepts ${supportedSignatureTypes()}`);
  if (!SUPPORTED_SIGNATURE_TYPES.has(signatureType)) {
    throw new InvalidDataItem('unsupported-signature-type', `unsupported signature type ${signatureType}; this node accepts ${supportedSignatureTypes()}`);
  }
  let pos = 2;
  const take = (n: number, what: string) => {
    need(pos + n, what);
    const bytes = raw.subarray(pos, pos + n);
    pos += n;
    return bytes;
  };
  const optional32 = (what: string) => {
    const flag = take(1, `${what} presence byte`)[0];
    if (flag === 0) return undefined;
    if (flag !== 1) throw new InvalidDataItem('bad-presence-byte', `${what} presence byte is ${flag}, not 0 or 1`);
    return take(32, what);
  };
  const signature = take(config.sigLength, 'signature');
  const owner = take(config.pubLength, 'owner');
  const target = optional32('target');
  const anchor = optional32('anchor');
  const counts = take(16, 'tag counts');
  const tagCount = counts.readBigUInt64LE(0);
  const tagByteCount = counts.readBigUInt64LE(8);
  if (tagCount > ITEM_LIMITS.maxTags) {
    throw new InvalidDataItem('too-many-tags', `header declares ${tagCount} tags; ANS-104 allows at most ${ITEM_LIMITS.maxTags}`);
  }
  if (tagByteCount > ITEM_LIMITS.maxTagBytes) {
    throw new InvalidDataItem('tags-too-large', `header declares ${tagByteCount} tag bytes; the limit is ${ITEM_LIMITS.maxTagBytes}`);
  }
  const tagBytes = take(Number(tagByteCount), 'tags');
  return {
    signatureType,
    signature,
    owner,
    ...(target ? { target } : {}),
    ...(anchor ? { anchor } : {}),
    tagCount: Number(tagCount),
    tagBytes,
    data: raw.subarray(pos),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Layout plus decoded tags: everything about the bytes short of the signature. */
function checkedLayout(raw: Buffer): { l: Layout; tags: Tag[] } {
  const l = readLayout(raw);
  if (l.tagCount > 0 && l.tagBytes.length === 0) {
    throw new InvalidDataItem('tag-count-mismatch', `header declares ${l.tagCount} tags but no tag bytes`);
  }
  return { l, tags: l.tagBytes.length > 0 ? decodeTags(l.tagBytes, l.tagCount) : [] };
}

/** Parses (does not verify) a data item; throws InvalidDataItem saying what is wrong. */
export function parseDataItem(bytes: Uint8Array): ParsedDataItem {
  const { l, tags } = checkedLayout(asBuffer(bytes));
  let anchor: string | undefined;
  if (l.anchor) {
    try {
      anchor = utf8.decode(l.anchor);
    } catch {
      anchor = undefined;
    }
  }
  return {
    id: createHash('sha256').update(l.signature).digest('base64url'),
    owner: b64url(l.owner),
    signature: b64url(l.signature),
    signatureType: l.signatureType,
    ...(l.target ? { target: b64url(l.target) } : {}),
    ...(anchor !== undefined ? { anchor } : {}),
    ...(l.anchor ? { rawAnchor: l.anchor } : {}),
    tags,
    data: l.data,
    raw: bytes,
  };
}

/**
 * Whether the bytes are a well-formed data item of a supported signature type whose signature is
 * valid. Never throws on bad input. Every supported type is checked here against the deep hash
 * (deep-hash.ts, the value arbundles signs), not by arbundles' verifiers.
 */
export async function verifyDataItem(item: Uint8Array | ParsedDataItem): Promise<boolean> {
  let l: Layout;
  try {
    l = checkedLayout(asBuffer(item instanceof Uint8Array ? item : item?.raw)).l;
  } catch (err) {
    if (err instanceof InvalidDataItem) return false;
    throw err;
  }
  try {
    return verifySignature(l.signatureType, l.owner, signatureData(l), l.signature) === true;
  } catch {
    return false;
  }
}

/** The deep hash the item's signature covers (what arbundles' getSignatureData computes). */
function signatureData(l: Layout): Buffer {
  return dataItemSignatureData({
    signatureType: l.signatureType,
    owner: l.owner,
    ...(l.target ? { target: l.target } : {}),
    ...(l.anchor ? { anchor: l.anchor } : {}),
    tagBytes: l.tagBytes,
    data: l.data,
  });
}

/** The value of the first tag named `name`. */
export function tagValue(tags: readonly Tag[], name: string): string | undefined {
  return tags.find((t) => t.name === name)?.value;
}

/** The Arweave address of an item's owner: base64url(sha256(owner bytes)). */
export function ownerAddress(item: Pick<ParsedDataItem, 'owner'>): string {
  return addressFromOwner(Buffer.from(item.owner, 'base64url'));
}

function asBuffer(bytes: unknown): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new InvalidDataItem('not-bytes', 'a data item must be a Uint8Array');
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
