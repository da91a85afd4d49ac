/**
 * The JetStream model's KV buckets and object stores (runtime/sim/jetstream.ts), as nats.js'
 * `js.views.kv` and `js.views.os` show them: a bucket is a stream `KV_<bucket>` of subjects
 * `$KV.<bucket>.<key>` (revision = sequence; DEL and PURGE are markers), an object store a map
 * of named blobs. Every call is one request to the model (latency, faults).
 */
import { headers, type NatsError } from 'nats';
import type { SimNatsConnection, StoredView } from './jetstream.js';

/** A KV entry as nats.js' KvEntry shows it. */
export interface SimKvEntry {
  bucket: string;
  key: string;
  value: Uint8Array;
  revision: number;
  created: Date;
  operation: 'PUT' | 'DEL' | 'PURGE';
  length: number;
  delta: number;
  string(): string;
  json<T>(): T;
}

export class SimKv {
  private readonly stream: string;

  constructor(
    private readonly c: SimNatsConnection,
    readonly bucket: string,
    private readonly timeout: number,
  ) {
    this.stream = `KV_${bucket}`;
  }

  private subject(key: string): string {
    return `$KV.${this.bucket}.${key}`;
  }

  private entry(m: StoredView, key: string): SimKvEntry {
    const op = (m.header.get('KV-Operation') || 'PUT') as SimKvEntry['operation'];
    return {
      bucket: this.bucket,
      key,
      value: m.data,
      revision: m.seq,
      created: m.time,
      operation: op,
      length: m.data.length,
      delta: 0,
      string: () => new TextDecoder().decode(m.data),
      json: <T>() => JSON.parse(new TextDecoder().decode(m.data)) as T,
    };
  }

  get(key: string, o: { revision?: number } = {}): Promise<SimKvEntry | null> {
    const { js, owner } = this.c;
    return js.request(owner, this.timeout, `kv get ${key}`, () => {
      try {
        const m = o.revision !== undefined ? js.getMessage(this.stream, { seq: o.revision }) : js.getMessage(this.stream, { last_by_subj: this.subject(key) });
        if (m.subject !== this.subject(key)) return null;
        return this.entry(m, key);
      } catch (e) {
        if ((e as NatsError).code === '404') return null;
        throw e;
      }
    });
  }

  private write(key: string, data: Uint8Array, o: { expected?: number; op?: 'DEL' | 'PURGE' } = {}): Promise<number> {
    const { js, owner } = this.c;
    const h = headers();
    if (o.expected !== undefined) h.set('Nats-Expected-Last-Subject-Sequence', String(o.expected));
    if (o.op) h.set('KV-Operation', o.op);
    if (o.op === 'PURGE') h.set('Nats-Rollup', 'sub');
    return js.request(owner, this.timeout, `kv ${o.op ?? 'put'} ${key}`, () => js.publish(this.subject(key), data, h).seq);
  }

  put(key: string, data: Uint8Array, o: { previousSeq?: number } = {}): Promise<number> {
    return this.write(key, data, o.previousSeq !== undefined ? { expected: o.previousSeq } : {});
  }

  async create(key: string, data: Uint8Array): Promise<number> {
    try {
      return await this.write(key, data, { expected: 0 });
    } catch (e) {
      // As nats.js: a key whose last entry is a delete or a purge may be created again.
      const cur = await this.get(key);
      if (cur && cur.operation !== 'PUT') return this.write(key, data, { expected: cur.revision });
      throw e;
    }
  }

  update(key: string, data: Uint8Array, version: number): Promise<number> {
    return this.write(key, data, { expected: version });
  }

  delete(key: string): Promise<void> {
    return this.write(key, new Uint8Array(0), { op: 'DEL' }).then(() => undefined);
  }

  purge(key: string): Promise<void> {
    return this.write(key, new Uint8Array(0), { op: 'PURGE' }).then(() => undefined);
  }

  async keys(): Promise<AsyncIterable<string>> {
    const { js, owner } = this.c;
    const prefix = `$KV.${this.bucket}.`;
    const keys = await js.request(owner, this.timeout, 'kv keys', () => {
      const s = js.stream(this.stream);
      const out: string[] = [];
      for (const subject of [...s.bySubject.keys()].sort()) {
        const m = s.lastOf(subject)!;
        if ((m.header?.get('KV-Operation') || 'PUT') === 'PUT') out.push(subject.slice(prefix.length));
      }
      return out;
    });
    return (async function* () {
      yield* keys;
    })();
  }
}

export class SimObjectStore {
  constructor(
    private readonly c: SimNatsConnection,
    readonly bucket: string,
    private readonly timeout: number,
  ) {}

  private get objects() {
    return this.c.js.objects.get(this.bucket)!;
  }

  putBlob(meta: { name: string; description?: string }, data: Uint8Array | null) {
    const { js, owner } = this.c;
    return js.request(owner, this.timeout, `os put ${meta.name}`, () => {
      const bytes = data ? Uint8Array.from(data) : new Uint8Array(0);
      const info = { bucket: this.bucket, name: meta.name, description: meta.description ?? '', size: bytes.length, mtime: new Date(js.wall()).toISOString(), deleted: false };
      this.objects.set(meta.name, { info, data: bytes });
      return { ...info };
    });
  }

  getBlob(name: string): Promise<Uint8Array | null> {
    const { js, owner } = this.c;
    return js.request(owner, this.timeout, `os get ${name}`, () => {
      const o = this.objects.get(name);
      return o && !o.info.deleted && o.data ? Uint8Array.from(o.data) : null;
    });
  }

  info(name: string) {
    const { js, owner } = this.c;
    return js.request(owner, this.timeout, `os info ${name}`, () => {
      const o = this.objects.get(name);
      return o ? { ...o.info } : null;
    });
  }

  delete(name: string) {
    const { js, owner } = this.c;
    return js.request(owner, this.timeout, `os delete ${name}`, () => {
      const o = this.objects.get(name);
      if (o) this.objects.set(name, { info: { ...o.info, deleted: true, size: 0 }, data: undefined });
      return { success: true, purged: o ? 1 : 0 };
    });
  }
}
