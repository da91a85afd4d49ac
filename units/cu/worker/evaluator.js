// The evaluator thread: one AO process's instance (instance.js), served one request at a time.
//
// Plain JavaScript (like units/ans104/sign-worker.js) so that a worker starts in tens of ms,
// without a TypeScript loader. The messages it takes and answers are typed in protocol.ts.
//
// ao-loader replaces Date.now, Math.random and console.log for the whole JS realm while a module
// runs (and the emscripten glue replaces Date.now for good when an instance is created), so
// modules run here, never on the node's event loop.
import { setFlagsFromString } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { createInstanceOps } from './instance.js';

setFlagsFromString('--experimental-wasm-memory64');
const ops = createInstanceOps();

/** An error's message, whatever was thrown. */
function text(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

// Started: ao-loader is loaded, requests are taken from here on.
parentPort.postMessage({ ready: true });

// One request at a time, in arrival order (a request's work may await).
let queue = Promise.resolve();
parentPort.on('message', (req) => {
  queue = queue.then(() => serve(req));
});

async function serve(req) {
  const fn = ops[req.op];
  try {
    if (!fn) throw new CodedError('bad-op', `unknown op ${req.op}`);
    const value = await fn(req, (item) => parentPort.postMessage({ id: req.id, item }));
    const transfer = [];
    if (value instanceof Uint8Array) transfer.push(value.buffer);
    else if (value && value.data instanceof Uint8Array && value.pages instanceof Uint8Array && req.op === 'snapshot') {
      // Fresh buffers made for this answer; hand them over instead of copying.
      if (value.data.byteOffset === 0 && value.data.byteLength === value.data.buffer.byteLength) transfer.push(value.data.buffer);
    }
    parentPort.postMessage({ id: req.id, ok: true, value }, transfer);
  } catch (e) {
    parentPort.postMessage({ id: req.id, ok: false, error: { message: text(e), code: e?.code ?? 'error' } });
  }
}
