/**
 * Which 64 KiB pages of a WebAssembly memory this process has ever touched, asked of the kernel
 * (Linux's /proc/self/pagemap) instead of read: a page never touched is zero, and reading it to
 * find that out costs a page fault per 4 KiB and makes it resident (~0.9 s and +105 MiB of RSS
 * for the 105 MiB memory of an aos process that wrote 2 MiB of it, on the machines measured).
 *
 * The memory's address is found among the process's mappings (/proc/self/maps) by writing a
 * random marker into the memory and reading it back through /proc/self/mem at each candidate
 * (the marker's bytes are put back at once; nothing else runs on this thread meanwhile). A page
 * counts as touched when any of its 4 KiB pages is present or swapped; one that is neither was
 * never written (anonymous memory is only dropped to swap), so it is zero.
 *
 * Anything unexpected (another OS, no /proc, a mapping not found) answers undefined: the caller
 * then reads every page, as before.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const PAGE = 65536;
const OS_PAGE = 4096;
const PER_PAGE = PAGE / OS_PAGE;
/** Bits 63 (present) and 62 (swapped) of an entry, in its upper 32-bit half. */
const PRESENT_OR_SWAPPED = 0xc0000000;

/** Addresses found before, by memory (a memory that grows in place keeps its address). */
const known = new WeakMap<ArrayBuffer, bigint>();
let unsupported = process.platform !== 'linux';

function readAt(file: string, position: bigint, length: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const out = Buffer.alloc(length);
    const n = readSync(fd, out, 0, length, position);
    return n === length ? out : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Where `heap` (a view of the whole memory) is mapped: checked by a marker written into it. */
function addressOf(heap: Uint8Array): bigint | undefined {
  const buffer = heap.buffer as ArrayBuffer;
  const size = BigInt(heap.byteLength);
  const saved = Buffer.from(heap.subarray(0, 8));
  const marker = randomBytes(8);
  heap.set(marker, 0);
  try {
    const seen = (at: bigint) => readAt('/proc/self/mem', at, 8)?.equals(marker) === true;
    const cached = known.get(buffer);
    if (cached !== undefined && seen(cached)) return cached;
    for (const line of readFileSync('/proc/self/maps', 'latin1').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m) continue;
      const start = BigInt(`0x${m[1]}`);
      const end = BigInt(`0x${m[2]}`);
      if (end - start < size) continue;
      for (const at of [start, end - size]) {
        if (seen(at)) {
          known.set(buffer, at);
          return at;
        }
      }
    }
    return undefined;
  } finally {
    heap.set(saved, 0);
  }
}

/**
 * One flag per 64 KiB page of `heap` (a view of the whole memory): 1 when the page may hold
 * non-zero bytes, 0 when it was never touched (so is zero). Undefined when this cannot be told.
 */
export function touchedPages(heap: Uint8Array): Uint8Array | undefined {
  if (unsupported) return undefined;
  if (heap.byteOffset !== 0 || heap.byteLength % PAGE !== 0) return undefined;
  const at = addressOf(heap);
  if (at === undefined) {
    // No /proc here (or not readable): do not try again on every snapshot.
    if (readAt('/proc/self/pagemap', 0n, 8) === undefined) unsupported = true;
    return undefined;
  }
  const pages = heap.byteLength / PAGE;
  const entries = readAt('/proc/self/pagemap', (at / BigInt(OS_PAGE)) * 8n, pages * PER_PAGE * 8);
  if (!entries) return undefined;
  const out = new Uint8Array(pages);
  for (let p = 0; p < pages; p++) {
    for (let k = 0; k < PER_PAGE; k++) {
      if (entries.readUInt32LE((p * PER_PAGE + k) * 8 + 4) & PRESENT_OR_SWAPPED) {
        out[p] = 1;
        break;
      }
    }
  }
  return out;
}
