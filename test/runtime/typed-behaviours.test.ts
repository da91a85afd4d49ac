/**
 * Typed behaviours: a behaviour declares its calls (a union of `Call<Request, Reply>`), the pid
 * a start answers carries them, and `call(pid, request)` takes only those requests and resolves
 * with the matching reply type. The type checks are compile-time (`npx tsc --noEmit -p .` fails
 * if an `expectTypeOf` does not hold, or if a line marked @ts-expect-error compiles); the calls
 * also run, so the types describe what actually comes back.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  Node,
  onNode,
  supervisorSpec,
  typedName,
  whichChildren,
  type ActorContext,
  type Behaviour,
  type Call,
  type ChildInfo,
  type From,
  type Pid,
  type ProtocolOf,
  type ReplyTo,
  type StartResult,
  type SupervisorProtocol,
} from '../../runtime/index.js';

type CounterCalls = Call<{ op: 'get' }, number> | Call<{ op: 'add'; n: number }, { total: number }> | Call<'reset', 'ok'>;

const counter: Behaviour<{ start: number }, number, CounterCalls, { op: 'bump' }> = {
  init: (a) => ({ ok: a.start }),
  handleCall(req, _from, s) {
    if (req === 'reset') return { reply: 'ok', state: 0 };
    if (req.op === 'get') return { reply: s, state: s };
    return { reply: { total: s + req.n }, state: s + req.n };
  },
  handleCast(_msg, s) {
    return { state: s + 1 };
  },
};

/** An actor that asks another one, through its context: the context's call is typed too. */
const asker: Behaviour<{ counter: Pid<CounterCalls> }, Pid<CounterCalls>, Call<'ask', number>> = {
  init: (a) => ({ ok: a.counter }),
  async handleCall(_req, _from, counterPid, ctx: ActorContext) {
    const n = await ctx.call(counterPid, { op: 'get' });
    expectTypeOf(n).toEqualTypeOf<number>();
    return { reply: n * 10, state: counterPid };
  },
};

let node: Node;
beforeAll(async () => {
  node = await Node.start({ name: 'typed', encodeLocal: true });
});
afterAll(() => node.stop());

async function startCounter(start: number): Promise<Pid<CounterCalls>> {
  const r = await node.spawn({ behaviour: counter, args: { start } });
  expectTypeOf(r).toEqualTypeOf<StartResult<CounterCalls>>();
  if (!('ok' in r)) throw new Error('counter did not start');
  return r.ok;
}

describe('typed behaviours', () => {
  it('call(pid, request) resolves with the reply type of that request', async () => {
    const pid = await startCounter(1);
    expectTypeOf(pid).toEqualTypeOf<Pid<CounterCalls>>();

    const n = await node.call(pid, { op: 'get' });
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(1);

    const t = await node.call(pid, { op: 'add', n: 2 });
    expectTypeOf(t).toEqualTypeOf<{ total: number }>();
    expect(t).toEqual({ total: 3 });

    const reset = await node.call(pid, 'reset');
    expectTypeOf(reset).toEqualTypeOf<'ok'>();
    expect(reset).toBe('ok');
  });

  it('a typed name and a name on a node carry the calls too; an actor calls through its context', async () => {
    const pid = await startCounter(4);
    const COUNTER = typedName<CounterCalls>('counter');
    expect(node.register(COUNTER, pid)).toBe(true);
    const byName = await node.call(COUNTER, { op: 'get' });
    expectTypeOf(byName).toEqualTypeOf<number>();
    expect(byName).toBe(4);
    const onThisNode = await node.call(onNode(COUNTER, node.name), { op: 'add', n: 1 });
    expectTypeOf(onThisNode).toEqualTypeOf<{ total: number }>();
    expect(onThisNode).toEqual({ total: 5 });

    const a = await node.spawn({ behaviour: asker, args: { counter: pid } });
    if (!('ok' in a)) throw new Error('asker did not start');
    const asked = await node.call(a.ok, 'ask');
    expectTypeOf(asked).toEqualTypeOf<number>();
    expect(asked).toBe(50);
  });

  it("the runtime's supervisor is typed: its calls, and its API", async () => {
    const r = await node.spawn(supervisorSpec({ children: [] }));
    if (!('ok' in r)) throw new Error('supervisor did not start');
    expectTypeOf(r.ok).toEqualTypeOf<Pid<SupervisorProtocol>>();
    const which = await node.call(r.ok, { op: 'whichChildren' });
    expectTypeOf(which).toEqualTypeOf<ChildInfo[]>();
    expect(which).toEqual([]);
    expectTypeOf(whichChildren(node, r.ok)).resolves.toEqualTypeOf<ChildInfo[]>();
  });

  it('an untyped pid takes any request and answers unknown, or the reply type given', async () => {
    const pid: Pid = await startCounter(7);
    const u = await node.call(pid, { op: 'get' });
    expectTypeOf(u).toBeUnknown();
    const n = await node.call<number>(pid, { op: 'get' });
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(7);
  });

  it('protocol types: what a behaviour answers, and which reply a request gets', () => {
    expectTypeOf<ProtocolOf<typeof counter>>().toEqualTypeOf<CounterCalls>();
    expectTypeOf<ReplyTo<CounterCalls, { op: 'add'; n: 1 }>>().toEqualTypeOf<{ total: number }>();
    expectTypeOf<ReplyTo<CounterCalls, { op: 'nope' }>>().toBeNever();
    // A behaviour's callbacks take `unknown`, never `any`, unless they say what they take.
    const untyped: Behaviour = { init: () => ({ ok: 0 }) };
    expectTypeOf<Parameters<NonNullable<Behaviour['handleCall']>>[0]>().toBeUnknown();
    expectTypeOf<Parameters<NonNullable<Behaviour['handleCast']>>[0]>().toBeUnknown();
    expectTypeOf<Parameters<NonNullable<Behaviour['handleInfo']>>[0]>().toBeUnknown();
    expectTypeOf<Parameters<Behaviour['init']>[0]>().toBeUnknown();
    expectTypeOf(untyped).not.toBeAny();
    expectTypeOf<From<number>>().not.toEqualTypeOf<From<string>>();
  });
});

/** Never run: each line below must fail to compile (tsc checks the @ts-expect-error marks). */
export async function wrongUsesDoNotCompile(pid: Pid<CounterCalls>, sup: Pid<SupervisorProtocol>, ctx: ActorContext, from: From<number>) {
  // @ts-expect-error not one of the counter's requests
  await node.call(pid, { op: 'sub', n: 1 });
  // @ts-expect-error a request with a field of the wrong type
  await node.call(pid, { op: 'add', n: '2' });
  // @ts-expect-error a request missing a field
  await node.call(pid, { op: 'add' });
  // @ts-expect-error the reply to get is a number, not a string
  const s: string = await node.call(pid, { op: 'get' });
  // @ts-expect-error a misspelled supervisor call
  await node.call(sup, { op: 'whichChildrn' });
  // @ts-expect-error through an actor's context as well
  await ctx.call(pid, 'resett');
  // @ts-expect-error a typed name checks as the pid does
  await node.call(typedName<CounterCalls>('counter'), { op: 'gett' });
  // @ts-expect-error a reply of the wrong type for the call it answers
  ctx.reply(from, 'not a number');
  const wrongReply: Behaviour<void, number, CounterCalls> = {
    init: () => ({ ok: 0 }),
    // @ts-expect-error a reply that is none of the protocol's replies
    handleCall: (_req, _from, s) => ({ reply: new Date(), state: s }),
  };
  return [s, wrongReply];
}
