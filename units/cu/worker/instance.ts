/**
 * One AO process's WebAssembly instance and the operations on it (protocol.ts names them), as
 * an evaluator thread (evaluator.ts) serves them. It imports node: modules and ao-loader only,
 * so that a thread starts in tens of ms.
 *
 * The instance is created through emscripten's `instantiateWasm` hook, so this thread holds the
 * WebAssembly.Memory and the module's exports, and `preRun` hands over the emscripten Module
 * (its HEAPU8 and resizeHeap). With ao-loader's UNSAFE_MEMORY and a null buffer on every call,
 * a message costs no copy of the memory; the memory is only read for a checkpoint, a dry-run's
 * undo record or a hash, and written only to restore a checkpoint.
 *
 * Memory images (checkpoints) hold the non-zero 64 KiB pages only: an aos process's ~105 MiB
 * memory is mostly pages the module never wrote. Restoring writes those pages into a fresh
 * instance grown to exactly the image's size, so the restored memory is byte-identical. Pages
 * this thread never touched are known zero without reading them (touched-pages.ts).
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { AoEnv, AoMessage, EvalOutput } from '../message.js';
import { checksumOf, decompress, memoryHash, PAGE } from './memory-image.js';
import type { Codec, DryRunValue, EvalValue, MemoryImage, WorkerOp, WorkerOps } from './protocol.js';
import { touchedPages } from './touched-pages.js';

/** ao-loader's handle: (memory or null, message, env) → the module's answer. */
type Handle = (memory: null, msg: AoMessage, env: AoEnv | undefined) => Promise<RawResult>;
type AoLoaderFn = (binary: unknown, options: Record<string, unknown>) => Promise<Handle>;

/** What a module answers, before `shape`. */
interface RawResult {
  Output?: unknown;
  Messages?: unknown[];
  Spawns?: unknown[];
  Assignments?: unknown[];
  Error?: unknown;
  GasUsed?: number;
}

/** The parts of emscripten's Module used here. */
interface Emscripten {
  HEAPU8: Uint8Array;
  resizeHeap(size: number): void;
}

interface Instance {
  handle: Handle;
  em: Emscripten;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  format: string;
  computeLimit: number;
  env: AoEnv | undefined;
  initialPages: number;
  dead: boolean;
  fresh?: number[] | undefined;
}

/** Each operation of protocol.ts, taking its args (and, for a streaming op, `emit`). */
export type InstanceOps = {
  [K in WorkerOp]: (args: WorkerOps[K]['args'], emit: (item: unknown) => void) => WorkerOps[K]['value'] | Promise<WorkerOps[K]['value']>;
};

/** A refusal with a code the process actor acts on (`corrupt`, `dead`, …). */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function text(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

const AoLoader = createRequire(import.meta.url)('@permaweb/ao-loader') as AoLoaderFn;

const ZERO = Buffer.alloc(PAGE);
const OOM_OUTPUT = 'not enough memory for buffer allocation';

const pageView = (h: Uint8Array, p: number) => Buffer.from(h.buffer, h.byteOffset + p * PAGE, PAGE);
const isZero = (h: Uint8Array, p: number) => ZERO.equals(pageView(h, p));

function compress(codec: Codec, data: Buffer, level: number): Buffer {
  if (codec === 'none') return Buffer.from(data);
  if (codec === 'gzip') return zlib.gzipSync(data, { level });
  if (codec === 'brotli') {
    return zlib.brotliCompressSync(data, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    });
  }
  throw new CodedError('bad-codec', `unknown codec ${String(codec)}`);
}



/** The result fields the reference CU keeps, with Output made a string or an object. */
function shape(res: RawResult | undefined): EvalOutput {
  let output = res?.Output ?? '';
  if (typeof output === 'number') output = String(output);
  const result: EvalOutput = {
    Output: output,
    Messages: res?.Messages ?? [],
    Spawns: res?.Spawns ?? [],
    Assignments: res?.Assignments ?? [],
  };
  if (res?.Error !== undefined && res?.Error !== null) result.Error = res.Error;
  if (res?.GasUsed !== undefined) result.GasUsed = res.GasUsed;
  return result;
}

