/**
 * A model of NATS JetStream (nats-server 2.9) for the simulation, behind the nats.js client
 * interfaces the cluster code uses (`nc.jetstream()`, `nc.jetstreamManager()`, `js.publish`,
 * `jsm.streams.{info,add,getMessage,purge}`, KV buckets and object stores as `js.views`), so
 * that code runs unchanged against it. test/sim/jetstream.contract.test.ts runs one script on
 * the model and on a real nats-server and compares what each answers.
 *
 * What it keeps of JetStream:
 * - streams of subjects (`*`, `>`), sequences, per-subject last sequence, max_msgs_per_subject;
 * - `expect.lastSubjectSequence` refused with err_code 10071 ("wrong last sequence");
 * - `Nats-Msg-Id` deduplication within the stream's duplicate window (checked first: a
 *   duplicate gets the first write's sequence, whatever it expected);
 * - gets by sequence, last by subject, next by subject from a sequence (404, err_code 10037);
 * - KV buckets as streams `KV_<bucket>` of subjects `$KV.<bucket>.<key>` (revision = sequence,
 *   DEL / PURGE markers), object stores keyed by name.
 *
 * What a cluster does to it, chosen by the simulation:
 * - a request takes a seeded latency each way; it is applied on the server when it arrives,
 *   whatever happens to the client after; its answer may be lost (the client times out, yet the
 *   write was stored: what a retry must recognise);
 * - a client cut off from NATS gets no answer (timeout); while the stream has no leader, every
 *   request fails (503) or times out;
 * - `applyLagMs` (R3 on 2.9.10, as measured in this repository): the expected-last-subject-sequence
 *   check sees only writes older than the lag, so two concurrent writes expecting the same entry
 *   may both be stored unless their Nats-Msg-Ids collide.
 */
import { headers, NatsError, type MsgHdrs } from 'nats';
import { SimKv, SimObjectStore } from './jetstream-views.js';
import type { SimScheduler } from './scheduler.js';

export interface SimJetStreamOptions {
  sched: SimScheduler;
  random: () => number;
  /** One-way latency of a request or its answer, ms (drawn per message). */
  latency: () => number;
  /** See the module comment (0: every check sees every write). */
  applyLagMs?: number;
  /** Probability that an answer is lost (the client times out; the write may be stored). */
  answerLoss?: number;
  trace?: (what: string) => void;
}

interface Stored {
  seq: number;
  subject: string;
  data: Uint8Array;
  header: MsgHdrs | undefined;
  at: number;
  /** Virtual ms it was stored (for applyLagMs). */
  storedAt: number;
}

export interface StreamConfig {
  name: string;
  subjects: string[];
  max_msgs_per_subject?: number;
  /** ns, as nats.js gives it. */
  duplicate_window?: number;
  [k: string]: unknown;
}

const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

function apiError(code: number, errCode: number, description: string): NatsError {
  const e = code === 404 ? new NatsError(description, '404') : code === 503 ? new NatsError('jetstream is not enabled', '503') : new NatsError(description, String(code));
  (e as NatsError & { api_error: unknown }).api_error = { code, err_code: errCode, description };
  return e;
}

const timeoutError = () => new NatsError('TIMEOUT', 'TIMEOUT');

