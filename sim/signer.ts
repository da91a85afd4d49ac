/**
 * A signer whose every signature is new, as RSA-PSS signatures are (a random salt each time),
 * yet decided by the seed: Ed25519 with a nonce from the simulation's stream instead of the
 * standard's hash of the message. The signatures verify as any Ed25519 signature does; but
 * signing one item twice gives two different signatures, hence two different item ids, as on a
 * node whose MU signs with RSA. That is what makes a push job that signs its outbox twice visible
 * in a simulation (the MU's signed-once rule), while every run of a seed stays the same.
 */
import { createHash } from 'node:crypto';
import { CURVE, Point, utils } from '@noble/ed25519';
import type { Signer } from '@dha-team/arbundles';
import { SignatureType, walletFromKey, type Ed25519Jwk, type Wallet } from '../units/ans104/index.js';

const le = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);

function toLe32(n: bigint): Buffer {
  const hex = n.toString(16).padStart(64, '0');
  return Buffer.from(hex, 'hex').reverse();
}

const sha512 = (...parts: Uint8Array[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

class SeededNonceSigner implements Signer {
  readonly signatureType = SignatureType.ED25519;
  readonly signatureLength = 64;
  readonly ownerLength = 32;
  readonly publicKey: Buffer;
  private readonly scalar: bigint;

  constructor(
    jwk: Ed25519Jwk,
    private readonly random: () => number,
  ) {
    this.publicKey = Buffer.from(jwk.x, 'base64url');
    const head = sha512(Buffer.from(jwk.d, 'base64url')).subarray(0, 32);
    head[0]! &= 248;
    head[31]! &= 127;
    head[31]! |= 64;
    this.scalar = utils.mod(le(head), CURVE.l);
  }

  sign(message: Uint8Array): Uint8Array {
    const seed = Buffer.alloc(64);
    for (let i = 0; i < seed.length; i++) seed[i] = Math.floor(this.random() * 256);
    const r = utils.mod(le(seed), CURVE.l);
    const R = Point.BASE.multiply(r).toRawBytes();
    const k = utils.mod(le(sha512(R, this.publicKey, message)), CURVE.l);
    const s = utils.mod(r + k * this.scalar, CURVE.l);
    return Buffer.concat([R, toLe32(s)]);
  }
}

/** `wallet` (an Ed25519 one) signing with nonces from `random`. */
export function seededNonceWallet(wallet: Wallet, random: () => number): Wallet {
  if (wallet.key.kty !== 'OKP') throw new Error('a seeded-nonce signer needs an Ed25519 wallet');
  const signer = new SeededNonceSigner(wallet.key, random);
  return { ...walletFromKey(wallet.key), signer };
}
