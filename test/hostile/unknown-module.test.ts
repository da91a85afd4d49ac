/** A spawn through the MU of a module its CU cannot run is refused at once, not left to fail at its first message. */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { node, post, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
let user: Wallet;
beforeAll(async () => {
  dir = tempDir('aotp-module-');
  user = await generateWallet('ed25519');
  n = await node(dir);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('a spawn of an unknown module is a 400 with the reason, and leaves no job and no process', async () => {
  const module = randomBytes(32).toString('base64url');
  const spawn = await createDataItem(
    {
      data: '',
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: module },
        { name: 'Scheduler', value: n.su.address },
      ],
    },
    user,
  );
  const r = await post(`${n.url}/mu/`, spawn.raw);
  expect(r.status).toBe(400);
  expect((await r.json()).error).toBe(`Module not found: ${module} is not known to this CU (looked in its store) (GET / lists the modules this node bundles)`);
  expect(n.mu.store.job(spawn.id)).toBeUndefined();
  expect(n.su.reader.hosts(spawn.id)).toBe(false);
});
