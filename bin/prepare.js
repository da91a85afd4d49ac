#!/usr/bin/env node
// `npm ci` runs this (package.json `prepare`): it compiles dist/ with TypeScript, a dev
// dependency. A production install (`npm ci --omit=dev`) has no TypeScript: it keeps a dist/
// already built (build, then prune: see the README) and says so; with no dist/ it stops with
// the fix instead of tsc's "not found".
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('..', import.meta.url);
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc) {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
} else if (existsSync(new URL('dist/cli/aotp.js', root))) {
  console.error('aotp: TypeScript is not installed (a production install): using the dist/ already built');
} else {
  console.error('aotp: dist/ is not built and TypeScript is not installed: run `npm ci` (with dev dependencies, which builds dist/), then `npm prune --omit=dev`');
  process.exit(1);
}
