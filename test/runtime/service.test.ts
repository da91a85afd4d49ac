import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallError, LocalBus, Node, service, serviceProxy, ServiceError } from '../../runtime/index.js';

class Teapot extends Error {
  override readonly name = 'Teapot';
  readonly status = 418;
}

const impl = {
  calls: 0,
  async add(a: number, b: number) {
    this.calls++;
    return a + b;
  },
  async slow(ms: number) {
    await new Promise((r) => setTimeout(r, ms));
    return 'slow';
  },
  async brew(): Promise<never> {
    throw new Teapot('I am a teapot');
  },
  secret() {
    return 'not exported';
  },
};
type Impl = typeof impl;

let a: Node;
let b: Node;
beforeAll(async () => {
  const bus = new LocalBus();
  a = await Node.start({ name: 'a', bus, encodeLocal: true });
  b = await Node.start({ name: 'b', bus, encodeLocal: true });
  await b.spawn({ behaviour: service, args: { impl, methods: ['add', 'slow', 'brew'] } }, { name: 'svc' });
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

describe("service: an object's methods, run for callers on other nodes", () => {
  const proxy = () => serviceProxy<Impl>(a, { name: 'svc', node: 'b' }, ['add', 'slow', 'brew'], 2000);

  it('runs a method on the remote node and answers its value', async () => {
    expect(await proxy().add(2, 3)).toBe(5);
    expect(impl.calls).toBe(1);
  });

  it("rethrows the method's error with its name, message and status", async () => {
    const e = await proxy().brew().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ServiceError);
    expect(e).toMatchObject({ name: 'Teapot', message: 'I am a teapot', status: 418 });
  });

  it('refuses methods it does not export', async () => {
    const p = serviceProxy<Impl>(a, { name: 'svc', node: 'b' }, ['secret'], 2000);
    await expect(p.secret()).rejects.toThrow(/no method secret/);
  });

  it('answers a fast call while a slow one is running', async () => {
    const order: string[] = [];
    const slow = proxy().slow(300).then(() => order.push('slow'));
    const fast = proxy().add(1, 1).then(() => order.push('fast'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['fast', 'slow']);
  });

  it('a call to a node that is not there fails with a CallError', async () => {
    const p = serviceProxy<Impl>(a, { name: 'svc', node: 'nowhere' }, ['add'], 500);
    await expect(p.add(1, 2)).rejects.toBeInstanceOf(CallError);
  });
});
