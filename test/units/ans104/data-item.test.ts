import { createHash } from 'node:crypto';
import { ArweaveSigner, createData, DataItem } from '@dha-team/arbundles';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDataItem,
  generateWallet,
  InvalidDataItem,
  ownerAddress,
  parseDataItem,
  signDataItem,
  tagValue,
  verifyDataItem,
  type RsaJwk,
  type Wallet,
} from '../../../units/ans104/index.js';

const PROCESS = createHash('sha256').update('a process').digest('base64url');
const ANCHOR = '00000000000000000000000000000042';
const TAGS = [
  { name: 'Data-Protocol', value: 'ao' },
  { name: 'Type', value: 'Message' },
  { name: 'Action', value: 'Eval' },
];

const wallets = {} as Record<'rsa' | 'ed25519', Wallet>;
beforeAll(async () => {
  [wallets.rsa, wallets.ed25519] = await Promise.all([generateWallet('rsa'), generateWallet('ed25519')]);
}, 60_000);

/** arbundles' own reading of the bytes, to check ours against. */
const arbundles = (raw: Uint8Array) => new DataItem(Buffer.from(raw));

describe.each(['rsa', 'ed25519'] as const)('%s data items', (kind) => {
  it('sign, parse and verify round trip, agreeing with arbundles', async () => {
    const w = wallets[kind];
    const { id, raw } = await createDataItem({ data: 'print("hi")', tags: TAGS, target: PROCESS, anchor: ANCHOR }, w);

    const item = parseDataItem(raw);
    expect(item).toMatchObject({
      id,
      signatureType: kind === 'rsa' ? 1 : 2,
      target: PROCESS,
      anchor: ANCHOR,
      tags: TAGS,
    });
    expect(Buffer.from(item.data).toString()).toBe('print("hi")');
    expect(await verifyDataItem(raw)).toBe(true);
    expect(await verifyDataItem(item)).toBe(true);

    const theirs = arbundles(raw);
    expect(await DataItem.verify(Buffer.from(raw))).toBe(true);
    expect(theirs.id).toBe(id);
    expect(theirs.owner).toBe(item.owner);
    expect(theirs.signature).toBe(item.signature);
    expect(theirs.tags).toEqual(item.tags);
  });

  it('the owner address is the wallet address', async () => {
    const w = wallets[kind];
    const item = parseDataItem((await createDataItem({ data: '' }, w)).raw);
    expect(ownerAddress(item)).toBe(w.address);
    expect(Buffer.from(item.owner, 'base64url')).toEqual(Buffer.from(w.owner));
  });

  it('signing is a function of the key and the fields alone', async () => {
    const w = wallets[kind];
    // What a worker thread receives: the key as plain JSON.
    const key = JSON.parse(JSON.stringify(w.key));
    const { raw } = await signDataItem(key, { data: new Uint8Array([1, 2, 3]), tags: TAGS });
    expect(await verifyDataItem(raw)).toBe(true);
    expect(ownerAddress(parseDataItem(raw))).toBe(w.address);
  });

  it('one changed byte of data, of a tag or of the signature fails verification', async () => {
    const { raw } = await createDataItem({ data: 'abcdef', tags: TAGS, target: PROCESS }, wallets[kind]);
    const flip = (at: number) => {
      const copy = Uint8Array.from(raw);
      copy[at]! ^= 0x01;
      return copy;
    };
    const tagAt = Buffer.from(raw).indexOf('Eval');
    expect(tagAt).toBeGreaterThan(0);
    // arbundles, for comparison, console.warns on every failed RSA check and throws (rather than
    // answering false) when a tampered Ed25519 signature is not a curve point; ours does neither.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const bad of [flip(raw.length - 1), flip(tagAt), flip(10)]) {
        expect(await verifyDataItem(bad)).toBe(false);
        expect(await DataItem.verify(Buffer.from(bad)).catch(() => false)).toBe(false);
      }
      expect(warn).toHaveBeenCalledTimes(kind === 'rsa' ? 3 : 0);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('parsing untrusted bytes', () => {
  let good: Uint8Array;
  beforeAll(async () => {
    good = (await createDataItem({ data: 'payload', tags: TAGS, target: PROCESS, anchor: ANCHOR }, wallets.ed25519)).raw;
  });
  // Ed25519 layout offsets: type 0..2, signature 2..66, owner 66..98, target flag 98.
  const TARGET_FLAG = 98;
  const TAG_COUNTS = TARGET_FLAG + 33 + 33;

  const header = (tagCount: bigint, tagBytes: number[]) => {
    const h = Buffer.from(good.subarray(0, TAG_COUNTS + 16));
    h.writeBigUInt64LE(tagCount, TAG_COUNTS);
    h.writeBigUInt64LE(BigInt(tagBytes.length), TAG_COUNTS + 8);
    return Buffer.concat([h, Buffer.from(tagBytes), Buffer.from('data')]);
  };
  const reasonOf = (bytes: unknown) => {
    try {
      parseDataItem(bytes as Uint8Array);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidDataItem);
      return { reason: (err as InvalidDataItem).reason, message: (err as Error).message };
    }
    throw new Error('parsed');
  };

  it('names what is wrong with garbage', () => {
    expect(reasonOf('not bytes').reason).toBe('not-bytes');
    expect(reasonOf(new Uint8Array()).reason).toBe('truncated');
    expect(reasonOf(Buffer.from([0x09, 0x00, 1, 2, 3])).reason).toBe('unknown-signature-type');
    expect(reasonOf(Buffer.from('garbage that is not a data item at all, not even close')).reason).toBe(
      'unknown-signature-type',
    );
    const badFlag = Buffer.from(good);
    badFlag[TARGET_FLAG] = 7;
    expect(reasonOf(badFlag)).toEqual({ reason: 'bad-presence-byte', message: 'target presence byte is 7, not 0 or 1' });
  });

  it('rejects truncated items with the field they end in', () => {
    expect(reasonOf(good.subarray(0, 40))).toEqual({
      reason: 'truncated',
      message: '40 bytes end before the signature (needs 66)',
    });
    expect(reasonOf(good.subarray(0, TAG_COUNTS + 20)).reason).toBe('truncated');
  });

  it('rejects oversized or inconsistent tag headers before reading them', () => {
    expect(reasonOf(header(129n, [0])).reason).toBe('too-many-tags');
    expect(reasonOf(header(2n ** 63n, [0])).reason).toBe('too-many-tags');
    const big = header(1n, [0]);
    big.writeBigUInt64LE(4097n, TAG_COUNTS + 8);
    expect(reasonOf(big).reason).toBe('tags-too-large');
    big.writeBigUInt64LE(2n ** 64n - 1n, TAG_COUNTS + 8);
    expect(reasonOf(big).reason).toBe('tags-too-large');
    expect(reasonOf(header(3n, [])).reason).toBe('tag-count-mismatch');
    // One tag declared, the Avro block holds two.
    expect(reasonOf(header(1n, [4, 2, 0x61, 2, 0x62, 2, 0x63, 2, 0x64, 0])).reason).toBe('tag-count-mismatch');
    // A string running past the tag block.
    expect(reasonOf(header(1n, [2, 40, 0x61])).reason).toBe('bad-tag-encoding');
  });

  it('refuses tag names over 1024 bytes and values over 3072 bytes, as signing does', async () => {
    // arbundles signs these; this node would refuse to sign them, so it refuses to take them.
    const signer = new ArweaveSigner(wallets.rsa.key as RsaJwk);
    for (const tag of [{ name: 'n'.repeat(1025), value: 'v' }, { name: 'Big', value: 'v'.repeat(3073) }]) {
      const item = createData('x', signer, { tags: [tag] });
      await item.sign(signer);
      expect(reasonOf(item.getRaw()).reason).toBe('tag-too-long');
      expect(await verifyDataItem(item.getRaw())).toBe(false);
    }
  });

  it('rejects the two-byte tag block that sends arbundles into an endless loop', async () => {
    // Avro: one item, then a string of length -3. arbundles' decoder walks backwards forever.
    const evil = header(1n, [0x02, 0x05]);
    expect(reasonOf(evil).reason).toBe('bad-tag-encoding');
    expect(await verifyDataItem(evil)).toBe(false);
  });

  it('never fails on any input with anything but InvalidDataItem', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 101, 999), fc.uint8Array({ maxLength: 1200 }), (type, body) => {
        const bytes = Buffer.concat([Buffer.from([type & 0xff, type >> 8]), body]);
        try {
          parseDataItem(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidDataItem);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('every single-byte change and every truncation of a signed item fails verification', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const bad = Uint8Array.from(good);
        bad[at]! ^= xor;
        expect(await verifyDataItem(bad)).toBe(false);
      }),
      { numRuns: 300 },
    );
    for (let cut = 0; cut < good.length; cut++) {
      const part = good.subarray(0, cut);
      expect(await verifyDataItem(part)).toBe(false);
      // Only a cut inside the data still parses (as a different, unsigned item).
      if (cut < good.length - 'payload'.length) expect(() => parseDataItem(part)).toThrow(InvalidDataItem);
    }
  });

  it('keeps the anchor bytes when they are not text, as the reference SU does', async () => {
    const anchor = Uint8Array.from({ length: 32 }, (_, i) => 0xff - i);
    const item = parseDataItem((await createDataItem({ data: 'x', anchor }, wallets.ed25519)).raw);
    expect(item.anchor).toBeUndefined();
    expect(Buffer.from(item.rawAnchor!)).toEqual(Buffer.from(anchor));
    const none = parseDataItem((await createDataItem({ data: 'x' }, wallets.ed25519)).raw);
    expect(none.anchor).toBeUndefined();
    expect(none.rawAnchor).toBeUndefined();
    expect(none.target).toBeUndefined();
    expect(none.tags).toEqual([]);
  });
});

