/**
 * Slow readers cannot make the node hold unbounded response bytes: while one client is (not)
 * reading a ~57 MB answer, another large answer is a 503 with Retry-After, past
 * responseBytesInFlight; once the first has been read, large answers are served again; small
 * ones are served all along.
 */
import { request, type IncomingMessage } from 'node:http';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.js';
import { startNode, type RunningNode } from '../../../cli/start.js';
import { tempDir } from '../cu/support/harness.js';
import { messageItem, spawnItem } from '../su/helpers.js';

let node: RunningNode;
let dir: string;
let pid: string;
let big: string;

beforeAll(async () => {
  dir = tempDir('aotp-budget-');
  node = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent', responseBytesInFlight: 32 * 1024 * 1024 }, {}));
  const s = await spawnItem(node.su.address);
  expect((await fetch(`${node.url}/su`, { method: 'POST', body: Buffer.from(s.raw) })).status).toBe(200);
  pid = s.id;
  // 9.5 MB of 0x01: its JSON (each byte escaped as \u0001) is ~57 MB.
  const m = await messageItem(pid, '\u0001'.repeat(9.5 * 1024 * 1024));
  expect((await fetch(`${node.url}/su`, { method: 'POST', body: Buffer.from(m.raw) })).status).toBe(200);
  big = m.id;
}, 120_000);
afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A GET whose body is not read until `read()` is called. */
async function slowGet(path: string): Promise<{ res: IncomingMessage; read(): Promise<string> }> {
  const req = request(`${node.url}${path}`);
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.pause();
  return {
    res,
    async read() {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.resume();
      await once(res, 'end');
      return Buffer.concat(chunks).toString();
    },
  };
}

describe('response bytes in flight', () => {
  it('a second large answer while the first is unread is a 503; after it is read, it is served', async () => {
    const url = `/su/${big}?process-id=${pid}`;
    const first = await slowGet(url);
    expect(first.res.statusCode).toBe(200);
    const second = await fetch(`${node.url}${url}`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('1');
    expect((await second.json()).error).toMatch(/sending \d+ bytes to other clients/);
    // Small answers are not held back.
    expect((await fetch(`${node.url}/su/processes/${pid}`)).status).toBe(200);
    expect(JSON.parse(await first.read()).message.id).toBe(big);
    // The server counts the first one as sent once its socket side closes.
    for (;;) {
      const r = await fetch(`${node.url}${url}`);
      if (r.status === 200) {
        expect((await r.json()).message.id).toBe(big);
        break;
      }
      expect(r.status).toBe(503);
      await r.arrayBuffer();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
});
