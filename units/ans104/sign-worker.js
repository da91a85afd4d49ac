// A signing worker thread (plain JavaScript: worker threads load no TypeScript). It holds the
// wallet's private key (workerData.key, a JWK) and answers batches of jobs from its SignPool:
//   [{ id, op, arg }] -> one message per job: [{ id, result } | { id, error }]
// (each answer goes back as soon as it is ready: an RSA job takes milliseconds)
// Built-in op `sign`: the signature of `arg` (bytes), made as the wallet's signer makes it —
// RSA-PSS/SHA-256 with node's default salt length (as arweave-js), or Ed25519.
// workerData.extensions lists module URLs whose `createOps(key)` adds more ops.
import { constants, createPrivateKey, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const key = createPrivateKey({ key: workerData.key, format: 'jwk' });
const rsa = workerData.key.kty === 'RSA';

const ops = {
  sign: (message) =>
    rsa ? sign('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING }) : sign(null, message, key),
};
for (const url of workerData.extensions ?? []) Object.assign(ops, (await import(url)).createOps(workerData.key));

parentPort.on('message', (batch) => {
  for (const { id, op, arg } of batch) {
    let answer;
    try {
      const fn = ops[op];
      if (!fn) throw new Error(`unknown op ${op}`);
      answer = { id, result: fn(arg) };
    } catch (e) {
      answer = { id, error: String((e && e.message) || e) };
    }
    parentPort.postMessage([answer]);
  }
});
