/**
 * Forged signatures: only the ANS-104 signature types this node verifies itself (Arweave RSA,
 * Ed25519, Ethereum secp256k1) are accepted. An item of any other type is refused with
 * "unsupported signature type" at every door (`/su`, `/mu`, `/mu/monitor`, the module store),
 * and an Ethereum signature is accepted only in its one canonical form.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { DataItem, EthereumSigner, SIG_CONFIG, createData } from '@dha-team/arbundles';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, InvalidDataItem, ownerAddress, parseDataItem, verifyDataItem, type Tag, type Wallet } from '../../units/ans104/index.js';
import { encodeTags } from '../../units/su/assignment.js';
import { node, post, spawn, tempDir } from '../units/mu/support.js';

const SECP256K1_N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');

/** The bytes of an item of `type` with the layout arbundles expects, and made-up key material. */
function forge(type: number, tags: Tag[], target?: string, data = 'forged'): Buffer {
  const { sigLength, pubLength } = (SIG_CONFIG as Record<number, { sigLength: number; pubLength: number }>)[type]!;
  const signature = randomBytes(sigLength);
  // multi-aptos: an all-zero bitmap (its last 4 bytes) is what arbundles verifies without a key.
  if (type === 6) signature.fill(0, sigLength - 4);
  const tagBytes = encodeTags(tags);
  const counts = Buffer.alloc(16);
  counts.writeBigUInt64LE(BigInt(tags.length), 0);
  counts.writeBigUInt64LE(BigInt(tagBytes.length), 8);
  const typeBytes = Buffer.alloc(2);
  typeBytes.writeUInt16LE(type);
  return Buffer.concat([
    typeBytes,
    signature,
    randomBytes(pubLength),
    target ? Buffer.concat([Buffer.from([1]), Buffer.from(target, 'base64url')]) : Buffer.from([0]),
    Buffer.from([0]),
    counts,
    tagBytes,
    Buffer.from(data),
  ]);
}

const OTHER_TYPES = Object.keys(SIG_CONFIG)
  .map(Number)
  .filter((t) => ![1, 2, 3].includes(t));

