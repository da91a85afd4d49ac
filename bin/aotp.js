#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), with the V8 flag the wasm64 aos modules need.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

setFlagsFromString('--experimental-wasm-memory64');
register();
await import('../cli/aotp.ts');
