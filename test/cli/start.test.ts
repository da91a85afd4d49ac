/**
 * `aotp start` as an operator runs it: a child process, a clear refusal (exit code 2) for bad
 * config, a node that answers, and a Ctrl-C that stops the tree and exits 0.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../units/cu/support/harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function aotp(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/aotp.js', 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = once(child, 'exit').then(([code]) => code as number);
  return { child, exited, out: () => out, err: () => err };
}

describe('aotp start', () => {
  it.each([
    [['--port', 'eighty'], {}, /port/],
    [[], { AOTP_PORT: '99999' }, /port/],
    [['--log-level', 'loud'], {}, /logLevel/],
    [['--bogus'], {}, /bogus/],
  ])('refuses bad config %j %j with exit code 2 and says what is wrong', async (args, env, what) => {
    const run = aotp(args as string[], env as Record<string, string>);
    expect(await run.exited).toBe(2);
    expect(run.err()).toMatch(what);
  });

  it('serves the node map, and stops in order on SIGINT with exit code 0', async () => {
    const dir = tempDir('aotp-cli-');
    dirs.push(dir);
    const run = aotp(['--port', '0', '--data-dir', dir]);
    const url = await new Promise<string>((resolve, reject) => {
      run.child.stdout.on('data', () => {
        const m = /"url":"(http:\/\/[^"]+)"/.exec(run.out());
        if (m) resolve(m[1]!);
      });
      run.exited.then((code) => reject(new Error(`exited ${code}: ${run.err()}`)));
    });
    const info = await (await fetch(`${url}/`)).json();
    expect(info.mu).toBe(`${url}/mu`);
    expect(Object.keys(info.modules)).toContain('aos-2.0.4-wasm32');
    expect(run.out()).toContain('GRAPHQL_URL=');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out()).toContain('"msg":"stopped"');
  });
});
