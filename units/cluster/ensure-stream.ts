/**
 * Binds to a JetStream stream, creating it (file storage) when it does not exist yet. Nodes
 * starting together race to create it: a creation refused because another node made it first
 * binds to theirs. Transient failures (no leader yet, timeouts) are retried within the budget.
 */
import { StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { isNotFound, retrying, type RetryOptions } from './retry.js';

export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, retry: RetryOptions): Promise<void> {
  await retrying(async () => {
    try {
      await jsm.streams.info(config.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await jsm.streams.add({ storage: StorageType.File, ...config });
      } catch (e2) {
        await jsm.streams.info(config.name).catch(() => {
          throw e2;
        });
      }
    }
  }, retry);
}
