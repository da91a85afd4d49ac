/**
 * The simulation's JetStream model against a real nats-server (started by the test, JetStream on,
 * its own store dir): one script of the calls the cluster code makes — stream create and info,
 * publishes with expected last subject sequence and Nats-Msg-Id, gets by sequence, last and next
 * by subject, purges, KV revisions and deletes — runs on both, and what each answers must be the
 * same, so that the model cannot drift from the server. Then what only the model does: the
 * faults a cluster has (a lost answer, a cut-off client, a lost leader, R3's late check).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers, StorageType, type NatsConnection } from 'nats';
import { SimJetStream } from '../../runtime/sim/jetstream.js';
import { SimScheduler } from '../../runtime/sim/scheduler.js';
import { prng } from '../../runtime/prng.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Runs the script on `c` (a nats.js connection or the model's) and answers what it saw. */
async function script(c: NatsConnection): Promise<string[]> {
  const out: string[] = [];
  const show = (v: unknown): string =>
    JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? dec.decode(x) : typeof x === 'bigint' ? String(x) : x));
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      out.push(`${what}: ${show(await fn())}`);
    } catch (e) {
      const err = e as { code?: string; api_error?: { code: number; err_code: number; description: string } };
      out.push(`${what}: error ${err.code} ${show(err.api_error ?? null)}`);
    }
  };
  const js = c.jetstream({ timeout: 2000 });
  const jsm = await c.jetstreamManager({ timeout: 2000 });
  const config = { name: 'T', subjects: ['t.log.>'], num_replicas: 1, storage: StorageType.File, duplicate_window: 120_000_000_000 };
  await step('add a stream', async () => (await jsm.streams.add(config)).config.subjects);
  await step('add it again', async () => (await jsm.streams.add(config)).config.subjects);
  await step('info of no stream', () => jsm.streams.info('NOPE'));
  const pub = (subject: string, data: string, o: { expect?: number; msgID?: string; kind?: string } = {}) => {
    const h = headers();
    if (o.kind) h.set('Aotp-Kind', o.kind);
    return js
      .publish(subject, enc.encode(data), { headers: h, ...(o.msgID ? { msgID: o.msgID } : {}), ...(o.expect !== undefined ? { expect: { lastSubjectSequence: o.expect } } : {}) })
      .then((a) => ({ seq: a.seq, duplicate: a.duplicate, stream: a.stream }));
  };
  await step('first on a, expecting none', () => pub('t.log.a', 'a1', { expect: 0, msgID: 'a@0', kind: 'fence' }));
  await step('again expecting none (a stale writer)', () => pub('t.log.a', 'a1-rival', { expect: 0 }));
  await step('the same id again (an earlier attempt stored)', () => pub('t.log.a', 'a1-retry', { expect: 0, msgID: 'a@0' }));
  await step('next on a, expecting 1', () => pub('t.log.a', 'a2', { expect: 1, msgID: 'a@1', kind: 'slot' }));
  await step('a rival with the same id and expectation', () => pub('t.log.a', 'a2-rival', { expect: 1, msgID: 'a@1' }));
  await step('a rival with its own id, expecting 1', () => pub('t.log.a', 'a2-rival', { expect: 1, msgID: 'rival@1' }));
  await step('first on b', () => pub('t.log.b', 'b1', { expect: 0 }));
  await step('next on a, expecting 2', () => pub('t.log.a', 'a3', { expect: 2 }));
  await step('no expectation', () => pub('t.log.c', 'c1'));
  await step('to no stream', () => pub('nostream.x', 'x'));
  // next_by_subj is what replicated-log.ts asks (nats.js' type does not list it).
  const get = (q: { seq?: number; last_by_subj?: string; next_by_subj?: string }) =>
    jsm.streams.getMessage('T', q as never).then((m) => ({ subject: m.subject, seq: m.seq, data: dec.decode(m.data), kind: m.header?.get('Aotp-Kind') ?? '' }));
  await step('last of a', () => get({ last_by_subj: 't.log.a' }));
  await step('next of b from 1', () => get({ seq: 1, next_by_subj: 't.log.b' }));
  await step('next of b from 4', () => get({ seq: 4, next_by_subj: 't.log.b' }));
  await step('next of a from 3', () => get({ seq: 3, next_by_subj: 't.log.a' }));
  await step('seq 2', () => get({ seq: 2 }));
  await step('seq 99', () => get({ seq: 99 }));
  await step('last of a subject with none', () => get({ last_by_subj: 't.log.zzz' }));
  const info = (filter?: string) =>
    jsm.streams.info('T', filter ? { subjects_filter: filter } : undefined).then((i) => ({ messages: i.state.messages, first: i.state.first_seq, last: i.state.last_seq, subjects: i.state.subjects ?? null }));
  await step('info', () => info());
  await step('info of t.log.*', () => info('t.log.*'));
  await step('purge b', () => jsm.streams.purge('T', { filter: 't.log.b' }).then((r) => r.purged));
  await step('info after', () => info('t.log.>'));
  await step('next of b after the purge', () => get({ seq: 1, next_by_subj: 't.log.b' }));
  await step('a stream keeping one per subject', async () => (await jsm.streams.add({ name: 'M', subjects: ['m.>'], max_msgs_per_subject: 1, num_replicas: 1, storage: StorageType.File })).config.name);
  await step('m.x twice', async () => [await js.publish('m.x', enc.encode('1')), await js.publish('m.x', enc.encode('2'))].map((a) => a.seq));
  await step('M holds', () => jsm.streams.info('M').then((i) => [i.state.messages, i.state.first_seq, i.state.last_seq]));
  await step('M seq 1', () => jsm.streams.getMessage('M', { seq: 1 }).then((m) => m.seq));

  const kv = await js.views.kv('b', { history: 1, allow_direct: false, timeout: 2000 });
  const entry = (e: Awaited<ReturnType<typeof kv.get>>) => (e ? { key: e.key, revision: e.revision, operation: e.operation, value: dec.decode(e.value), length: e.length } : null);
  await step('kv get of nothing', async () => entry(await kv.get('k')));
  await step('kv create (a cas on $KV, expecting 0)', () => js.publish('$KV.b.k', enc.encode('v1'), { msgID: 'k@0', expect: { lastSubjectSequence: 0 } }).then((a) => [a.seq, a.duplicate]));
  await step('kv get', async () => entry(await kv.get('k')));
  await step('kv update expecting 1', () => js.publish('$KV.b.k', enc.encode('v2'), { msgID: 'k@1', expect: { lastSubjectSequence: 1 } }).then((a) => a.seq));
  await step('kv update expecting 1 again', () => js.publish('$KV.b.k', enc.encode('v2b'), { expect: { lastSubjectSequence: 1 } }).then((a) => a.seq));
  await step('kv get revision 1 (gone: history 1)', async () => entry(await kv.get('k', { revision: 1 })));
  await step('kv get revision 2', async () => entry(await kv.get('k', { revision: 2 })));
  await step('kv create k2', () => kv.create('k2', enc.encode('x')));
  await step('kv create k2 again', () => kv.create('k2', enc.encode('y')));
  await step('kv update k2', () => kv.update('k2', enc.encode('z'), 3));
  await step('kv delete k', () => kv.delete('k'));
  await step('kv get of a deleted key', async () => entry(await kv.get('k')));
  await step('kv keys', async () => {
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    return keys.sort();
  });
  await step('kv create a deleted key again', () => kv.create('k', enc.encode('again')));
  await step('kv purge k2', () => kv.purge('k2'));
  await step('kv get of a purged key', async () => entry(await kv.get('k2')));
  return out;
}

