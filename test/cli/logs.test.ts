/**
 * Logs: request lines only at debug, one JSON object per line by default and readable lines
 * with --log-format pretty; a start an actor refuses (a lease held elsewhere) is not an "actor
 * crashed" error; a crash with an object reason prints the object, never "[object Object]".
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Node, type Behaviour } from '../../runtime/index.js';
import { tempDir } from '../units/cu/support/harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function runNode(args: string[]) {
  const dir = tempDir('aotp-logs-');
  dirs.push(dir);
  const child = spawn(process.execPath, ['bin/aotp.js', 'start', '--port', '0', '--data-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /aotp node listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(out)));
  });
  await (await fetch(`${url}/`)).arrayBuffer();
  await (await fetch(`${url}/no/such/route`)).arrayBuffer();
  child.kill('SIGINT');
  const [code] = await exited;
  return { code, out };
}

describe('logs', () => {
  it('JSON lines by default, with no request lines at info', async () => {
    const { code, out } = await runNode([]);
    expect(code, out).toBe(0);
    const lines = out.trim().split('\n');
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(out).not.toMatch(/incoming request|request completed/);
    expect(out).toContain('"msg":"stopped"');
    // A stop on a signal is no failure: the root's exit then is not logged as fatal.
    expect(out).not.toMatch(/"level":60/);
  }, 60_000);

  it('--log-format pretty: readable lines', async () => {
    const { code, out } = await runNode(['--log-format', 'pretty']);
    expect(code, out).toBe(0);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: aotp node listening on http:/m);
    expect(out).not.toMatch(/^\{"level"/m);
    expect(out).toMatch(/INFO: stopped/);
    expect(out).not.toMatch(/FATAL/);
  }, 60_000);

  it('a refused start is not a crash; an object reason is printed as itself', async () => {
    const lines: { level: number; msg: string; reason?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const node = await Node.start({ name: 'logs1', logger });
    const refuses: Behaviour = { init: () => ({ stop: { not_owner: 'n2 holds the lease of P' } }) };
    expect(await node.spawn({ behaviour: refuses })).toEqual({ error: { not_owner: 'n2 holds the lease of P' } });
    const crashes: Behaviour = {
      init: () => ({ ok: null }),
      handleCast: () => {
        throw { bad: 'state', at: 3 };
      },
    };
    const r = await node.spawn({ behaviour: crashes });
    if (!('ok' in r)) throw new Error('did not start');
    node.cast(r.ok, 'go');
    await new Promise((res) => setTimeout(res, 50));
    await node.stop();
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['actor crashed']);
    expect(lines.find((l) => l.msg === 'actor crashed')!.reason).toBe('{"bad":"state","at":3}');
    expect(lines.find((l) => l.msg === 'actor did not start')!.level).toBe(20);
    expect(JSON.stringify(lines)).not.toContain('[object Object]');
    expect(node.stats.crashes.map((c) => c.reason)).toEqual(['{"bad":"state","at":3}']);
  });
});
