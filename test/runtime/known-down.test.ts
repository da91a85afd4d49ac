/**
 * Membership on NATS decides takeovers, so "down" must mean "not heard by a node that was
 * listening": a node that just started, came back from a pause, or was frozen cannot know.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport, Node } from '../../runtime/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

let server: NatsServerHandle;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

const DOWN_MS = 400;
const transport = () => new NatsTransport({ servers: server.url, heartbeatMs: 100, downAfterMs: DOWN_MS });

/** Resolves when `cond()` holds, checking on every heartbeat-sized step. */
async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('known down', () => {
  it('a node silenced without a goodbye is known down after downAfterMs; one never heard is not, until this node has listened that long', async () => {
    const startedAt = Date.now();
    const a = await Node.start({ name: 'a', transport: transport() });
    // Nobody called "ghost" exists, but a has not listened long enough to say so.
    expect(a.knownDown('ghost')).toBe(false);
    const bt = transport();
    const b = await Node.start({ name: 'b', transport: bt });
    await a.connect('b');
    expect(a.knownDown('b')).toBe(false);
    await until(() => a.knownDown('ghost'), 5000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(DOWN_MS - 5); // (timers round down)

    // b vanishes as a SIGKILL would: its connection closes, no bye.
    await bt.connection.close();
    const cutAt = Date.now();
    await until(() => !a.members().includes('b'), 5000);
    expect(a.knownDown('b')).toBe(true);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(DOWN_MS - 100);
    expect(a.knownDown('a')).toBe(false);
    await a.stop();
    await b.stop().catch(() => undefined);
  });

  it('a paused node knows nobody down while paused, nor until it has listened again for downAfterMs', async () => {
    const a = await Node.start({ name: 'a2', transport: transport() });
    const b = await Node.start({ name: 'b2', transport: transport() });
    await a.connect('b2');
    await until(() => a.knownDown('ghost'), 5000);
    a.pauseBus(300);
    expect(a.members()).toEqual(['a2']); // b2 is unreachable to it...
    expect(a.knownDown('b2')).toBe(false); // ...but not known down
    expect(a.knownDown('ghost')).toBe(false);
    await until(() => a.members().includes('b2'), 5000);
    expect(a.knownDown('ghost')).toBe(false);
    await until(() => a.knownDown('ghost'), 5000);
    expect(b.members()).toContain('a2');
    await a.stop();
    await b.stop();
  });
});