describe('the JetStream model answers as nats-server does', () => {
  it('one script of the cluster code’s calls: the same answers from the model and from a real server', async () => {
    const real = await script(nc);
    const sched = new SimScheduler();
    const model = new SimJetStream({ sched, random: prng(1), latency: () => 0.5 });
    let done = false;
    const p = script(model.connection('n1:1') as unknown as NatsConnection).finally(() => (done = true));
    await sched.run({ stop: () => done });
    const simulated = await p;
    if (process.env.AOTP_SHOW) console.log(real.join('\n'));
    expect(simulated).toEqual(real);
    // Not vacuous: the real server refused the stale writer and deduplicated the retry.
    expect(real.find((l) => l.startsWith('again expecting none'))).toContain('10071');
    expect(real.find((l) => l.startsWith('the same id again'))).toContain('"duplicate":true');
  }, 120_000);
});

describe('what a cluster does to JetStream, in the model', () => {
  function model(o: { applyLagMs?: number; answerLoss?: number } = {}) {
    const sched = new SimScheduler();
    const js = new SimJetStream({ sched, random: prng(7), latency: () => 1, ...o });
    return { sched, js, c: js.connection('n1:1') as unknown as NatsConnection };
  }
  const run = async (sched: SimScheduler, p: Promise<unknown>) => {
    let done = false;
    const q = p.finally(() => (done = true));
    await sched.run({ stop: () => done });
    return q;
  };

  it('an answer lost after the write: the client times out, and the write is stored', async () => {
    const { sched, js, c } = model({ answerLoss: 1 });
    js.streams.set('T', undefined as never);
    js.streams.delete('T');
    const jsm = await c.jetstreamManager();
    const add = jsm.streams.add({ name: 'T', subjects: ['t.>'] } as never).catch((e: Error) => e);
    expect(await run(sched, add)).toMatchObject({ code: 'TIMEOUT' });
    expect(js.streams.has('T')).toBe(true);
  });

  it('a client cut off times out and changes nothing; while there is no leader, requests fail', async () => {
    const { sched, js, c } = model();
    const jsm = await c.jetstreamManager({ timeout: 500 });
    await run(sched, jsm.streams.add({ name: 'T', subjects: ['t.>'] } as never));
    js.reachable = () => false;
    const cut = c.jetstream({ timeout: 500 }).publish('t.a', enc.encode('x')).catch((e: Error) => e);
    expect(await run(sched, cut)).toMatchObject({ code: 'TIMEOUT' });
    expect(js.stream('T').lastSeq).toBe(0);
    js.reachable = () => true;
    js.loseLeader(10_000);
    const outcomes = await run(sched, Promise.all(Array.from({ length: 8 }, () => c.jetstream({ timeout: 500 }).publish('t.a', enc.encode('x')).then(() => 'ok', (e: { code: string }) => e.code))));
    expect(outcomes).not.toContain('ok');
    expect(new Set(outcomes as string[])).toEqual(new Set(['503', 'TIMEOUT']));
  });

  it("R3's late check: two writers expecting the same entry both land, unless their Nats-Msg-Ids collide", async () => {
    const { sched, c } = model({ applyLagMs: 5 });
    const js = c.jetstream();
    const jsm = await c.jetstreamManager();
    await run(sched, jsm.streams.add({ name: 'T', subjects: ['t.>'] } as never));
    const both = await run(sched, Promise.all([js.publish('t.a', enc.encode('1'), { expect: { lastSubjectSequence: 0 } }), js.publish('t.a', enc.encode('2'), { expect: { lastSubjectSequence: 0 } })]));
    expect((both as { seq: number }[]).map((a) => a.seq)).toEqual([1, 2]);
    const deduped = await run(sched, Promise.all([js.publish('t.b', enc.encode('1'), { msgID: 'b@0', expect: { lastSubjectSequence: 0 } }), js.publish('t.b', enc.encode('2'), { msgID: 'b@0', expect: { lastSubjectSequence: 0 } })]));
    expect((deduped as { seq: number; duplicate: boolean }[]).map((a) => [a.seq, a.duplicate])).toEqual([[3, false], [3, true]]);
  });
});
