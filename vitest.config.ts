import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests run bin/aotp.js, which runs the compiled CLI: dist/ is rebuilt first when stale.
    globalSetup: ['test/support/build.ts'],
    // Separate processes: tests start real nats-servers and LMDB environments, and WASM
    // modules change realm-wide globals; forks keep them apart.
    pool: 'forks',
    execArgv: ['--experimental-wasm-memory64'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
