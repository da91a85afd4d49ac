/**
 * The CU's results and checkpoints, shared through JetStream, so that the next owner of a
 * process (after its owner died, disk included) starts from what any node computed instead of
 * replaying from slot 0:
 *
 *   <CLUSTER>_CU_RESULTS   stream (R3), subject `<cluster>.cu.results.<process>`: each write of
 *                          results (one batch of evaluations) as one message, msgpack, headers
 *                          Aotp-First / Aotp-Last (their slots). A batch is in JetStream before
 *                          it is in this node's LMDB, and so before anyone is told of it.
 *   <cluster>_cu_checkpoints  Object Store (R3, chunked: images exceed max_payload): objects
 *                          `<process>.<i>`, i < checkpointKeep, the newest few per process; each
 *                          object's description holds its position. Shared after the local write,
 *                          in the background (a lost one only costs replay time).
 *
 * A node loading a process (`hydrate`, before its engine is built) copies into its LMDB the
 * results it lacks and the newest shared checkpoint if it is newer than its own. A checkpoint
 * is shared only after the results up to it (the engine flushes its results first), so its
 * results are there too.
 *
 * Results are deterministic (a replay computes the same ones), so two nodes writing a batch
 * for the same slots (one of them wrongly thought down) write the same thing. A batch over
 * NATS' max_payload is kept locally only (logged): the next owner computes it again.
 */
import { pack, unpack } from 'msgpackr';
import { headers, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection, type ObjectStore, type StoredMsg } from 'nats';
import type { Logger } from 'pino';
import type { Store } from '../../runtime/store.js';
import { CuStore, type CheckpointRecord, type CronResult, type ResultRecord } from '../cu/store.js';
import { RealClock, type Clock, type TimerHandle } from '../../runtime/clock.js';
import { clocked, isNotFound, retrying } from './retry.js';
import { ensureStream } from './ensure-stream.js';

export interface SharedCuOptions {
  cluster: string;
  replicas?: number;
  /** Shared checkpoints kept per process (the CU's checkpointKeep). */
  keep: number;
  requestTimeoutMs?: number;
  retryBudgetMs?: number;
  log?: Logger;
  /** Pauses between retries and transfer limits are timed on it (default the real timers). */
  clock?: Clock;
}

type Batch = (ResultRecord | CronResult)[];

const H_FIRST = 'Aotp-First';
const H_LAST = 'Aotp-Last';
/** Most bytes of results in one stream message (max_payload is 1 MiB by default). */
const BATCH_BYTES = 512 * 1024;

const slotOf = (r: ResultRecord | CronResult) => ('index' in r ? r.record.slot : r.slot);
/**
 * How long one checkpoint transfer may take. The Object Store reads an object through a
 * consumer, which can wait forever when the server holding it dies mid-read: past this, the
 * transfer is given up (a checkpoint not shared, or a process replayed further).
 */
const TRANSFER_MS = 60_000;

function bounded<T>(p: Promise<T>, what: string, clock: Clock = realClock): Promise<T> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`${what}: no answer within ${TRANSFER_MS} ms`)), TRANSFER_MS);
  });
  return Promise.race([p, timeout]).finally(() => timer && clock.clearTimeout(timer));
}

const realClock = new RealClock();

/** A checkpoint's place: slot, then the last cron after it. */
type Place = { slot: number; cron: number };
const after = (a: Place, b: Place) => a.slot > b.slot || (a.slot === b.slot && a.cron > b.cron);

/** The JetStream side, opened once per node; `store(lmdb)` makes the CU's store on it. */
export class SharedCu {
  private constructor(
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly os: ObjectStore,
    readonly o: SharedCuOptions,
  ) {}

  static async open(nc: NatsConnection, o: SharedCuOptions): Promise<SharedCu> {
    const timeout = o.requestTimeoutMs ?? 2000;
    const budgetMs = o.retryBudgetMs ?? 15_000;
    const replicas = o.replicas ?? 3;
    const js = nc.jetstream({ timeout });
    const jsm = await retrying(() => nc.jetstreamManager({ timeout }), { budgetMs, ...clocked(o) });
    const stream = `${o.cluster.toUpperCase()}_CU_RESULTS`;
    await ensureStream(jsm, { name: stream, subjects: [`${o.cluster}.cu.results.>`], num_replicas: replicas }, { budgetMs, ...clocked(o) });
    const os = await retrying(() => js.views.os(`${o.cluster}_cu_checkpoints`, { replicas, storage: StorageType.File }), { budgetMs, ...clocked(o) });
    return new SharedCu(js, jsm, os, o);
  }

