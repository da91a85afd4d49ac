import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNode } from '../../../cli/start.js';
import { ConfigError, loadConfig } from '../../../config/load.js';
import { generateWallet } from '../../../units/ans104/index.js';
import { tempDir } from './helpers.js';

describe('SU configuration', () => {
  it('defaults: an Ed25519 wallet created in the data dir, sequencers idle out after a minute', () => {
    const c = loadConfig({}, {});
    expect(c.su).toMatchObject({ walletKind: 'ed25519', idleMs: 60_000, maxRun: 512 });
    expect(c.su.wallet).toBeUndefined();
  });

  it('env and flags set the wallet; a bad kind names the field', () => {
    const c = loadConfig({ su: { wallet: '/w.json' } }, { AOTP_SU_WALLET_KIND: 'rsa' });
    expect(c.su).toMatchObject({ wallet: '/w.json', walletKind: 'rsa' });
    expect(() => loadConfig({}, { AOTP_SU_WALLET_KIND: 'dsa' })).toThrow(ConfigError);
    expect(() => loadConfig({}, { AOTP_SU_WALLET_KIND: 'dsa' })).toThrow(/su\.walletKind/);
  });

  it('a node signs with the wallet file it is given', async () => {
    const dir = tempDir('aotp-su-wallet-');
    const wallet = await generateWallet('ed25519');
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify(wallet.key));
    const node = await startNode(loadConfig({ port: 0, dataDir: dir, logLevel: 'silent', su: { wallet: file } }, {}));
    try {
      expect(node.su.address).toBe(wallet.address);
      expect((await (await fetch(`${node.url}/su`)).json()).address).toBe(wallet.address);
    } finally {
      await node.stop();
    }
  });
});
