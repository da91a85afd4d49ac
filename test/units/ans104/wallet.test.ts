import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDataItem,
  generateWallet,
  InvalidWallet,
  loadOrCreateWallet,
  loadWallet,
  ownerAddress,
  parseDataItem,
  walletFromKey,
} from '../../../units/ans104/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aotp-wallet-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(['rsa', 'ed25519'] as const)('%s wallet', (kind) => {
  it('is created on first start, then loaded with the same address', async () => {
    const dataDir = join(dir, 'node-data');
    const first = await loadOrCreateWallet(dataDir, { kind });
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(dataDir, 'wallet.json'));
    expect((await stat(first.path)).mode & 0o777).toBe(0o600);

    const second = await loadOrCreateWallet(dataDir, { kind });
    expect(second.created).toBe(false);
    expect(second.wallet.address).toBe(first.wallet.address);
    expect(second.wallet.kind).toBe(kind);
    // Nothing but the wallet is left in the data dir.
    expect(await readdir(dataDir)).toEqual(['wallet.json']);
  }, 30_000);

  it('concurrent first starts agree on one wallet', async () => {
    const results = await Promise.all([1, 2, 3].map(() => loadOrCreateWallet(dir, { kind })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.wallet.address)).size).toBe(1);
    expect(await readdir(dir)).toEqual(['wallet.json']);
  }, 60_000);

  it('signs items whose owner address is the wallet address', async () => {
    const { wallet } = await loadOrCreateWallet(dir, { kind });
    const item = parseDataItem((await createDataItem({ data: 'x' }, wallet)).raw);
    expect(ownerAddress(item)).toBe(wallet.address);
  }, 30_000);
});

it('an RSA address is base64url(sha256(modulus))', async () => {
  const wallet = await generateWallet('rsa');
  const n = Buffer.from((wallet.key as { n: string }).n, 'base64url');
  expect(n).toHaveLength(512);
  expect(wallet.address).toBe(createHash('sha256').update(n).digest('base64url'));
}, 30_000);

it('an Ed25519 wallet file is an OKP JWK and its address hashes the 32-byte public key', async () => {
  const { path, wallet } = await loadOrCreateWallet(dir, { kind: 'ed25519' });
  const json = JSON.parse(await readFile(path, 'utf8'));
  expect(Object.keys(json).sort()).toEqual(['crv', 'd', 'kty', 'x']);
  expect(json).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  const x = Buffer.from(json.x, 'base64url');
  expect(x).toHaveLength(32);
  expect(wallet.address).toBe(createHash('sha256').update(x).digest('base64url'));
});

it('loads an Arweave JWK file that carries extra members', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096, publicExponent: 65537 });
  const path = join(dir, 'arweave-keyfile.json');
  await writeFile(path, JSON.stringify({ ...privateKey.export({ format: 'jwk' }), ext: true }));
  const wallet = await loadWallet(path);
  expect(wallet.kind).toBe('rsa');
  expect(wallet.key).not.toHaveProperty('ext');
}, 30_000);

describe('bad wallet files are refused with the reason', () => {
  const refused = async (content: string) => {
    const path = join(dir, 'wallet.json');
    await writeFile(path, content);
    const err = await loadWallet(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidWallet);
    return (err as Error).message;
  };

  it('not JSON, not a JWK, missing members', async () => {
    expect(await refused('{ nope')).toMatch(/not JSON/);
    expect(await refused('[1,2]')).toMatch(/unsupported key/);
    expect(await refused('{"kty":"EC","crv":"P-256"}')).toMatch(/unsupported key/);
    expect(await refused('{"kty":"RSA","n":"AQAB","e":"AQAB"}')).toMatch(/'d' is missing/);
  });

  it('an RSA key that is not 4096-bit', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    expect(await refused(JSON.stringify(privateKey.export({ format: 'jwk' })))).toMatch(/2048 bits/);
  });

  it('an Ed25519 key whose public half belongs to another key', async () => {
    const a = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const b = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    expect(await refused(JSON.stringify({ ...a, x: b.x }))).toMatch(/does not match|rejected/);
  });

  it('a wallet of another kind than the node asks for', async () => {
    await loadOrCreateWallet(dir, { kind: 'ed25519' });
    await expect(loadOrCreateWallet(dir, { kind: 'rsa' })).rejects.toThrow(/holds an ed25519 wallet/);
  });
});

it('walletFromKey returns the same wallet for the same key object', async () => {
  const wallet = await generateWallet('ed25519');
  expect(walletFromKey(wallet.key)).toBe(wallet);
});