  store(lmdb: Store): SharedCuStore {
    return new SharedCuStore(lmdb, this);
  }
}

export class SharedCuStore extends CuStore {
  private readonly stream: string;
  private readonly prefix: string;
  private readonly budgetMs: number;
  private readonly clocked: { clock?: Clock };
  /** Per process: what each of its shared checkpoint objects holds (once looked up). */
  private readonly shared = new Map<string, (Place | undefined)[]>();
  /** Per process: the share in flight, and the newest checkpoint waiting for it. */
  private readonly sharing = new Map<string, { running: Promise<void>; next?: CheckpointRecord }>();

  constructor(
    store: Store,
    private readonly s: SharedCu,
  ) {
    super(store);
    this.stream = `${s.o.cluster.toUpperCase()}_CU_RESULTS`;
    this.prefix = `${s.o.cluster}.cu.results`;
    this.budgetMs = s.o.retryBudgetMs ?? 15_000;
    this.clocked = clocked(s.o);
  }

  // --- results --------------------------------------------------------------------------------

  protected override async persist(processId: string, rs: readonly (ResultRecord | CronResult)[]): Promise<void> {
    await this.publishResults(processId, rs);
    return super.persist(processId, rs);
  }

  private async publishResults(processId: string, rs: readonly (ResultRecord | CronResult)[]): Promise<void> {
    let batch: Batch = [];
    let bytes = 0;
    const send = async () => {
      if (batch.length === 0) return;
      const body = pack(batch);
      const b = batch;
      batch = [];
      bytes = 0;
      if (body.byteLength > 2 * BATCH_BYTES) {
        this.s.o.log?.warn({ processId, slot: slotOf(b[0]!), bytes: body.byteLength }, 'a result is too large to share through JetStream; kept on this node only');
        return;
      }
      const h = headers();
      h.set(H_FIRST, String(slotOf(b[0]!)));
      h.set(H_LAST, String(slotOf(b[b.length - 1]!)));
      await retrying(() => this.s.js.publish(`${this.prefix}.${processId}`, body, { headers: h }), { budgetMs: this.budgetMs, ...this.clocked });
    };
    for (const r of rs) {
      const size = pack(r).byteLength;
      if (bytes + size > BATCH_BYTES) await send();
      batch.push(r);
      bytes += size;
    }
    await send();
  }