describe('signature types', () => {
  it('arbundles verifies a multi-aptos item with an empty bitmap and no key: the forgery this guards against', async () => {
    const raw = forge(6, [{ name: 'Type', value: 'Message' }]);
    expect(await DataItem.verify(raw)).toBe(true);
    expect(await verifyDataItem(raw)).toBe(false);
  });

  it.each(OTHER_TYPES)('type %i is refused when parsed, whatever its bytes', async (type) => {
    const raw = forge(type, [{ name: 'Data-Protocol', value: 'ao' }]);
    const err = (() => {
      try {
        parseDataItem(raw);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidDataItem);
    expect((err as InvalidDataItem).reason).toBe('unsupported-signature-type');
    expect((err as Error).message).toMatch(new RegExp(`^unsupported signature type ${type}; this node accepts 1 \\(Arweave RSA-4096\\), 2 \\(Ed25519\\), 3 \\(Ethereum secp256k1\\)`));
    expect(await verifyDataItem(raw)).toBe(false);
  });

  describe('Ethereum (type 3)', () => {
    let raw: Buffer;
    let signer: EthereumSigner;
    beforeAll(async () => {
      signer = new EthereumSigner(randomBytes(32).toString('hex'));
      const item = createData('hello', signer, { tags: [{ name: 'Data-Protocol', value: 'ao' }] });
      await item.sign(signer);
      raw = item.getRaw();
    });
    const SIG = 2;

    it('an item signed by arbundles EthereumSigner verifies, and its owner is the signer', async () => {
      expect(await verifyDataItem(raw)).toBe(true);
      const item = parseDataItem(raw);
      expect(item.signatureType).toBe(3);
      expect(Buffer.from(item.owner, 'base64url').equals(signer.publicKey)).toBe(true);
      expect(ownerAddress(item)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('one changed byte of data or tags fails', async () => {
      const t = Buffer.from(raw);
      t[t.length - 1]! ^= 1;
      expect(await verifyDataItem(t)).toBe(false);
    });

    it('a second signature of the same item (v flipped, or s negated) is refused: it would be a replay under a new id', async () => {
      const v = raw[SIG + 64]!;
      const flipped = Buffer.from(raw);
      flipped[SIG + 64] = v === 27 ? 28 : 27;
      const zeroV = Buffer.from(raw);
      zeroV[SIG + 64] = v - 27;
      // (r, n - s) with the other recovery id is the same key's valid high-S signature.
      const s = BigInt(`0x${raw.subarray(SIG + 32, SIG + 64).toString('hex')}`);
      const highS = Buffer.from(raw);
      Buffer.from((SECP256K1_N - s).toString(16).padStart(64, '0'), 'hex').copy(highS, SIG + 32);
      highS[SIG + 64] = v === 27 ? 28 : 27;
      for (const other of [flipped, zeroV, highS]) {
        expect(parseDataItem(other).id).not.toBe(parseDataItem(raw).id);
        expect(await verifyDataItem(other)).toBe(false);
      }
      // arbundles accepts at least one of them: the reason this node checks v and s itself.
      const theirs = await Promise.all([flipped, zeroV, highS].map((b) => DataItem.verify(b).catch(() => false)));
      expect(theirs).toContain(true);
    });

    it('random owner or signature bytes fail without throwing', async () => {
      for (let i = 0; i < 20; i++) {
        const f = Buffer.from(raw);
        randomBytes(65).copy(f, SIG + (i % 2 === 0 ? 0 : 65));
        expect(await verifyDataItem(f)).toBe(false);
      }
    });
  });
});

describe('every door of a node refuses forged types', () => {
  let n: RunningNode;
  let dir: string;
  let user: Wallet;
  let processId: string;
  beforeAll(async () => {
    dir = tempDir('aotp-sig-');
    n = await node(dir);
    user = await generateWallet('ed25519');
    processId = await spawn(n, user);
  });
  afterAll(async () => {
    await n?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const message = (type: number) =>
    forge(type, [
      { name: 'Data-Protocol', value: 'ao' },
      { name: 'Type', value: 'Message' },
      { name: 'Action', value: 'Eval' },
    ], processId, 'print("forged")');

  it.each(OTHER_TYPES)('type %i: /su, /mu, /mu/monitor answer 400 and store nothing', async (type) => {
    const before = (await n.su.reader.read(processId, 0)).length;
    for (const path of ['/su/', '/mu/', `/mu/monitor/${processId}`]) {
      const raw = message(type);
      const r = await post(`${n.url}${path}`, raw);
      expect(r.status, path).toBe(400);
      expect((await r.json()).error, path).toMatch(new RegExp(`unsupported signature type ${type}`));
    }
    expect((await n.su.reader.read(processId, 0)).length).toBe(before);
    expect(n.mu.store.monitor(processId)).toBeUndefined();
  });

  it.each(OTHER_TYPES)('type %i: the module store refuses a forged module', async (type) => {
    const raw = forge(type, [
      { name: 'Data-Protocol', value: 'ao' },
      { name: 'Type', value: 'Module' },
      { name: 'Module-Format', value: 'wasm32-unknown-emscripten4' },
    ]);
    await expect(n.cu.modules.put(raw)).rejects.toThrow(/unsupported signature type/);
  });

  it('a real Ethereum-signed message is accepted and evaluated', async () => {
    const eth = new EthereumSigner(randomBytes(32).toString('hex'));
    const item = createData('print("eth")', eth, {
      target: processId,
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Type', value: 'Message' },
        { name: 'Action', value: 'Ping' },
      ],
    });
    await item.sign(eth);
    const r = await post(`${n.url}/mu/`, item.getRaw());
    expect(r.status).toBe(202);
    expect((await n.su.reader.read(processId, 0)).some((e) => e.messageId === item.id)).toBe(true);
    // Still canonical only: the same item with v flipped is a different id and refused.
    const raw = Buffer.from(item.getRaw());
    raw[2 + 64] = raw[2 + 64] === 27 ? 28 : 27;
    const again = await post(`${n.url}/mu/`, raw);
    expect(again.status).toBe(400);
    expect((await again.json()).error).toMatch(/Invalid signature/);
  });
});
