/** The README's quickstart, run as written against a node this test starts. */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { node, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
beforeAll(async () => {
  dir = tempDir('aotp-quickstart-');
  n = await node(dir);
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('examples/quickstart.mjs', () => {
  it('spawns two processes, makes A message B, and prints both results', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['examples/quickstart.mjs'], { env: { ...process.env, AOTP_URL: `${n.url}/` }, timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^A: .*asked B/);
    expect(lines[1]).toMatch(/^B: pong from [A-Za-z0-9_-]{43} \| A now holds: pong from [A-Za-z0-9_-]{43}$/);
  });
});
