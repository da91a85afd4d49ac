/**
 * Worker threads run TypeScript compiled to dist/: the thread code has no JavaScript source of
 * its own, a thread started from the sources (as here, under vitest) runs the compiled file,
 * a source that was never built is a clear error, and the compiled node runs its threads with
 * no TypeScript loader at all.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { threadModule, ThreadModuleMissing } from '../../runtime/thread-module.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'aotp-thread-module-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('threadModule', () => {
  it('answers a compiled module itself (the node running from dist/)', () => {
    const root = project({ 'tsconfig.build.json': '{}', 'dist/units/w.js': '', 'dist/units/a.js': '' });
    const url = new URL('./w.js', pathToFileURL(join(root, 'dist/units/a.js')));
    expect(threadModule(url).href).toBe(url.href);
  });

  it('answers the compiled file under dist/ for a TypeScript source (tests and benchmarks)', () => {
    const root = project({ 'tsconfig.build.json': '{}', 'units/x/w.ts': '', 'dist/units/x/w.js': '' });
    const url = new URL('./w.js', pathToFileURL(join(root, 'units/x/client.ts')));
    expect(threadModule(url).href).toBe(pathToFileURL(join(root, 'dist/units/x/w.js')).href);
  });

  it('a source never built is an error that says how to build it', () => {
    const root = project({ 'tsconfig.build.json': '{}', 'units/x/w.ts': '' });
    const url = new URL('./w.js', pathToFileURL(join(root, 'units/x/client.ts')));
    expect(() => threadModule(url)).toThrow(ThreadModuleMissing);
    expect(() => threadModule(url)).toThrow(/units\/x\/w\.ts runs in a worker thread from its compiled dist\/units\/x\/w\.js, which is missing: run npm run build/);
  });
});

describe('thread code', () => {
  it('is TypeScript: no JavaScript source (or hand-written .d.ts) among the compiled folders', () => {
    const tracked = execFileSync('git', ['ls-files', 'runtime', 'units', 'supervisors', 'config', 'cli'], { encoding: 'utf8' }).split('\n');
    expect(tracked.filter((f) => /\.(c|m)?js$|\.d\.ts$/.test(f))).toEqual([]);
  });

  it('runs from dist/ with no TypeScript loader: a sign pool with the SU extension signs a run, an evaluator thread answers', () => {
    const dist = (path: string) => pathToFileURL(join(process.cwd(), 'dist', path)).href;
    const script = `
      import { generateWallet, verifyDataItem } from '${dist('units/ans104/index.js')}';
      import { assignmentSignPool } from '${dist('units/su/assignment.js')}';
      import { Evaluator } from '${dist('units/cu/worker/client.js')}';
      const wallet = await generateWallet('ed25519');
      const pool = assignmentSignPool(wallet, 1);
      const [a] = await pool.run('su.signRun', { processId: 'x'.repeat(43), prev: null, items: [{ messageId: 'x'.repeat(43), slot: 0, blockHeight: 0, timestamp: 1 }] });
      const ev = new Evaluator();
      await ev.ready;
      const refused = await ev.call('hash', {}).catch((e) => e.code);
      await Promise.all([pool.close(), ev.terminate()]);
      console.log(JSON.stringify({ verified: await verifyDataItem(a.raw), refused }));
    `;
    // No --import tsx: a thread that needed TypeScript would fail to start.
    const file = join(project({}), 'run.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ verified: true, refused: 'no-instance' });
  });
});