  private async message(q: { last_by_subj: string } | { seq: number; next_by_subj: string }): Promise<StoredMsg | undefined> {
    return retrying(
      async () => {
        try {
          return await this.s.jsm.streams.getMessage(this.stream, q);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      { budgetMs: this.budgetMs, ...this.clocked },
    );
  }

  /** Copies the shared results of `processId` from this node's last one on (the batch holding it included). */
  private async pullResults(processId: string): Promise<number> {
    const subject = `${this.prefix}.${processId}`;
    const tail = await this.message({ last_by_subj: subject });
    const local = this.lastResultSlot(processId);
    const lastOf = (m: StoredMsg) => Number(m.header.get(H_LAST));
    if (!tail || lastOf(tail) < local) return 0;
    // The first message whose last slot is at least ours (batches come in slot order).
    let lo = 1;
    let hi = tail.seq;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.message({ seq: mid, next_by_subj: subject });
      if (m && lastOf(m) >= local) hi = mid;
      else lo = (m?.seq ?? mid) + 1;
    }
    let n = 0;
    for (let seq = lo; seq <= tail.seq; ) {
      const m = await this.message({ seq, next_by_subj: subject });
      if (!m) break;
      const batch = unpack(m.data) as Batch;
      await super.persist(processId, batch);
      n += batch.length;
      seq = m.seq + 1;
    }
    return n;
  }

  // --- checkpoints ----------------------------------------------------------------------------

  override async putCheckpoint(c: CheckpointRecord): Promise<boolean> {
    const ok = await super.putCheckpoint(c);
    this.share(c);
    return ok;
  }

  /** Shares `c` in the background, one share per process at a time (the newest waiting wins). */
  private share(c: CheckpointRecord): void {
    const cur = this.sharing.get(c.processId);
    if (cur) {
      cur.next = c;
      return;
    }
    const entry: { running: Promise<void>; next?: CheckpointRecord } = { running: Promise.resolve() };
    this.sharing.set(c.processId, entry);
    entry.running = (async () => {
      let next: CheckpointRecord | undefined = c;
      while (next) {
        const now: CheckpointRecord = next;
        entry.next = undefined;
        await this.upload(now).catch((e: Error) => this.s.o.log?.warn({ processId: now.processId, slot: now.slot, err: e.message }, 'could not share a checkpoint'));
        next = entry.next;
      }
      this.sharing.delete(c.processId);
    })();
  }

  /** Waits for the checkpoint shares in flight (tests, and a clean stop). */
  async sharesSettled(): Promise<void> {
    while (this.sharing.size) await Promise.all([...this.sharing.values()].map((e) => e.running));
  }

  private name(processId: string, i: number): string {
    return `${processId}.${i}`;
  }

  /** What the shared objects of `processId` hold, looked up once and then kept up to date here. */
  private async places(processId: string): Promise<(Place | undefined)[]> {
    const known = this.shared.get(processId);
    if (known) return known;
    const infos = await Promise.all(
      Array.from({ length: this.s.o.keep }, (_, i) => retrying(() => this.s.os.info(this.name(processId, i)), { budgetMs: this.budgetMs, ...this.clocked })),
    );
    const places = infos.map((info) => {
      if (!info || info.deleted || !info.description) return undefined;
      try {
        const p = JSON.parse(info.description) as Place;
        return Number.isInteger(p.slot) && Number.isInteger(p.cron) ? p : undefined;
      } catch {
        return undefined;
      }
    });
    this.shared.set(processId, places);
    return places;
  }

  private async upload(c: CheckpointRecord): Promise<void> {
    const places = await this.places(c.processId);
    const place = { slot: c.slot, cron: c.cron ?? -1 };
    if (places.some((p) => p && !after(place, p))) return; // something as new is shared already
    // Replace the oldest (or an empty one).
    let i = places.findIndex((p) => p === undefined);
    if (i < 0) i = places.reduce((oldest, p, j) => (after(places[oldest]!, p!) ? j : oldest), 0);
    await bounded(
      retrying(() => this.s.os.putBlob({ name: this.name(c.processId, i), description: JSON.stringify(place) }, pack(c)), { budgetMs: this.budgetMs, ...this.clocked }),
      `sharing checkpoint ${c.slot} of ${c.processId}`,
      this.s.o.clock,
    );
    places[i] = place;
  }

  /** Copies the newest shared checkpoint of `processId` here if it is newer than this node's. */
  private async pullCheckpoint(processId: string): Promise<boolean> {
    const places = await this.places(processId);
    let best = -1;
    for (const [i, p] of places.entries()) if (p && (best < 0 || after(p, places[best]!))) best = i;
    if (best < 0) return false;
    const mine = this.checkpointSlots(processId)[0];
    const minePlace = mine === undefined ? undefined : { slot: mine, cron: this.checkpoint(processId, mine)?.cron ?? -1 };
    if (minePlace && !after(places[best]!, minePlace)) return false;
    let blob: Uint8Array | null;
    try {
      blob = await bounded(
        retrying(() => this.s.os.getBlob(this.name(processId, best)), { budgetMs: this.budgetMs, ...this.clocked }),
        `reading the shared checkpoint of ${processId}`,
        this.s.o.clock,
      );
    } catch (e) {
      this.s.o.log?.warn({ processId, err: (e as Error).message }, 'could not read a shared checkpoint; replaying from an older one');
      return false;
    }
    if (!blob) return false;
    const c = unpack(blob) as CheckpointRecord;
    if (c.processId !== processId) return false;
    await super.putCheckpoint(c);
    await this.pruneCheckpoints(processId, this.s.o.keep);
    return true;
  }

  override async hydrate(processId: string): Promise<void> {
    const results = await this.pullResults(processId);
    const checkpoint = await this.pullCheckpoint(processId);
    if (results || checkpoint) this.s.o.log?.info({ processId, results, checkpoint }, 'hydrated a process from the cluster');
  }
}