/** Whether `subject` matches a stream subject pattern (`*` one token, `>` the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export class SimStream {
  readonly msgs = new Map<number, Stored>();
  /** Sequences of each subject, ascending. */
  readonly bySubject = new Map<string, number[]>();
  readonly ids = new Map<string, { seq: number; at: number }>();
  lastSeq = 0;
  firstSeq = 1;

  constructor(public config: StreamConfig) {}

  matches(subject: string): boolean {
    return this.config.subjects.some((p) => subjectMatches(p, subject));
  }

  windowMs(): number {
    return this.config.duplicate_window ? this.config.duplicate_window / 1e6 : DEFAULT_DUPLICATE_WINDOW_MS;
  }

  lastOf(subject: string, olderThan = Infinity): Stored | undefined {
    const seqs = this.bySubject.get(subject);
    if (!seqs) return undefined;
    for (let i = seqs.length - 1; i >= 0; i--) {
      const m = this.msgs.get(seqs[i]!)!;
      if (m.storedAt <= olderThan) return m;
    }
    return undefined;
  }

  store(subject: string, data: Uint8Array, header: MsgHdrs | undefined, now: number, wall: number): Stored {
    const m: Stored = { seq: ++this.lastSeq, subject, data: Uint8Array.from(data), header, at: wall, storedAt: now };
    this.msgs.set(m.seq, m);
    let seqs = this.bySubject.get(subject);
    if (!seqs) this.bySubject.set(subject, (seqs = []));
    seqs.push(m.seq);
    const max = this.config.max_msgs_per_subject;
    if (max !== undefined && max > 0) while (seqs.length > max) this.remove(seqs[0]!);
    const rollup = header?.get('Nats-Rollup');
    if (rollup === 'sub') while (seqs.length > 1) this.remove(seqs[0]!);
    return m;
  }

  remove(seq: number): void {
    const m = this.msgs.get(seq);
    if (!m) return;
    this.msgs.delete(seq);
    const seqs = this.bySubject.get(m.subject)!;
    seqs.splice(seqs.indexOf(seq), 1);
    if (seqs.length === 0) this.bySubject.delete(m.subject);
    while (this.firstSeq <= this.lastSeq && !this.msgs.has(this.firstSeq)) this.firstSeq++;
  }
}

/** The cluster's JetStream: streams, and what clients can reach of it. */
export class SimJetStream {
  readonly streams = new Map<string, SimStream>();
  readonly objects = new Map<string, Map<string, { info: Record<string, unknown>; data: Uint8Array | undefined }>>();
  private leaderlessUntil = 0;
  /** Whether a client (a node incarnation) reaches the NATS servers now (set by the world). */
  reachable: (owner: string) => boolean = () => true;
  /** Virtual time → unix ms, for stored messages' timestamps. */
  wall: () => number;

  constructor(private readonly o: SimJetStreamOptions) {
    this.wall = () => 1_704_067_200_000 + o.sched.now();
  }

  /** The streams' leader is gone for `ms`: writes and reads fail until a new one is elected. */
  loseLeader(ms: number): void {
    this.leaderlessUntil = Math.max(this.leaderlessUntil, this.o.sched.now() + ms);
    this.o.trace?.(`jetstream leaderless for ${Math.round(ms)}ms`);
  }

  /** A client connection of node incarnation `owner` (what `nc` is for the cluster code). */
  connection(owner: string): SimNatsConnection {
    return new SimNatsConnection(this, owner);
  }

