/**
 * ANS-104 binary bundles as the SU publishes its logs and aotp's gateway takes them: the bytes
 * arbundles reads back (the reference's library), and an upload of a bundle that serves each
 * of its items by id, refused whole when one of them is not valid.
 */
import { rmSync } from 'node:fs';
import { Bundle } from '@dha-team/arbundles';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../../runtime/store.js';
import { BUNDLE_TAGS, bundleItems, createDataItem, generateWallet, InvalidBundle, unbundle } from '../../../units/ans104/index.js';
import { createGateway } from '../../../units/gateway/index.js';
import { Uploads, UploadRefused } from '../../../units/gateway/uploads.js';
import { tempDir } from '../mu/support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('binary bundles', () => {
  it('what bundleItems writes, arbundles reads as the same items, verified; unbundle reads it back', async () => {
    const [a, b] = await Promise.all([generateWallet('ed25519'), generateWallet('rsa')]);
    const items = await Promise.all([createDataItem({ data: 'one', tags: [{ name: 'N', value: '1' }] }, a), createDataItem({ data: new Uint8Array(3000).fill(7) }, b), createDataItem({ data: '' }, a)]);
    const data = bundleItems(items.map((i) => i.raw));
    const read = new Bundle(Buffer.from(data));
    expect(read.getIds()).toEqual(items.map((i) => i.id));
    expect(await read.verify()).toBe(true);
    expect(unbundle(data).map((r) => Buffer.from(r))).toEqual(items.map((i) => Buffer.from(i.raw)));
    // Cut short, or a header naming another id: not a bundle.
    expect(() => unbundle(data.subarray(0, data.length - 1))).toThrow(InvalidBundle);
    const swapped = Buffer.from(data);
    swapped[32 + 32] ^= 1;
    expect(() => unbundle(swapped)).toThrow(InvalidBundle);
  });

  it('an uploaded bundle is kept with each of its items, found by id, owner and bundle; a forged item refuses it whole', async () => {
    const dir = tempDir('aotp-bundles-');
    dirs.push(dir);
    const store = Store.open(dir);
    try {
      const uploads = new Uploads(store);
      const gateway = createGateway({ sources: [uploads] });
      const [su, user] = await Promise.all([generateWallet('ed25519'), generateWallet('ed25519')]);
      const items = await Promise.all([createDataItem({ data: 'a', tags: [{ name: 'Type', value: 'Message' }] }, user), createDataItem({ data: 'b' }, user)]);
      const bundle = await createDataItem({ data: bundleItems(items.map((i) => i.raw)), tags: [...BUNDLE_TAGS] }, su);
      expect(await uploads.add(bundle.raw)).toBe(bundle.id);
      for (const i of [bundle, ...items]) expect(Buffer.from(gateway.item(i.id)!)).toEqual(Buffer.from(i.raw));
      expect(gateway.transactions({ owners: [user.address] }).edges.map((e) => e.node.id).sort()).toEqual(items.map((i) => i.id).sort());
      // Each names its bundle, and is found by it.
      for (const i of items) expect(gateway.transaction(i.id)!.bundledIn).toEqual({ id: bundle.id });
      expect(gateway.transaction(bundle.id)!.bundledIn).toBeNull();
      expect(gateway.transactions({ bundledIn: [bundle.id] }).edges.map((e) => e.node.id).sort()).toEqual(items.map((i) => i.id).sort());
      // Again: answered the same, nothing kept twice.
      expect(await uploads.add(bundle.raw)).toBe(bundle.id);
      expect([...uploads.list()]).toHaveLength(3);

      const forged = Buffer.from(items[1]!.raw);
      forged[forged.length - 1] ^= 1;
      const other = await createDataItem({ data: 'c' }, user);
      const bad = await createDataItem({ data: bundleItems([other.raw, forged]), tags: [...BUNDLE_TAGS] }, su);
      await expect(uploads.add(bad.raw)).rejects.toThrow(UploadRefused);
      expect(gateway.item(bad.id)).toBeUndefined();
      expect(gateway.item(other.id)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
