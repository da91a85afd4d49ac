/**
 * The gateway's view of the cluster's items: before a request is answered, the ids it names
 * that this node does not hold are fetched (a spawn from the replicated log's slot 0, a
 * message from its process's owner, found through the id index) into a bounded cache, which
 * the gateway reads as one more source. So every node answers a GraphQL or `/raw` request the
 * same, whichever logs it has on disk.
 */
import type { ItemSource } from '../gateway/index.js';

export interface ClusterItems {
  source: ItemSource;
  prefetch(ids: string[]): Promise<void>;
}

export function clusterItems(o: {
  /** Whether this node's own sources have the item. */
  known: (id: string) => boolean;
  /** The item from the cluster, undefined when no process's log holds it. */
  fetch: (id: string) => Promise<Uint8Array | undefined>;
  maxCached?: number;
}): ClusterItems {
  const cache = new Map<string, Uint8Array>();
  const max = o.maxCached ?? 2000;
  return {
    source: { item: (id) => cache.get(id) },
    async prefetch(ids) {
      await Promise.all(
        ids.map(async (id) => {
          if (cache.has(id) || o.known(id)) return;
          const raw = await o.fetch(id);
          if (!raw) return;
          cache.set(id, raw);
          while (cache.size > max) cache.delete(cache.keys().next().value!);
        }),
      );
    },
  };
}