describe('fields that cannot be signed', () => {
  const reasonOf = async (fields: Parameters<typeof createDataItem>[0]) => {
    const err = await createDataItem(fields, wallets.ed25519).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDataItem);
    return (err as InvalidDataItem).reason;
  };

  it('are refused with a reason', async () => {
    expect(await reasonOf({ data: 'x', target: 'short' })).toBe('bad-target');
    // 43 characters, but not the canonical encoding of 32 bytes.
    expect(await reasonOf({ data: 'x', target: 'a'.repeat(43) })).toBe('bad-target');
    expect(await reasonOf({ data: 'x', anchor: 'too short' })).toBe('bad-anchor');
    expect(await reasonOf({ data: 'x', tags: [{ name: 'A', value: 1 as unknown as string }] })).toBe('bad-tag');
    expect(await reasonOf({ data: 42 as unknown as string })).toBe('bad-data');
    const many = Array.from({ length: 129 }, (_, i) => ({ name: `T${i}`, value: 'v' }));
    expect(await reasonOf({ data: 'x', tags: many })).toBe('too-many-tags');
    expect(await reasonOf({ data: 'x', tags: [{ name: 'Big', value: 'v'.repeat(3073) }] })).toBe('tag-too-long');
    const wide = Array.from({ length: 4 }, (_, i) => ({ name: `T${i}`, value: 'v'.repeat(1100) }));
    expect(await reasonOf({ data: 'x', tags: wide })).toBe('tags-too-large');
  });

  it('tags up to the limits are signed and read back', async () => {
    const tags = [
      { name: 'n'.repeat(1024), value: 'v'.repeat(3000) },
      { name: 'Type', value: '' },
    ];
    const { raw } = await createDataItem({ data: 'x', tags }, wallets.ed25519);
    expect(parseDataItem(raw).tags).toEqual(tags);
    expect(await verifyDataItem(raw)).toBe(true);
  });
});