/** Whether the reference CU would discard this message's memory (an Error, or aos's out-of-memory output). */
function discards(res: RawResult | undefined): boolean {
  if (res?.Error) return true;
  const out = res?.Output as { data?: unknown } | string | undefined;
  const s = typeof out === 'string' ? out : typeof out === 'object' && out !== null && typeof out.data === 'string' ? out.data : '';
  return s.endsWith(OOM_OUTPUT);
}

/**
 * Switches between the caller's globals and the instance's, for a caller that shares its thread
 * with the instance (inline.ts): the emscripten glue installs its own Date.now, Math.random, …
 * when an instance is made (`glue` is called then), and the module's code must run with them
 * (`enter`, `leave` around it), as it does in a thread of its own, where they stay installed.
 */
export interface InstanceRealm {
  glue(): void;
  enter(): void;
  leave(): void;
}

/**
 * A holder for one instance at a time and the operations on it. `now` times the operations (the
 * figures they answer, and when evalBatch streams): performance.now in a thread; a clock that
 * does not move while the caller runs, inline. `realm`: see InstanceRealm.
 */
export function createInstanceOps(now: () => number = performance.now.bind(performance), realm?: InstanceRealm): InstanceOps {
  let inst: Instance | null = null;
  /** Set when a message of a batch had its memory discarded or trapped: later batches are refused until the next instantiate. */
  let halted = false;
  const stderr: string[] = [];
  const pushErr = (line: unknown) => {
    stderr.push(String(line));
    if (stderr.length > 20) stderr.shift();
  };

  /**
   * A fresh instance. `noInitialRun` skips the module's main (the memory is about to be replaced
   * by an image anyway); `scanFresh` also answers which pages the fresh instance has written
   * (module data and start-up code), which a restore then has to clear if the image has them zero.
   */
  async function instantiate({ module, format, computeLimit, env, noInitialRun = false, scanFresh = false, fresh: knownFresh }: WorkerOps['instantiate']['args']) {
    inst = null;
    halted = false;
    let em: Emscripten | undefined;
    let memory: WebAssembly.Memory | undefined;
    let failed: ((e: unknown) => void) | undefined;
    const loading = AoLoader(
      (info: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => {
        WebAssembly.instantiate(module, info).then(
          (instance) => {
            memory = instance.exports.memory as WebAssembly.Memory;
            realm?.enter();
            try {
              receive(instance, module);
            } finally {
              realm?.leave();
            }
          },
          (e) => failed?.(e),
        );
        return {};
      },
      {
        format,
        inputEncoding: 'JSON-1',
        outputEncoding: 'JSON-1',
        computeLimit,
        extensions: [],
        UNSAFE_MEMORY: true,
        noInitialRun,
        preRun: [(m: Emscripten) => (em = m)],
        print: () => {},
        printErr: pushErr,
      },
    );
    realm?.glue();
    const handle = await Promise.race([loading, new Promise<never>((_, reject) => (failed = reject))]);
    if (!em || !memory) throw new Error('the module did not start (no emscripten Module or memory)');
    const e: Emscripten = em;
    inst = { handle, em: e, memory, module, format, computeLimit, env, initialPages: e.HEAPU8.length / PAGE, dead: false, fresh: knownFresh };
    if (!scanFresh) return { pages: inst.initialPages };
    const fresh: number[] = [];
    const may = mayHold(e.HEAPU8);
    for (let p = 0; p < inst.initialPages; p++) if (may(p) && !isZero(e.HEAPU8, p)) fresh.push(p);
    inst.fresh = fresh;
    return { pages: inst.initialPages, fresh };
  }

  function live(): Instance {
    if (!inst) throw new CodedError('no-instance', 'no instance: instantiate first');
    if (inst.dead) throw new CodedError('dead', 'the instance trapped; instantiate again');
    return inst;
  }

  const heap = () => live().em.HEAPU8;

  /** Grows the memory to exactly `size` bytes and refreshes emscripten's views of it. */
  function growTo(size: number): void {
    const i = live();
    const current = i.em.HEAPU8.length;
    if (size === current) return;
    if (size < current) throw new CodedError('corrupt', `image of ${size} bytes is smaller than the instance's ${current}`);
    // Growing through the Memory detaches emscripten's views; resizeHeap to the same size then
    // makes it grow by zero pages and rebuild them (its own growth policy would over-allocate).
    i.memory.grow((size - current) / PAGE);
    i.em.resizeHeap(size);
    if (i.em.HEAPU8.length !== size) throw new Error(`memory is ${i.em.HEAPU8.length} bytes after growing to ${size}`);
  }

  // --- scanning and images ------------------------------------------------------------------

  /** Pages of `h` that may be non-zero: the touched ones when that can be told, else all. */
  function mayHold(h: Uint8Array): (p: number) => boolean {
    const touched = touchedPages(h);
    return touched ? (p) => touched[p] === 1 : () => true;
  }

  let scratch = Buffer.alloc(0);
  /** Copies the non-zero pages into a reusable buffer: { size, indices, data (view) }. */
  function collect(h: Uint8Array): { size: number; indices: Uint32Array; data: Buffer } {
    const pages = h.length / PAGE;
    const indices: number[] = [];
    const may = mayHold(h);
    for (let p = 0; p < pages; p++) if (may(p) && !isZero(h, p)) indices.push(p);
    const bytes = indices.length * PAGE;
    if (scratch.length < bytes) scratch = Buffer.alloc(Math.max(bytes, scratch.length * 2));
    for (let k = 0; k < indices.length; k++) pageView(h, indices[k]!).copy(scratch, k * PAGE);
    return { size: h.length, indices: Uint32Array.from(indices), data: scratch.subarray(0, bytes) };
  }

  function snapshot({ codec, level }: WorkerOps['snapshot']['args']): WorkerOps['snapshot']['value'] {
    const t0 = now();
    const c = collect(heap());
    const scanMs = now() - t0;
    const hash = memoryHash(c.size, c.indices, (k) => c.data.subarray(k * PAGE, (k + 1) * PAGE));
    const data = compress(codec, c.data, level);
    const pages = new Uint8Array(c.indices.buffer, c.indices.byteOffset, c.indices.byteLength);
    return {
      v: 1,
      codec,
      size: c.size,
      pages,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      checksum: checksumOf(pages, data),
      memoryHash: hash,
      nonZeroPages: c.indices.length,
      scanMs,
      ms: now() - t0,
    };
  }

  /**
   * Writes an image into a fresh instance: grows the memory to the image's size, writes the
   * image's pages, and clears the pages the instance itself had written that the image has zero.
   * Those are `fresh` when known (the same for every fresh instance of a binary); otherwise every
   * page the instance had before growing is checked (which costs a first touch of each page).
   */
  function writeImage(size: number, indices: ArrayLike<number>, pageAt: (k: number) => Uint8Array, fresh: number[] | undefined): void {
    const i = live();
    const before = i.em.HEAPU8.length / PAGE;
    growTo(size);
    const h = i.em.HEAPU8;
    const total = size / PAGE;
    let k = 0;
    for (let p = 0; p < total; p++) {
      if (k < indices.length && indices[k] === p) pageView(h, p).set(pageAt(k++));
    }
    if (k !== indices.length) throw new CodedError('corrupt', 'page indices out of order or out of range');
    const stored = new Set(Array.from(indices));
    const may = fresh ? () => true : mayHold(h);
    const candidates = fresh ?? Array.from({ length: before }, (_, p) => p);
    for (const p of candidates) {
      // Pages past the old size came from growing: they are zero.
      if (p < before && !stored.has(p) && may(p) && !isZero(h, p)) pageView(h, p).fill(0);
    }
  }

  function restore({ image, fresh }: { image: MemoryImage; fresh?: number[] }): { ms: number } {
    const t0 = now();
    if (image.v !== 1) throw new CodedError('corrupt', `unknown image version ${String(image.v)}`);
    if (checksumOf(image.pages, image.data) !== image.checksum) throw new CodedError('corrupt', 'checksum mismatch');
    if (image.size % PAGE !== 0 || image.pages.byteLength % 4 !== 0) throw new CodedError('corrupt', 'bad image size');
    const indices = new Uint32Array(Uint8Array.from(image.pages).buffer);
    let data: Buffer;
    try {
      data = decompress(image.codec, image.data);
    } catch (e) {
      throw new CodedError('corrupt', `cannot decompress: ${text(e)}`);
    }
    if (data.length !== indices.length * PAGE) throw new CodedError('corrupt', `${data.length} bytes for ${indices.length} pages`);
    writeImage(image.size, indices, (k) => data.subarray(k * PAGE, (k + 1) * PAGE), fresh ?? inst?.fresh);
    return { ms: now() - t0 };
  }

  // --- evaluation -----------------------------------------------------------------------------

  async function run(msg: AoMessage, env: AoEnv | undefined): Promise<EvalValue> {
    const i = live();
    const t0 = now();
    stderr.length = 0;
    try {
      realm?.enter();
      let pending: Promise<RawResult>;
      try {
        pending = i.handle(null, msg, env);
      } finally {
        realm?.leave();
      }
      const res = await pending;
      realm?.leave();
      return { result: shape(res), discard: discards(res), size: i.em.HEAPU8.length, ms: now() - t0 };
    } catch (e) {
      i.dead = true;
      const detail = stderr.length ? ` (${stderr.slice(-3).join(' | ')})` : '';
      return { trap: `${text(e)}${detail}`, ms: now() - t0 };
    }
  }

  /**
   * Evaluates messages one after another, answering each as it is done (`emit`), so the actor can
   * record results while the next runs and knows the thread is alive. Stops after a message whose
   * memory must be discarded (or that trapped): the ones after it would run on the wrong memory;
   * the actor rolls back, which makes a new instance, and sends them again.
   */
  async function evalBatch({ msgs }: { msgs: AoMessage[] }, emit: (item: EvalValue[]) => void) {
    const i = live();
    let count = 0;
    let chunk: EvalValue[] = [];
    let sent = now();
    for (const msg of msgs) {
      if (halted) break;
      const v = await run(msg, i.env);
      chunk.push(v);
      count++;
      if ('trap' in v || v.discard) halted = true;
      // Answers go back a few at a time (one message per ~2 ms of work), not one post per message.
      if (now() - sent >= 2) {
        emit(chunk);
        chunk = [];
        sent = now();
      }
    }
    if (chunk.length) emit(chunk);
    return { count, halted };
  }

  /**
   * Evaluates against the current memory and puts the memory back: pages the message changed are
   * restored from a copy taken before. If the message grew the memory, or trapped, the instance
   * is rebuilt from that copy, so the live memory stays exactly what it was.
   */
  async function dryRun({ msg, env }: { msg: AoMessage; env?: AoEnv }): Promise<DryRunValue> {
    // A view into the scratch buffer, which nothing else uses until this returns.
    const saved = collect(heap());
    const before = live();
    const out = await run(msg, env ?? before.env);
    const t0 = now();
    const pageAt = (k: number) => saved.data.subarray(k * PAGE, (k + 1) * PAGE);
    if ('trap' in out || before.em.HEAPU8.length !== saved.size) {
      await instantiate({ module: before.module, format: before.format, computeLimit: before.computeLimit, env: before.env, noInitialRun: true, fresh: before.fresh });
      writeImage(saved.size, saved.indices, pageAt, before.fresh);
      return { ...out, rebuilt: true, undoMs: now() - t0 };
    }
    const h = before.em.HEAPU8;
    const total = h.length / PAGE;
    const may = mayHold(h);
    let k = 0;
    for (let p = 0; p < total; p++) {
      const view = pageView(h, p);
      if (k < saved.indices.length && saved.indices[k] === p) {
        const page = pageAt(k++);
        if (!view.equals(page)) view.set(page);
      } else if (may(p) && !ZERO.equals(view)) view.fill(0);
    }
    return { ...out, rebuilt: false, undoMs: now() - t0 };
  }

  function hash(): WorkerOps['hash']['value'] {
    const c = collect(heap());
    return { size: c.size, memoryHash: memoryHash(c.size, c.indices, (k) => c.data.subarray(k * PAGE, (k + 1) * PAGE)), nonZeroPages: c.indices.length };
  }

  function memoryCopy(): Uint8Array {
    const h = heap();
    const copy = new Uint8Array(h.length);
    copy.set(h);
    return copy;
  }

  function reset(): null {
    inst = null;
    halted = false;
    stderr.length = 0;
    scratch = Buffer.alloc(0);
    return null;
  }

  return {
    instantiate,
    restore,
    reset,
    eval: ({ msg, env }) => run(msg, env ?? live().env),
    evalBatch,
    dryRun,
    snapshot,
    hash,
    memory: memoryCopy,
  };
}
