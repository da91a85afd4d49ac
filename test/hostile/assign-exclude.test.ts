/**
 * An unsigned `POST /su?process-id=P&assign=M&exclude=…` with 200 names (or a few long ones)
 * used to make the SU sign and store an assignment its own parser refuses, so that `GET /su/P`
 * answered 500 and P could never be evaluated again. The exclude list is now checked, the same
 * way, wherever an assignment is asked for: the SU's route, the MU's, and the sequencer itself.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../cli/start.js';
import { generateWallet, parseDataItem, tagValue, type Wallet } from '../../units/ans104/index.js';
import { dryRun, evalLua, messageItem, node, post, spawn, tempDir } from '../units/mu/support.js';

let n: RunningNode;
let dir: string;
let user: Wallet;
let p: string;
let m: string;

beforeAll(async () => {
  dir = tempDir('aotp-exclude-');
  user = await generateWallet('ed25519');
  n = await node(dir);
  p = await spawn(n, user);
  const other = await spawn(n, user);
  // A message of another process: what an assignment to p names.
  const item = await messageItem(other, user, [{ name: 'Action', value: 'Note' }], 'hello');
  expect((await post(`${n.url}/mu/`, item.raw)).status).toBe(202);
  m = item.id;
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const HOSTILE: [string, string][] = [
  ['200 names', Array.from({ length: 200 }, (_, i) => `F${i}`).join(',')],
  ['3 names of 2,000 bytes', Array.from({ length: 3 }, () => 'x'.repeat(2000)).join(',')],
  ['a name that is not a field name', 'Data,<script>'],
];

const assign = (base: string, exclude: string) =>
  fetch(`${n.url}${base}?process-id=${p}&assign=${m}&exclude=${encodeURIComponent(exclude)}`, { method: 'POST' });

describe('exclude lists on assignments', () => {
  it.each(HOSTILE)('%s: /su and /mu answer 400 with the reason, and store nothing', async (_what, exclude) => {
    const before = (await n.su.reader.read(p, 0)).length;
    for (const base of ['/su/', '/mu/']) {
      const r = await assign(base, exclude);
      expect(r.status, base).toBe(400);
      expect((await r.json()).error, base).toMatch(/^exclude (names \d+ fields; at most 16|must list message field names)/);
    }
    expect((await n.su.reader.read(p, 0)).length).toBe(before);
  });

  it('the sequencer refuses it too, whoever asks', async () => {
    const r = await n.mu.runtime.scheduler.schedule(p, { op: 'assign', id: m, exclude: Array.from({ length: 200 }, (_, i) => `F${i}`) });
    expect(r).toEqual({ error: 'exclude names 200 fields; at most 16 may be excluded' });
  });

  it('a valid list is assigned, and the log stays readable and evaluable', async () => {
    const r = await assign('/su/', 'Data,Anchor');
    expect(r.status).toBe(200);
    const page = await (await fetch(`${n.url}/su/${p}`)).json();
    const last = page.edges[page.edges.length - 1].node;
    expect(last.message).toBeNull();
    expect(last.assignment.tags.filter((t: { name: string }) => t.name === 'Exclude').map((t: { value: string }) => t.value)).toEqual(['Data', 'Anchor']);
    // Every stored assignment still parses, and the process still evaluates.
    for (const e of await n.su.reader.read(p, 0)) expect(tagValue(parseDataItem(e.assignment).tags, 'Process')).toBe(p);
    await evalLua(n, user, p, 'X = 1; return "ok"');
    expect(await dryRun(n, p, user.address, 'return tostring(X)')).toBe('1');
  });
});