it('tagValue finds the first tag by name', () => {
  const tags = [...TAGS, { name: 'Action', value: 'Second' }];
  expect(tagValue(tags, 'Action')).toBe('Eval');
  expect(tagValue(tags, 'Missing')).toBeUndefined();
});

it('measures signing cost (printed, not asserted)', async () => {
  const fields = { data: 'x'.repeat(256), tags: TAGS, target: PROCESS };
  const perItem = async (signer: { signer: Parameters<typeof createDataItem>[1]['signer'] }, n: number) => {
    await createDataItem(fields, signer); // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await createDataItem(fields, signer);
    return (performance.now() - t0) / n;
  };
  const verifyCost = async (kind: 'rsa' | 'ed25519', n: number) => {
    const item = (await createDataItem(fields, wallets[kind])).raw;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await verifyDataItem(item);
    return (performance.now() - t0) / n;
  };
  const fmt = (ms: number) => `${ms.toFixed(3)} ms (${Math.round(1000 / ms)}/s)`;
  const rsa = await perItem(wallets.rsa, 50);
  const arweaveSigner = await perItem({ signer: new ArweaveSigner(wallets.rsa.key as RsaJwk) }, 50);
  const ed = await perItem(wallets.ed25519, 500);
  console.log(
    `[ans104] per item, one core: rsa-4096 sign ${fmt(rsa)} (arbundles ArweaveSigner: ${fmt(arweaveSigner)}), ` +
      `verify ${fmt(await verifyCost('rsa', 200))}; ed25519 sign ${fmt(ed)}, verify ${fmt(await verifyCost('ed25519', 500))}`,
  );
}, 60_000);
