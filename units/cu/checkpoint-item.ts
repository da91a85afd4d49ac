/**
 * State attestations (paper 3.4): a checkpoint of a process signed by the CU that made it, so
 * that another CU can start from it instead of replaying the log, if it trusts the signer. An
 * ANS-104 item, no target, anchor; tags
 *
 *   Data-Protocol=ao, Variant=ao.TN.1, Type=Checkpoint, Process, Slot, Cron (-1: none after the
 *   slot), Module, Timestamp, Block-Height (of the slot), Memory-Hash, Memory-Size, Codec,
 *   Page-Count
 *
 * and as data the image (protocol.ts MemoryImage): the page indices (u32 LE, Page-Count of them)
 * then the pages, compressed with Codec. A reader checks the signature, that the signer is one
 * of its trusted CUs, and that the pages hash to Memory-Hash, before it keeps anything.
 */
import { ownerAddress, parseDataItem, signDataItem, tagValue, verifyDataItem, type WalletKey } from '../ans104/index.js';
import type { CheckpointRecord } from './store.js';
import { checksumOf, decompress, memoryHash, PAGE } from './worker/memory-image.js';
import type { Codec } from './worker/protocol.js';

/** Why a checkpoint item is not taken; `status` is the HTTP answer. */
export class InvalidCheckpoint extends Error {
  override readonly name = 'InvalidCheckpoint';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function signCheckpoint(key: WalletKey, c: CheckpointRecord): Promise<Uint8Array> {
  const img = c.image;
  const tags = [
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Variant', value: 'ao.TN.1' },
    { name: 'Type', value: 'Checkpoint' },
    { name: 'Process', value: c.processId },
    { name: 'Slot', value: String(c.slot) },
    { name: 'Cron', value: String(c.cron ?? -1) },
    { name: 'Module', value: c.moduleId },
    { name: 'Timestamp', value: String(c.timestamp) },
    { name: 'Block-Height', value: String(c.blockHeight) },
    { name: 'Memory-Hash', value: img.memoryHash },
    { name: 'Memory-Size', value: String(img.size) },
    { name: 'Codec', value: img.codec },
    { name: 'Page-Count', value: String(img.pages.byteLength / 4) },
  ];
  return (await signDataItem(key, { data: Buffer.concat([img.pages, img.data]), tags })).raw;
}

const int = (v: string | undefined, what: string, min = 0): number => {
  const n = Number(v);
  if (v === undefined || !/^-?[0-9]{1,15}$/.test(v) || n < min) throw new InvalidCheckpoint(`${what} must be an integer ≥ ${min}, got '${String(v).slice(0, 32)}'`);
  return n;
};

/**
 * The checkpoint record an item holds, once its signature, its signer (one of `trusted`) and its
 * memory hash check out. `now` stamps it as kept here.
 */
export async function readCheckpoint(raw: Uint8Array, trusted: readonly string[], now: number): Promise<CheckpointRecord> {
  let item;
  try {
    item = parseDataItem(raw);
  } catch (e) {
    throw new InvalidCheckpoint(`not a data item: ${(e as Error).message}`);
  }
  if (!(await verifyDataItem(item))) throw new InvalidCheckpoint(`the signature of checkpoint ${item.id} does not verify`);
  const t = (name: string) => tagValue(item.tags, name);
  if (t('Type') !== 'Checkpoint') throw new InvalidCheckpoint(`item ${item.id} is not a checkpoint (Type=${t('Type') ?? 'none'})`);
  const signer = ownerAddress(item);
  if (!trusted.includes(signer)) throw new InvalidCheckpoint(`checkpoint ${item.id} is signed by ${signer}, not by a CU this one trusts (cu.trustedCus)`, 403);
  const processId = t('Process') ?? '';
  const moduleId = t('Module') ?? '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(processId) || !/^[A-Za-z0-9_-]{43}$/.test(moduleId)) throw new InvalidCheckpoint('Process and Module must be ids');
  const codec = t('Codec') as Codec;
  if (codec !== 'none' && codec !== 'gzip' && codec !== 'brotli') throw new InvalidCheckpoint(`Codec must be none, gzip or brotli, got '${String(codec).slice(0, 32)}'`);
  const size = int(t('Memory-Size'), 'Memory-Size', PAGE);
  const count = int(t('Page-Count'), 'Page-Count');
  if (size % PAGE !== 0 || item.data.length < count * 4) throw new InvalidCheckpoint('Memory-Size or Page-Count does not fit the data');
  const pages = Uint8Array.from(item.data.subarray(0, count * 4));
  const data = Uint8Array.from(item.data.subarray(count * 4));
  const indices = new Uint32Array(pages.buffer);
  let plain: Buffer;
  try {
    plain = decompress(codec, data);
  } catch (e) {
    throw new InvalidCheckpoint(`the pages do not decompress: ${(e as Error).message}`);
  }
  if (plain.length !== count * PAGE || indices.some((p, k) => p * PAGE >= size || (k > 0 && p <= indices[k - 1]!))) throw new InvalidCheckpoint('the pages do not fit Page-Count and Memory-Size');
  const hash = memoryHash(size, indices, (k) => plain.subarray(k * PAGE, (k + 1) * PAGE));
  if (hash !== t('Memory-Hash')) throw new InvalidCheckpoint(`the pages hash to ${hash}, not to the Memory-Hash ${t('Memory-Hash')} the checkpoint names`);
  return {
    processId,
    slot: int(t('Slot'), 'Slot'),
    cron: int(t('Cron'), 'Cron', -1),
    moduleId,
    timestamp: int(t('Timestamp'), 'Timestamp'),
    blockHeight: int(t('Block-Height'), 'Block-Height'),
    createdAt: now,
    image: { v: 1, codec, size, pages, data, checksum: checksumOf(pages, data), memoryHash: hash, nonZeroPages: count },
  };
}
