/**
 * vitest globalSetup: the tests that run `bin/aotp.js` run the compiled CLI (dist/), so dist/
 * is rebuilt first whenever a source file is newer than the last build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCES = ['runtime', 'units', 'supervisors', 'config', 'cli'];
const STAMP = 'dist/.tsbuildinfo';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
  if (Math.max(...SOURCES.map(newest), statSync('tsconfig.build.json').mtimeMs) <= built) return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
