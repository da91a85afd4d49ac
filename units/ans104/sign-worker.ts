/**
 * A signing worker thread of a SignPool (sign-pool.ts). It holds the wallet's private key
 * (workerData.key, a JWK) and answers batches of jobs:
 *   [{ id, op, arg }] -> one message per job: [{ id, result } | { id, error }]
 * (each answer goes back as soon as it is ready: an RSA job takes milliseconds).
 * Built-in op `sign`: the signature of `arg` (bytes), made as the wallet's signer makes it —
 * RSA-PSS/SHA-256 with node's default salt length (as arweave-js), or Ed25519.
 * workerData.extensions lists module URLs whose `createOps(key)` adds more ops.
 *
 * It imports node: modules only (and its extensions), so that a thread starts in tens of ms.
 */
import { constants, createPrivateKey, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { WalletKey } from './keys.js';

export interface SignJob {
  id: number;
  op: string;
  arg: unknown;
}

export type SignAnswer = { id: number; result: unknown } | { id: number; error: string };

export interface SignWorkerData {
  key: WalletKey;
  extensions?: string[];
}

type Op = (arg: any) => unknown;

const data = workerData as SignWorkerData;
const port = parentPort!;
const key = createPrivateKey({ key: { ...data.key }, format: 'jwk' });
const rsa = data.key.kty === 'RSA';

const ops: Record<string, Op> = {
  sign: (message: Uint8Array) => (rsa ? sign('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING }) : sign(null, message, key)),
};
for (const url of data.extensions ?? []) Object.assign(ops, ((await import(url)) as { createOps(key: WalletKey): Record<string, Op> }).createOps(data.key));

port.on('message', (batch: SignJob[]) => {
  for (const { id, op, arg } of batch) {
    let answer: SignAnswer;
    try {
      const fn = ops[op];
      if (!fn) throw new Error(`unknown op ${op}`);
      answer = { id, result: fn(arg) };
    } catch (e) {
      answer = { id, error: String((e as Error | undefined)?.message || e) };
    }
    port.postMessage([answer]);
  }
});
