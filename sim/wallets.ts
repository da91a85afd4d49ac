/**
 * Wallets from the seed: Ed25519 keys whose seeds come from the simulation's PRNG, so that every
 * address, item and assignment id of a run is the same in its replay.
 */
import { createPrivateKey } from 'node:crypto';
import { walletFromKey, type Wallet } from '../units/ans104/index.js';

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export function seededWallet(random: () => number): Wallet {
  const seed = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) seed[i] = Math.floor(random() * 256);
  const jwk = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return walletFromKey(jwk, 'simulated wallet');
}