  /**
   * One request: applied on the server when it arrives (unless unreachable or leaderless), its
   * answer back after the latency (unless lost). A client that gets no answer times out.
   */
  request<T>(owner: string, timeoutMs: number, what: string, apply: () => T): Promise<T> {
    const sched = this.o.sched;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = sched.after(
        timeoutMs,
        () => {
          if (settled) return;
          settled = true;
          reject(timeoutError());
        },
        owner,
        'js.timeout',
      );
      const answer = (fn: () => void) => {
        if (this.o.answerLoss && this.o.random() < this.o.answerLoss) return; // lost: the client times out
        sched.after(
          this.o.latency(),
          () => {
            if (settled) return;
            settled = true;
            sched.cancel(timer);
            fn();
          },
          owner,
          'js.answer',
        );
      };
      if (!this.reachable(owner)) return; // nothing reaches the servers: a timeout
      // The request travels (a server event: the client's crash does not take it back).
      sched.after(
        this.o.latency(),
        () => {
          if (sched.now() < this.leaderlessUntil) {
            if (this.o.random() < 0.5) answer(() => reject(apiError(503, 10008, 'JetStream system temporarily unavailable')));
            return;
          }
          let out: { ok: T } | { err: unknown };
          try {
            out = { ok: apply() };
          } catch (e) {
            out = { err: e };
          }
          this.o.trace?.(`js ${what} ${'ok' in out ? 'ok' : `err ${(out.err as Error).message}`}`);
          answer(() => ('ok' in out ? resolve(out.ok) : reject(out.err)));
        },
        undefined,
        'js.request',
      );
    });
  }

  stream(name: string): SimStream {
    const s = this.streams.get(name);
    if (!s) throw apiError(404, 10059, 'stream not found');
    return s;
  }

  streamFor(subject: string): SimStream | undefined {
    for (const s of this.streams.values()) if (s.matches(subject)) return s;
    return undefined;
  }

  publish(subject: string, data: Uint8Array, h: MsgHdrs | undefined): { stream: string; seq: number; duplicate: boolean } {
    const s = this.streamFor(subject);
    if (!s) throw new NatsError('503', '503');
    const now = this.o.sched.now();
    const msgId = h?.get('Nats-Msg-Id') || undefined;
    if (msgId) {
      const seen = s.ids.get(msgId);
      if (seen && now - seen.at < s.windowMs()) return { stream: s.config.name, seq: seen.seq, duplicate: true };
    }
    const expected = h?.get('Nats-Expected-Last-Subject-Sequence');
    if (expected !== undefined && expected !== '') {
      const last = s.lastOf(subject, now - (this.o.applyLagMs ?? 0));
      const lastSeq = last?.seq ?? 0;
      if (lastSeq !== Number(expected)) throw apiError(400, 10071, `wrong last sequence: ${lastSeq}`);
    }
    const m = s.store(subject, data, h, now, this.wall());
    if (msgId) s.ids.set(msgId, { seq: m.seq, at: now });
    return { stream: s.config.name, seq: m.seq, duplicate: false };
  }

  getMessage(name: string, q: { seq?: number; last_by_subj?: string; next_by_subj?: string }): StoredView {
    const s = this.stream(name);
    let m: Stored | undefined;
    if (q.last_by_subj !== undefined) m = s.lastOf(q.last_by_subj);
    else if (q.next_by_subj !== undefined) {
      const seqs = q.next_by_subj.includes('*') || q.next_by_subj.includes('>') ? undefined : s.bySubject.get(q.next_by_subj);
      if (seqs) m = s.msgs.get(seqs.find((x) => x >= (q.seq ?? 0))!);
      else for (let x = q.seq ?? 0; x <= s.lastSeq && !m; x++) if (s.msgs.get(x) && subjectMatches(q.next_by_subj, s.msgs.get(x)!.subject)) m = s.msgs.get(x);
    } else if (q.seq !== undefined) m = s.msgs.get(q.seq);
    if (!m) throw apiError(404, 10037, 'no message found');
    return view(m);
  }
}

/** A stored message as nats.js' StoredMsg shows it. */
export interface StoredView {
  subject: string;
  seq: number;
  data: Uint8Array;
  header: MsgHdrs;
  time: Date;
}

function view(m: Stored): StoredView {
  return { subject: m.subject, seq: m.seq, data: Uint8Array.from(m.data), header: m.header ?? headers(), time: new Date(m.at) };
}

interface Opts {
  timeout?: number;
}

/** What the cluster code reaches through `nc`. */
export class SimNatsConnection {
  constructor(
    readonly js: SimJetStream,
    readonly owner: string,
  ) {}

  jetstream(o: Opts = {}): SimJetStreamClient {
    return new SimJetStreamClient(this, o.timeout ?? 5000);
  }

  async jetstreamManager(o: Opts = {}): Promise<SimJetStreamManager> {
    return new SimJetStreamManager(this, o.timeout ?? 5000);
  }

  isClosed(): boolean {
    return false;
  }

  /** A simulated connection is never closed under the node: it settles never. */
  closed(): Promise<void | Error> {
    return new Promise(() => undefined);
  }
}

class SimJetStreamClient {
  constructor(
    private readonly c: SimNatsConnection,
    private readonly timeout: number,
  ) {}

