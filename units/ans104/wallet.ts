/**
 * Wallets: load one from a JSON file, generate one, or do either on a node's first start.
 *
 * File formats (JSON):
 * - rsa:     an Arweave JWK `{ kty: 'RSA', n, e, d, p, q, dp, dq, qi }` (4096-bit, e = AQAB);
 *            extra members some tools add (`ext`, `alg`, …) are ignored.
 * - ed25519: `{ kty: 'OKP', crv: 'Ed25519', d, x }`, base64url seed and public key.
 */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Signer } from '@dha-team/arbundles';
import {
  addressFromOwner,
  Ed25519Signer,
  RsaSigner,
  verifySignature,
  type Ed25519Jwk,
  type RsaJwk,
  type WalletKey,
} from './keys.js';

export type WalletKind = 'rsa' | 'ed25519';

export interface Wallet {
  readonly kind: WalletKind;
  /** base64url(sha256(owner)): the address arbundles items signed by this wallet carry. */
  readonly address: string;
  /** The public key bytes that go into a data item's owner field. */
  readonly owner: Uint8Array;
  /** The private key as plain JSON: what to write to disk or post to a worker thread. */
  readonly key: WalletKey;
  readonly signer: Signer;
}

export class InvalidWallet extends Error {
  override readonly name = 'InvalidWallet';
}

const RSA_OWNER_BYTES = 512;
const RSA_FIELDS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;
const B64URL = /^[A-Za-z0-9_-]+$/;

const fromKeyCache = new WeakMap<object, Wallet>();

/**
 * A wallet from a JWK, validated (shape, key size, and one sign/verify round trip, so a corrupt
 * key fails here rather than as invalid signatures later). Memoised per key object.
 */
export function walletFromKey(key: unknown, source = 'wallet'): Wallet {
  if (typeof key === 'object' && key !== null) {
    const cached = fromKeyCache.get(key);
    if (cached) return cached;
  }
  const wallet = buildWallet(key, source);
  fromKeyCache.set(key as object, wallet);
  fromKeyCache.set(wallet.key, wallet);
  return wallet;
}

function buildWallet(key: unknown, source: string): Wallet {
  if (typeof key !== 'object' || key === null) throw new InvalidWallet(`${source}: expected a JSON object (a JWK)`);
  const k = key as Record<string, unknown>;
  let wallet: Wallet;
  try {
    if (k.kty === 'RSA') wallet = rsaWallet(k, source);
    else if (k.kty === 'OKP' && k.crv === 'Ed25519') wallet = ed25519Wallet(k, source);
    else throw new InvalidWallet(`${source}: unsupported key (kty=${String(k.kty)}); expected an RSA JWK or an Ed25519 OKP JWK`);
  } catch (err) {
    if (err instanceof InvalidWallet) throw err;
    throw new InvalidWallet(`${source}: key rejected by node:crypto: ${(err as Error).message}`);
  }
  const probe = Buffer.from('aotp wallet self-check');
  const ok = verifySignature(wallet.signer.signatureType, wallet.owner, probe, wallet.signer.sign(probe) as Uint8Array);
  if (!ok) throw new InvalidWallet(`${source}: the private key does not match the public key (self-check signature failed)`);
  return wallet;
}

function rsaWallet(k: Record<string, unknown>, source: string): Wallet {
  for (const f of RSA_FIELDS) {
    if (typeof k[f] !== 'string' || !B64URL.test(k[f] as string)) {
      throw new InvalidWallet(`${source}: RSA JWK member '${f}' is missing or not base64url`);
    }
  }
  const jwk = Object.fromEntries(RSA_FIELDS.map((f) => [f, k[f]])) as Omit<RsaJwk, 'kty'>;
  const owner = Buffer.from(jwk.n, 'base64url');
  if (owner.byteLength !== RSA_OWNER_BYTES) {
    throw new InvalidWallet(`${source}: RSA modulus is ${owner.byteLength * 8} bits; Arweave wallets are 4096-bit`);
  }
  if (jwk.e !== 'AQAB') throw new InvalidWallet(`${source}: RSA public exponent must be 65537 (e = "AQAB")`);
  const key: RsaJwk = { kty: 'RSA', ...jwk };
  return { kind: 'rsa', address: addressFromOwner(owner), owner, key, signer: new RsaSigner(key) };
}

function ed25519Wallet(k: Record<string, unknown>, source: string): Wallet {
  for (const f of ['d', 'x'] as const) {
    const v = k[f];
    if (typeof v !== 'string' || !B64URL.test(v) || Buffer.from(v, 'base64url').byteLength !== 32) {
      throw new InvalidWallet(`${source}: Ed25519 JWK member '${f}' must be 32 bytes of base64url`);
    }
  }
  const key: Ed25519Jwk = { kty: 'OKP', crv: 'Ed25519', d: k.d as string, x: k.x as string };
  const signer = new Ed25519Signer(key);
  return { kind: 'ed25519', address: addressFromOwner(signer.publicKey), owner: signer.publicKey, key, signer };
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** A fresh wallet. RSA-4096 generation takes a second or more; it runs off the event loop. */
export async function generateWallet(kind: WalletKind): Promise<Wallet> {
  const { privateKey } =
    kind === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: 4096, publicExponent: 65537 })
      : await generateKeyPairAsync('ed25519');
  return walletFromKey(privateKey.export({ format: 'jwk' }), `generated ${kind} wallet`);
}

export async function loadWallet(path: string): Promise<Wallet> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidWallet(`${path}: not JSON (${(err as Error).message})`);
  }
  return walletFromKey(json, path);
}

export interface LoadOrCreateOptions {
  kind: WalletKind;
  /** File name inside the data dir; default `wallet.json`. */
  fileName?: string;
}

export interface LoadOrCreateResult {
  wallet: Wallet;
  /** true when this call generated the wallet and wrote the file. */
  created: boolean;
  path: string;
}

/**
 * The node's wallet: loaded from `<dataDir>/<fileName>`, or generated and written there (mode
 * 0600, fsynced) when the file does not exist. Concurrent first starts on one data dir agree on
 * one wallet: the file is published with link(2), which never overwrites.
 */
export async function loadOrCreateWallet(dataDir: string, opts: LoadOrCreateOptions): Promise<LoadOrCreateResult> {
  const path = join(dataDir, opts.fileName ?? 'wallet.json');
  const existing = await loadIfPresent(path, opts.kind);
  if (existing) return { wallet: existing, created: false, path };

  await mkdir(dataDir, { recursive: true });
  const wallet = await generateWallet(opts.kind);
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    await writeDurably(tmp, `${JSON.stringify(wallet.key, null, 2)}\n`);
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Another starter published first: use its wallet.
      const winner = await loadIfPresent(path, opts.kind);
      if (winner) return { wallet: winner, created: false, path };
      throw err;
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncDir(dataDir);
  return { wallet, created: true, path };
}

async function loadIfPresent(path: string, kind: WalletKind): Promise<Wallet | undefined> {
  let wallet: Wallet;
  try {
    wallet = await loadWallet(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (wallet.kind !== kind) {
    throw new InvalidWallet(`${path} holds an ${wallet.kind} wallet but an ${kind} wallet was asked for`);
  }
  return wallet;
}

async function writeDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
