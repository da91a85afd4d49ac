/**
 * Reloading a node's supervision policy as an operator does: a node on the embedded bus reads
 * its --config file again on SIGHUP and says what it applied (or why not, and keeps running);
 * `aotp reload` refuses bad input with exit code 2.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../units/cu/support/harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function aotp(args: string[]) {
  const child = spawn(process.execPath, ['bin/aotp.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = once(child, 'exit').then(([code]) => code as number);
  /** The first log line (JSON) whose message matches, once it is printed. */
  const line = (msg: RegExp) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const look = () => {
        for (const l of out.split('\n')) {
          if (!l.startsWith('{')) continue;
          const j = JSON.parse(l) as Record<string, unknown>;
          if (typeof j.msg === 'string' && msg.test(j.msg)) return resolve(j);
        }
      };
      child.stdout.on('data', look);
      look();
      void exited.then((code) => reject(new Error(`exited ${code} before ${msg}: ${err}`)));
    });
  return { child, exited, line, out: () => out, err: () => err };
}

describe('policy reload', () => {
  it('SIGHUP: a node on the embedded bus applies the policy of its config file again, and refuses a bad one', async () => {
    const dir = tempDir('aotp-hup-');
    dirs.push(dir);
    const file = join(dir, 'config.json');
    const config = { port: 0, dataDir: join(dir, 'data'), logLevel: 'info' };
    writeFileSync(file, JSON.stringify(config));
    const node = aotp(['start', '--config', file]);
    const url = String((await node.line(/^aotp node listening/)).url);
    await node.line(/^for aoconnect/);

    writeFileSync(file, JSON.stringify({ ...config, shutdownMs: 1234, su: { restartIntensity: 7, restartPeriod: 9 } }));
    node.child.kill('SIGHUP');
    const done = await node.line(/^policy reloaded/);
    expect(done.changed).toEqual({ shutdownMs: [5000, 1234], 'su.restartIntensity': [100, 7], 'su.restartPeriod': [5, 9] });
    expect(done.msg).toMatch(/supervisor\(s\) updated/);

    writeFileSync(file, JSON.stringify({ ...config, su: { restartIntensity: -1 } }));
    node.child.kill('SIGHUP');
    expect((await node.line(/^policy not reloaded/)).msg).toMatch(/su\.restartIntensity/);
    // Still serving, with the policy it had.
    expect((await fetch(`${url}/`)).status).toBe(200);

    node.child.kill('SIGINT');
    expect(await node.exited).toBe(0);
  });

  it('aotp reload needs a config file and a bus, and refuses a bad config file with exit code 2', async () => {
    const dir = tempDir('aotp-reload-cli-');
    dirs.push(dir);
    const noBus = aotp(['reload', '--config', join(dir, 'none.json')]);
    expect(await noBus.exited).toBe(2);
    expect(noBus.err()).toMatch(/--nats/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ cu: { restartPeriod: 0 } }));
    const refused = aotp(['reload', '--config', bad, '--nats', 'nats://127.0.0.1:1']);
    expect(await refused.exited).toBe(2);
    expect(refused.err()).toMatch(/cu\.restartPeriod/);
  });
});