  publish(subject: string, data: Uint8Array = new Uint8Array(0), o: { msgID?: string; expect?: { lastSubjectSequence?: number }; headers?: MsgHdrs; timeout?: number } = {}) {
    const h = o.headers ?? headers();
    if (o.msgID) h.set('Nats-Msg-Id', o.msgID);
    if (typeof o.expect?.lastSubjectSequence === 'number') h.set('Nats-Expected-Last-Subject-Sequence', String(o.expect.lastSubjectSequence));
    return this.c.js.request(this.c.owner, o.timeout ?? this.timeout, `publish ${subject}`, () => this.c.js.publish(subject, data, h));
  }

  get views() {
    return {
      kv: async (bucket: string, o: { history?: number; timeout?: number } = {}) => {
        const name = `KV_${bucket}`;
        await this.c.js.request(this.c.owner, o.timeout ?? this.timeout, `kv ${bucket}`, () => {
          if (!this.c.js.streams.has(name)) this.c.js.streams.set(name, new SimStream({ name, subjects: [`$KV.${bucket}.>`], max_msgs_per_subject: o.history ?? 1 }));
        });
        return new SimKv(this.c, bucket, o.timeout ?? this.timeout);
      },
      os: async (bucket: string, o: { timeout?: number } = {}) => {
        await this.c.js.request(this.c.owner, o.timeout ?? this.timeout, `os ${bucket}`, () => {
          if (!this.c.js.objects.has(bucket)) this.c.js.objects.set(bucket, new Map());
        });
        return new SimObjectStore(this.c, bucket, o.timeout ?? this.timeout);
      },
    };
  }
}

class SimJetStreamManager {
  constructor(
    private readonly c: SimNatsConnection,
    private readonly timeout: number,
  ) {}

  get streams() {
    const { js, owner } = this.c;
    const t = this.timeout;
    return {
      info: (name: string, o: { subjects_filter?: string } = {}) =>
        js.request(owner, t, `info ${name}`, () => {
          const s = js.stream(name);
          const subjects: Record<string, number> = {};
          if (o.subjects_filter) for (const [subj, seqs] of s.bySubject) if (subjectMatches(o.subjects_filter, subj)) subjects[subj] = seqs.length;
          return {
            config: { ...s.config },
            state: { messages: s.msgs.size, first_seq: s.msgs.size ? s.firstSeq : s.lastSeq + 1, last_seq: s.lastSeq, num_subjects: s.bySubject.size, ...(o.subjects_filter ? { subjects } : {}) },
          };
        }),
      add: (config: StreamConfig) =>
        js.request(owner, t, `add ${config.name}`, () => {
          const s = js.streams.get(config.name);
          if (s) {
            if (JSON.stringify(s.config.subjects) !== JSON.stringify(config.subjects)) throw apiError(400, 10058, 'stream name already in use with a different configuration');
            return { config: { ...s.config } };
          }
          for (const other of js.streams.values()) {
            if (config.subjects.some((p) => other.config.subjects.some((q) => subjectMatches(p, q.replace(/>$/, 'x')) || subjectMatches(q, p.replace(/>$/, 'x'))))) {
              throw apiError(400, 10065, 'subjects overlap with an existing stream');
            }
          }
          js.streams.set(config.name, new SimStream({ ...config }));
          return { config: { ...config } };
        }),
      getMessage: (name: string, q: { seq?: number; last_by_subj?: string; next_by_subj?: string }) => js.request(owner, t, `get ${name}`, () => js.getMessage(name, q)),
      purge: (name: string, o: { filter?: string } = {}) =>
        js.request(owner, t, `purge ${name}`, () => {
          const s = js.stream(name);
          let purged = 0;
          for (const m of [...s.msgs.values()]) {
            if (o.filter === undefined || subjectMatches(o.filter, m.subject)) {
              s.remove(m.seq);
              purged++;
            }
          }
          return { success: true, purged };
        }),
    };
  }
}
