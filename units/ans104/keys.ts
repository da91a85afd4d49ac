/**
 * Key material for the two wallet kinds an aotp node signs with, and the arbundles `Signer`s
 * built on node:crypto for them.
 *
 * - RSA-4096 (ANS-104 signature type 1): an Arweave JWK. `RsaSigner` is arbundles'
 *   `ArweaveSigner` (same owner bytes, same RSA-PSS/SHA-256 signature) whose `sign` reuses one
 *   parsed private key instead of rebuilding a PEM from the JWK on every call.
 * - Ed25519 (ANS-104 signature type 2): an OKP JWK `{ kty: 'OKP', crv: 'Ed25519', d, x }`
 *   (base64url, 32-byte seed and 32-byte public key), the form node:crypto imports and exports.
 *   arbundles only ships Ed25519 behind `SolanaSigner` (a base58 64-byte secret) and signs with
 *   pure-JS @noble/ed25519; `Ed25519Signer` signs natively and produces the same type-2 items.
 *
 * Everything here is a plain function of the JWK, so it runs the same in a worker thread.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { ArweaveSigner, type Signer } from '@dha-team/arbundles';
import { hashMessage } from '@ethersproject/hash';
import secp256k1 from 'secp256k1';

/** ANS-104 signature types this module verifies (the node signs with the first two). */
export const SignatureType = { RSA: 1, ED25519: 2, ETHEREUM: 3 } as const;

/** Half the order of secp256k1: a canonical (low-S) signature has s ≤ this. */
const SECP256K1_HALF_N = BigInt('0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0');

export interface RsaJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}

export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** base64url of the 32-byte private seed */
  d: string;
  /** base64url of the 32-byte public key */
  x: string;
}

export type WalletKey = RsaJwk | Ed25519Jwk;

/** An Arweave address: base64url(sha256(owner public key bytes)), for every signature type. */
export function addressFromOwner(owner: Uint8Array): string {
  return createHash('sha256').update(owner).digest('base64url');
}

export class RsaSigner extends ArweaveSigner {
  readonly #key: KeyObject;

  constructor(jwk: RsaJwk) {
    super(jwk);
    this.#key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  }

  // Same call arweave-js makes (PSS, default salt length), minus the JWK → PEM conversion.
  override sign(message: Uint8Array): Uint8Array {
    return cryptoSign('sha256', message, { key: this.#key, padding: constants.RSA_PKCS1_PSS_PADDING });
  }
}

export class Ed25519Signer implements Signer {
  readonly signatureType = SignatureType.ED25519;
  readonly signatureLength = 64;
  readonly ownerLength = 32;
  readonly publicKey: Buffer;
  readonly #key: KeyObject;

  constructor(jwk: Ed25519Jwk) {
    this.#key = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
    this.publicKey = Buffer.from(jwk.x, 'base64url');
  }

  sign(message: Uint8Array): Uint8Array {
    return cryptoSign(null, message, this.#key);
  }
}

/**
 * Checks an ANS-104 signature over `message` (the item's deep hash): RSA and Ed25519 with
 * node:crypto, Ethereum with secp256k1. Returns undefined for any other signature type.
 */
export function verifySignature(
  signatureType: number,
  owner: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  try {
    switch (signatureType) {
      case SignatureType.RSA: {
        // Arweave owners carry only the modulus; the exponent is always 65537.
        const key = createPublicKey({ key: { kty: 'RSA', n: b64url(owner), e: 'AQAB' }, format: 'jwk' });
        return cryptoVerify(
          'sha256',
          message,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
          signature,
        );
      }
      case SignatureType.ED25519: {
        const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(owner) }, format: 'jwk' });
        return cryptoVerify(null, message, key, signature);
      }
      case SignatureType.ETHEREUM:
        return verifyEthereum(owner, message, signature);
      default:
        return undefined;
    }
  } catch {
    // A malformed public key is a failed verification, not a crash.
    return false;
  }
}

/**
 * An Ethereum personal-sign signature (EIP-191 over the deep hash, as arbundles' EthereumSigner
 * makes it): r ‖ s ‖ v. Only the canonical form is accepted — v 27 or 28, s in the lower half —
 * and the key it recovers must be the owner. arbundles' verifier ignores v and allows a high s,
 * so one signed message would have several valid signatures, each a different item id: a replay
 * that the SU's dedupe by id could not catch.
 */
function verifyEthereum(owner: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 65 || owner.length !== 65) return false;
  const v = signature[64]!;
  if (v !== 27 && v !== 28) return false;
  const rs = signature.subarray(0, 64);
  if (BigInt(`0x${Buffer.from(rs.subarray(32)).toString('hex')}`) > SECP256K1_HALF_N) return false;
  const digest = Buffer.from(hashMessage(message).slice(2), 'hex');
  const recovered = secp256k1.ecdsaRecover(rs, v - 27, digest, false);
  return Buffer.compare(Buffer.from(recovered), Buffer.from(owner)) === 0;
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
