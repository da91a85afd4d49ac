import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../../cli/start.js';
import { loadConfig } from '../../../config/load.js';
import { createDataItem, generateWallet, type Wallet } from '../../../units/ans104/index.js';
import { lastLine, printed, tempDir } from './support/harness.js';

let running: RunningNode;
let dir: string;
let user: Wallet;
beforeAll(async () => {
  dir = tempDir('aotp-node-');
  user = await generateWallet('ed25519');
  running = await startNode(loadConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, {}));
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, raw: Uint8Array) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(raw) });

describe('aotp start serves the CU under /cu', () => {
  it('spawns an aos process from a bundled module over HTTP (SU) and answers its results (CU), with no network', async () => {
    const info = await (await fetch(`${running.url}/cu/`)).json();
    expect(info.address).toBe(running.cu.address);
    const moduleId = info.modules['aos-2.0.6-wasm64'];
    expect(moduleId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const spawn = await createDataItem(
      {
        data: '',
        anchor: randomBytes(32),
        tags: [
          { name: 'Data-Protocol', value: 'ao' },
          { name: 'Variant', value: 'ao.TN.1' },
          { name: 'Type', value: 'Process' },
          { name: 'Module', value: moduleId },
          { name: 'Scheduler', value: running.su.address },
          { name: 'Authority', value: user.address },
        ],
      },
      user,
    );
    expect((await post(`${running.url}/su/`, spawn.raw)).status).toBeLessThan(300);
    const msg = await createDataItem(
      { data: 'return "hello from " .. ao.id', target: spawn.id, anchor: randomBytes(32), tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }] },
      user,
    );
    expect((await post(`${running.url}/su/`, msg.raw)).status).toBeLessThan(300);
    const r = await fetch(`${running.url}/cu/result/${msg.id}?process-id=${spawn.id}`);
    expect(r.status).toBe(200);
    expect(lastLine(printed(await r.json()))).toBe(`hello from ${spawn.id}`);
    const dry = await fetch(`${running.url}/cu/dry-run?process-id=${spawn.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Target: spawn.id, Owner: user.address, Tags: [{ name: 'Action', value: 'Eval' }], Data: 'return 1 + 2' }),
    });
    expect(lastLine(printed(await dry.json()))).toBe('3');
  });
});
