/**
 * What the CU does to a module's WebAssembly binary before a process runs it.
 *
 * - Memory-Limit: the binary's own memory section declares the most pages the memory may grow
 *   to (aos: 1088 initial, 8192 maximum = 512 MiB). The CU lowers that maximum to the process's
 *   limit, so a `memory.grow` past it fails inside the module: emscripten's allocator returns
 *   NULL, Lua raises "not enough memory", aos answers with an Error. The limit is enforced by
 *   the engine, not checked after the fact.
 * - Compute-Limit: only the `-metering` formats count gas. For those the binary is metered here
 *   (with the metering library ao-loader itself uses) and ao-loader's gas counter enforces the
 *   limit per message: deterministic, the same on every CU.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';

export const WASM_PAGE = 65536;

/** Module formats this CU evaluates (ao-loader's emscripten4 and wasm64 loaders). */
export const SUPPORTED_FORMATS = [
  'wasm32-unknown-emscripten4',
  'wasm64-unknown-emscripten-draft_2024_02_15',
  'wasm32-unknown-emscripten-metering',
  'wasm64-unknown-emscripten-draft_2024_10_16-metering',
] as const;
export type ModuleFormat = (typeof SUPPORTED_FORMATS)[number];

export const isSupportedFormat = (f: string | undefined): f is ModuleFormat => (SUPPORTED_FORMATS as readonly string[]).includes(f ?? '');
export const isMetered = (f: ModuleFormat) => f.endsWith('-metering');
export const isWasm64 = (f: ModuleFormat) => f.startsWith('wasm64');

let flagged = false;
/** wasm64 modules need this V8 flag (process-wide). bin/aotp.js and the test runner set it too. */
export function enableMemory64(): void {
  if (flagged) return;
  setFlagsFromString('--experimental-wasm-memory64');
  flagged = true;
}

export class InvalidWasm extends Error {
  override readonly name = 'InvalidWasm';
}

export interface MemoryLimits {
  /** Pages the memory starts with. */
  initial: number;
  /** Pages it may grow to (undefined: no maximum declared). */
  maximum: number | undefined;
  memory64: boolean;
}

interface MemorySection {
  /** Byte range of the whole section (id, size, body). */
  start: number;
  end: number;
  flags: number;
  limits: MemoryLimits;
}

function readLeb(b: Uint8Array, pos: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  let p = pos;
  for (;;) {
    if (p >= b.length) throw new InvalidWasm('truncated LEB128 number');
    const x = b[p++]!;
    value |= BigInt(x & 0x7f) << shift;
    shift += 7n;
    if ((x & 0x80) === 0) break;
    if (shift > 70n) throw new InvalidWasm('LEB128 number too long');
  }
  return { value, next: p };
}

function writeLeb(v: bigint): number[] {
  const out: number[] = [];
  let x = v;
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) byte |= 0x80;
    out.push(byte);
  } while (x !== 0n);
  return out;
}

function findMemorySection(b: Uint8Array): MemorySection | undefined {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) throw new InvalidWasm('not a WebAssembly binary');
  let p = 8;
  while (p < b.length) {
    const start = p;
    const id = b[p++]!;
    const size = readLeb(b, p);
    p = size.next;
    const end = p + Number(size.value);
    if (end > b.length) throw new InvalidWasm(`section ${id} runs past the end of the binary`);
    if (id === 5) {
      const count = readLeb(b, p);
      if (count.value !== 1n) throw new InvalidWasm(`expected one memory, found ${count.value}`);
      let q = count.next;
      const flags = b[q++]!;
      const initial = readLeb(b, q);
      q = initial.next;
      let maximum: bigint | undefined;
      if (flags & 1) {
        const m = readLeb(b, q);
        maximum = m.value;
        q = m.next;
      }
      return {
        start,
        end,
        flags,
        limits: { initial: Number(initial.value), maximum: maximum === undefined ? undefined : Number(maximum), memory64: (flags & 4) !== 0 },
      };
    }
    p = end;
  }
  return undefined;
}

/** The memory a binary declares (undefined when it imports its memory or has none). */
export function memoryLimits(binary: Uint8Array): MemoryLimits | undefined {
  return findMemorySection(binary)?.limits;
}

/**
 * The binary with its memory's maximum lowered to `maxPages` (never raised). Throws when the
 * module needs more pages than that to start.
 */
export function withMemoryMaximum(binary: Uint8Array, maxPages: number): Uint8Array {
  const sec = findMemorySection(binary);
  if (!sec) throw new InvalidWasm('the module declares no memory of its own; Memory-Limit cannot be applied');
  const { initial, maximum } = sec.limits;
  if (maxPages < initial) {
    throw new InvalidWasm(`Memory-Limit allows ${maxPages} pages but the module starts with ${initial} (${(initial * WASM_PAGE) / 2 ** 20} MiB)`);
  }
  const max = maximum === undefined ? maxPages : Math.min(maximum, maxPages);
  if (max === maximum) return binary;
  const body = [...writeLeb(1n), sec.flags | 1, ...writeLeb(BigInt(initial)), ...writeLeb(BigInt(max))];
  const section = Uint8Array.from([5, ...writeLeb(BigInt(body.length)), ...body]);
  const out = new Uint8Array(binary.length - (sec.end - sec.start) + section.length);
  out.set(binary.subarray(0, sec.start), 0);
  out.set(section, sec.start);
  out.set(binary.subarray(sec.end), sec.start + section.length);
  return out;
}

type MeterFn = (binary: Uint8Array, opts: { meterType: 'i32' | 'i64' }) => Uint8Array;
let meter: MeterFn | undefined;

/** Gas metering injected as ao-loader does for the `-metering` formats. */
export function metered(binary: Uint8Array, format: ModuleFormat): Uint8Array {
  if (!meter) {
    // The metering library is ao-loader's own dependency; resolve it from there.
    const loader = createRequire(import.meta.url).resolve('@permaweb/ao-loader');
    meter = (createRequire(loader)('@permaweb/wasm-metering') as { meterWASM: MeterFn }).meterWASM;
  }
  const out = meter(Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength), { meterType: isWasm64(format) ? 'i64' : 'i32' });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The binary a process runs: memory maximum from its Memory-Limit, metered if its format says so. */
export function prepareBinary(binary: Uint8Array, format: ModuleFormat, memoryLimitBytes: number): Uint8Array {
  const maxPages = Math.floor(memoryLimitBytes / WASM_PAGE);
  const limited = withMemoryMaximum(binary, maxPages);
  return isMetered(format) ? metered(limited, format) : limited;
}
