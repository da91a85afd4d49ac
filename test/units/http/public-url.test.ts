/**
 * `GET /` names the units' URLs from configuration (publicUrl, else http://<host>:<port>), never
 * from the request's Host header: a client sending `Host: evil.example` does not make the node
 * advertise evil.example. The SU's Scheduler-Location record, which clients use to find the SU,
 * carries the public URL too.
 */
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../config/load.js';
import { startNode, type RunningNode } from '../../../cli/start.js';
import { tempDir } from '../cu/support/harness.js';

let node: RunningNode | undefined;
let dir = '';
afterEach(async () => {
  await node?.stop();
  node = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** GET with a Host header of our choosing (fetch does not let one set it). */
function get(url: string, host: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(overrides: Record<string, unknown> = {}) {
  dir = tempDir('aotp-url-');
  node = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent', ...overrides }, {}));
  return node;
}

describe('the node map', () => {
  it('a Host header does not change the URLs: they are http://<host>:<port> by default', async () => {
    const n = await start();
    const port = new URL(n.url).port;
    const info = await get(`${n.url}/`, 'evil.example');
    expect(JSON.stringify(info)).not.toContain('evil.example');
    expect(info).toMatchObject({ mu: `http://127.0.0.1:${port}/mu`, su: `http://127.0.0.1:${port}/su`, cu: `http://127.0.0.1:${port}/cu`, graphql: `http://127.0.0.1:${port}/graphql` });
  });

  it('publicUrl: GET / and the Scheduler-Location record name it', async () => {
    const n = await start({ publicUrl: 'https://node.example/ao/' });
    const info = await get(`${n.url}/`, 'evil.example');
    expect(info).toMatchObject({ url: 'https://node.example/ao', mu: 'https://node.example/ao/mu', su: 'https://node.example/ao/su' });
    const r = await fetch(`${n.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `query ($owner: String!) { transactions(owners: [$owner], tags: [{ name: "Type", values: ["Scheduler-Location"] }], first: 1) { edges { node { tags { name value } } } } }`,
        variables: { owner: n.su.address },
      }),
    });
    const tags = (await r.json()).data.transactions.edges[0].node.tags as { name: string; value: string }[];
    expect(tags.find((t) => t.name === 'Url')?.value).toBe('https://node.example/ao/su');
  });

  it('a publicUrl that is not an http(s) URL is refused at start', () => {
    expect(() => loadConfig({ publicUrl: 'javascript:alert(1)' }, {})).toThrow(/publicUrl/);
    expect(() => loadConfig({ publicUrl: 'https://node.example/?q=1' }, {})).toThrow(/publicUrl/);
  });
});
