/**
 * Which process's log holds a message: the cluster's index from message id to process id, so
 * that any node can answer a read by message id alone (`GET /su/:id`, the gateway) by asking
 * that process's owner, whichever nodes have the log on disk.
 *
 * A stream (default `<CLUSTER>_SU_IDS`, R3, one message per subject): subject
 * `<cluster>.su.ids.<messageId>`, body the process id. Written by the sequencer with each run,
 * alongside the run's append to the replicated log; the first process a message is scheduled
 * to is the one kept (an assignment of it to another process adds nothing). An entry whose
 * run was refused names the process the message was sent to, where it is not (yet): a lookup
 * then finds nothing there, as it would have without the entry.
 */
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import type { Clock } from '../../runtime/clock.js';
import { clocked, isNotFound, isWrongLastSequence, retrying } from './retry.js';
import { ensureStream } from './ensure-stream.js';

export interface IdIndexOptions {
  cluster: string;
  replicas?: number;
  requestTimeoutMs?: number;
  retryBudgetMs?: number;
  /** Pauses between retries are timed on it (default the real timers). */
  clock?: Clock;
}

const dec = new TextDecoder();
const enc = new TextEncoder();

export class IdIndex {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    private readonly prefix: string,
    private readonly budgetMs: number,
    private readonly clocked: { clock?: Clock },
  ) {}

  static async open(nc: NatsConnection, o: IdIndexOptions): Promise<IdIndex> {
    const timeout = o.requestTimeoutMs ?? 2000;
    const budgetMs = o.retryBudgetMs ?? 30_000;
    const jsm = await retrying(() => nc.jetstreamManager({ timeout }), { budgetMs, ...clocked(o) });
    const stream = `${o.cluster.toUpperCase()}_SU_IDS`;
    const prefix = `${o.cluster}.su.ids`;
    await ensureStream(
      jsm,
      { name: stream, subjects: [`${prefix}.>`], num_replicas: o.replicas ?? 3, max_msgs_per_subject: 1, duplicate_window: 120_000_000_000 },
      { budgetMs, ...clocked(o) },
    );
    return new IdIndex(nc.jetstream({ timeout }), jsm, stream, prefix, budgetMs, clocked(o));
  }

  /** Records where each message is (published together; a message indexed already keeps its process). */
  async add(entries: { messageId: string; processId: string }[]): Promise<void> {
    await Promise.all(
      entries.map((e) =>
        retrying(() => this.js.publish(`${this.prefix}.${e.messageId}`, enc.encode(e.processId), { msgID: `${e.messageId}@0`, expect: { lastSubjectSequence: 0 } }), {
          budgetMs: this.budgetMs,
          ...this.clocked,
        }).catch((err) => {
          if (!isWrongLastSequence(err)) throw err;
        }),
      ),
    );
  }

  /** The process whose log holds `messageId`, if the index has it. */
  async lookup(messageId: string): Promise<string | undefined> {
    return retrying(
      async () => {
        try {
          const m = await this.jsm.streams.getMessage(this.stream, { last_by_subj: `${this.prefix}.${messageId}` });
          return dec.decode(m.data);
        } catch (e) {
          if (isNotFound(e)) return undefined;
          throw e;
        }
      },
      { budgetMs: this.budgetMs, ...this.clocked },
    );
  }
}
