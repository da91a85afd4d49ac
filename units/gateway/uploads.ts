/**
 * Items published to this node as to a bundler: the subset of the upload API that Arweave
 * bundlers expose and ao's units use (`POST /tx` with the bytes of a signed data item; answered
 * `{ id }`). Each is checked (well-formed, of a supported signature type, within the limits,
 * its signature valid) and kept in LMDB, then served by the gateway like the node's own items:
 * this is how independent nodes that name this one as their gateway find each other's
 * Scheduler-Location records and processes. Uploading an item again is answered the same.
 * A bundle (`Bundle-Format: binary`, `Bundle-Version: 2.0.0`: how SUs publish their logs) is
 * kept whole and its items one by one, so GraphQL and `/raw/:id` answer for each (`bundledIn`
 * names the bundle that brought an item here first).
 *
 * Listed by owner (the gateway's queries by owner, such as the newest Scheduler-Location of an
 * SU, look at that owner's items only) and in upload order for other queries.
 */
import type { Store } from '../../runtime/store.js';
import { unitRoutes } from '../http/unit-routes.js';
import { checkItemSize, isBundle, ITEM_LIMITS, ownerAddress, parseDataItem, unbundle, verifyDataItem } from '../ans104/index.js';
import type { ItemFilter, ItemSource } from './sources.js';

/** An item that is well-formed but not acceptable (its signature does not verify). */
export class UploadRefused extends Error {
  override readonly name = 'UploadRefused';
}

export class Uploads implements ItemSource {
  private readonly items;
  private readonly order;
  private readonly byOwner;
  /** Item id → the bundle that brought it. */
  private readonly parents;
  private seq: number;

  constructor(private readonly store: Store) {
    this.items = store.db<Uint8Array, string>('gateway-uploads', { encoding: 'binary' });
    this.order = store.db<string, number>('gateway-upload-order');
    this.byOwner = store.db<string, [string, number]>('gateway-upload-owners');
    this.parents = store.db<string, string>('gateway-upload-parents');
    let last = 0;
    for (const k of this.order.getKeys({ reverse: true, limit: 1 })) last = k;
    this.seq = last;
  }

  item(id: string): Uint8Array | undefined {
    return this.items.get(id);
  }

  bundledIn(id: string): string | undefined {
    return this.parents.get(id);
  }

  *list(): Iterable<string> {
    for (const { value } of this.order.getRange()) yield value;
  }

  *find(filter: ItemFilter, newestFirst: boolean): Iterable<string> {
    if (!filter.owners?.length) {
      const ids = [...this.list()];
      yield* newestFirst ? ids.reverse() : ids;
      return;
    }
    for (const owner of filter.owners) {
      const range = newestFirst ? { start: [owner, Number.MAX_SAFE_INTEGER] as [string, number], end: [owner, -1] as [string, number], reverse: true } : { start: [owner, 0] as [string, number], end: [owner, Number.MAX_SAFE_INTEGER] as [string, number] };
      for (const { value } of this.byOwner.getRange(range)) yield value;
    }
  }

  /**
   * Checks and keeps an item; answers its id, or throws InvalidDataItem, InvalidBundle or
   * UploadRefused. A bundle's items are checked too (one that is not valid refuses the whole
   * upload) and kept after it, each served by its own id as a bundler's gateway does.
   */
  async add(raw: Uint8Array): Promise<string> {
    checkItemSize(raw.byteLength);
    const item = parseDataItem(raw);
    if (!(await verifyDataItem(item))) throw new UploadRefused(`item ${item.id}: its signature is not valid`);
    if (this.items.get(item.id)) return item.id;
    const keep = [item];
    if (isBundle(item.tags)) {
      for (const nested of unbundle(item.data)) {
        const parsed = parseDataItem(nested);
        if (!(await verifyDataItem(parsed))) throw new UploadRefused(`item ${parsed.id} in bundle ${item.id}: its signature is not valid`);
        keep.push(parsed);
      }
    }
    await this.store.transact(() => {
      for (const k of keep) {
        if (this.items.get(k.id)) continue;
        const seq = ++this.seq;
        void this.items.put(k.id, Uint8Array.from(k.raw));
        void this.order.put(seq, k.id);
        void this.byOwner.put([ownerAddress(k), seq], k.id);
        if (k !== item) void this.parents.put(k.id, item.id);
      }
    });
    return item.id;
  }
}

/**
 * `POST /tx` (and `/tx/:currency`, as some bundlers name it): mount at the node root. An item
 * refused (InvalidDataItem, InvalidBundle, UploadRefused) is a 400 with the reason (the error
 * mapping).
 */
export function uploadRoutes(uploads: Uploads) {
  return unitRoutes(async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ITEM_LIMITS.maxItemBytes }, (_req, body, done) => done(null, body));
    for (const path of ['/tx', '/tx/:currency']) {
      app.post(path, { bodyLimit: ITEM_LIMITS.maxItemBytes }, async (req, reply) => {
        if (!Buffer.isBuffer(req.body) || req.body.length === 0) return reply.code(400).send({ error: 'send the bytes of a signed ANS-104 data item' });
        return { id: await uploads.add(req.body) };
      });
    }
  });
}
