/**
 * The evaluator thread: one AO process's instance (instance.ts), serving the process actor's
 * requests (client.ts) one at a time, in arrival order. The messages are typed in protocol.ts.
 *
 * ao-loader replaces Date.now, Math.random and console.log for the whole JS realm while a module
 * runs (and the emscripten glue replaces Date.now for good when an instance is created), so
 * modules run here, never on the node's event loop; times here come from performance.now.
 */
import { setFlagsFromString } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { CodedError, createInstanceOps, text } from './instance.js';
import type { WorkerOp, WorkerOps, WorkerReply } from './protocol.js';

setFlagsFromString('--experimental-wasm-memory64');
const port = parentPort!;
const ops = createInstanceOps();

type Request = { id: number; op: WorkerOp } & Record<string, unknown>;

// Started: ao-loader is loaded, requests are taken from here on.
port.postMessage({ ready: true });

let queue = Promise.resolve();
port.on('message', (req: Request) => {
  queue = queue.then(() => serve(req));
});

const reply = (r: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);

async function serve(req: Request): Promise<void> {
  const fn = ops[req.op] as ((args: unknown, emit: (item: unknown) => void) => unknown) | undefined;
  try {
    if (!fn) throw new CodedError('bad-op', `unknown op ${req.op}`);
    const value = await fn(req, (item) => reply({ id: req.id, item }));
    reply({ id: req.id, ok: true, value }, transferable(req.op, value));
  } catch (e) {
    reply({ id: req.id, ok: false, error: { message: text(e), code: String((e as { code?: unknown } | undefined)?.code ?? 'error') } });
  }
}

/** Fresh buffers made for this answer: handed over instead of copied. */
function transferable(op: WorkerOp, value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array) return [value.buffer as ArrayBuffer];
  if (op === 'snapshot') {
    const data = (value as WorkerOps['snapshot']['value']).data;
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return [data.buffer as ArrayBuffer];
  }
  return [];
}
