/**
 * Every unit's routes declare their params and query strings as zod schemas: a request whose
 * params or query do not fit is a 400 with `{ error }` naming the parameter and what is wrong,
 * before the unit is asked anything. A parameter given twice counts once (the last), so no
 * handler sees an array where it expects a string. Over real HTTP, against a whole node.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../../cli/start.js';
import { node, tempDir } from '../mu/support.js';

let n: RunningNode;
let dir: string;
beforeAll(async () => {
  dir = tempDir('aotp-schemas-');
  n = await node(dir, { network: { acceptUploads: true } });
});
afterAll(async () => {
  await n?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ID = 'Q'.repeat(43);
const NOT_AN_ID = 'abc';

async function ask(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const r = await fetch(`${n.url}${path}`, init);
  const text = await r.text();
  return { status: r.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** A 400 whose `{ error }` is exactly `error` (a string) or matches it. */
async function expect400(path: string, error: string | RegExp, init?: RequestInit) {
  const r = await ask(path, init);
  expect(r.status, path).toBe(400);
  expect(Object.keys(r.body), path).toEqual(['error']);
  if (typeof error === 'string') expect(r.body.error, path).toBe(error);
  else expect(r.body.error, path).toMatch(error);
}

const POST = { method: 'POST' };

describe('SU', () => {
  it('ids in the path and the query, paging parameters, an assignment half-given', async () => {
    await expect400(`/su/${NOT_AN_ID}`, `id must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/su/processes/${NOT_AN_ID}`, `process id must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/su/${NOT_AN_ID}/latest`, `process id must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/su/${ID}?process-id=${NOT_AN_ID}`, `process-id must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/su/${ID}?limit=0`, `limit must be an integer >= 1, got '0'`);
    await expect400(`/su/${ID}?from=x`, `from must be an integer >= 0, got 'x'`);
    await expect400(`/su/${ID}?from-nonce=-2`, `from-nonce must be an integer >= -1, got '-2'`);
    // The last of a repeated parameter counts.
    await expect400(`/su/${ID}?limit=5&limit=nope`, `limit must be an integer >= 1, got 'nope'`);
    await expect400(`/su?process-id=${ID}`, 'If sending assign or process-id, you must send both.', POST);
    await expect400(`/su?process-id=${ID}&assign=${NOT_AN_ID}`, `assign must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`, POST);
    await expect400(`/su?process-id=${ID}&assign=${ID}&exclude=a%20b`, /^exclude must list message field names/, POST);
    // Well-formed, but nothing by that id: the unit's own answer.
    expect(await ask(`/su/${ID}`)).toEqual({ status: 400, body: { error: 'Message or Process not found' } });
  });
});

describe('MU', () => {
  it('an assignment half-given or with ids that are not ids', async () => {
    await expect400(`/mu?assign=${ID}`, 'You must set both process-id and assign to send an assignment, not just one', POST);
    await expect400(`/mu?process-id=${NOT_AN_ID}&assign=${ID}`, `process-id must be a process id (43 base64url characters), got '${NOT_AN_ID}'`, POST);
    await expect400(`/mu?process-id=${ID}&assign=${ID}&exclude=${'x'.repeat(65)}`, /^exclude must list message field names/, POST);
  });

  it("the MU's typed errors keep their status: an unknown job 404, an empty body 400", async () => {
    expect(await ask(`/mu/jobs/${NOT_AN_ID}`)).toEqual({ status: 404, body: { error: `No push job ${NOT_AN_ID}` } });
    expect(await ask('/mu', POST)).toEqual({ status: 400, body: { error: 'Request body is empty: send a signed ANS-104 data item' } });
  });
});

describe('CU', () => {
  it('a process id missing or not an id, a limit or a sort that is not one', async () => {
    await expect400(`/cu/result/${ID}`, 'process-id is required: a process id (43 base64url characters)');
    await expect400(`/cu/result/${ID}?process-id=${NOT_AN_ID}`, `process-id must be a process id (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/cu/dry-run?process-id=${NOT_AN_ID}`, `process-id must be a process id (43 base64url characters), got '${NOT_AN_ID}'`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    for (const route of ['results', 'state', 'cron', 'checkpoint']) {
      await expect400(`/cu/${route}/${NOT_AN_ID}`, `process id must be a transaction id (43 base64url characters), got '${NOT_AN_ID}'`);
    }
    await expect400(`/cu/results/${ID}?limit=0`, `limit must be a positive integer, got '0'`);
    await expect400(`/cu/cron/${ID}?limit=1.5`, `limit must be a positive integer, got '1.5'`);
    await expect400(`/cu/results/${ID}?sort=UP`, `sort must be ASC or DESC, got 'UP'`);
  });

  it('a repeated parameter is its last value, not an array the handler cannot read', async () => {
    // Before the schemas, the CU saw ['ASC', 'DESC'] and ['abc', '<id>'] and answered 400.
    const page = await ask(`/cu/results/${ID}?sort=ASC&sort=DESC`);
    expect(page.status).not.toBe(400);
    const result = await ask(`/cu/result/${ID}?process-id=${NOT_AN_ID}&process-id=${ID}`);
    expect(result.status).not.toBe(400);
  });
});

describe('AO-Sec', () => {
  it('an address or a process id that is not one', async () => {
    await expect400(`/sec/stakes/${NOT_AN_ID}`, `address must be an address (43 base64url characters), got '${NOT_AN_ID}'`);
    await expect400(`/sec/${NOT_AN_ID}`, `process id must be a process id (43 base64url characters), got '${NOT_AN_ID}'`);
  });
});

describe('observer', () => {
  it('a kill without node and pid', async () => {
    await expect400('/observer/kill', 'expected JSON { "node": "<node name>", "pid": "<pid>" }', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"node":1}' });
  });
});

describe('gateway', () => {
  it('an upload that is not a data item: 400 with the reason of InvalidDataItem', async () => {
    await expect400('/tx', /^unknown signature type 513; this node accepts/, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([1, 2, 3]) });
  });

  it('GraphQL answers its own errors in its shape, those fastify raises too', async () => {
    const bad = await ask('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body)).toEqual(['errors']);
    expect(bad.body.errors[0].message).toMatch(/JSON/);
    const none = await ask('/graphql?query=');
    expect(none).toEqual({ status: 400, body: { errors: [{ message: 'a GraphQL request needs a "query" string' }] } });
  });
});
