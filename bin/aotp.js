#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs through `prepare`),
// with the V8 flag the wasm64 aos modules need.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

const cli = new URL('../dist/cli/aotp.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('aotp: dist/ is missing: run `npm run build` (npm ci runs it)');
  process.exit(2);
}
setFlagsFromString('--experimental-wasm-memory64');
await import(cli.href);
