/**
 * The simulation's clients: aos processes spawned through the MU of a node the seed picks, a
 * handler program loaded into each (Eval by its owner), then messages at seeded times:
 *
 * - Ping with a route of processes: each hop's handler sends the next Ping, so a push crosses
 *   processes (and, in a cluster, their owners) as an outbox chain;
 * - Count (no outbox), Assign-Me (the handler's outbox assigns the message to another process),
 *   Spawn-Child (the handler spawns a process; the MU tells the parent it was Spawned);
 * - an assignment through the MU (`POST /mu?process-id=&assign=`) of an earlier message;
 * - the same signed item again, to another node (a client retrying);
 * - reads of results (`GET /cu/result/:id`), whose answers must be what every CU computed;
 * - a process with a cron (Cron-Interval) monitored through the MU, whose ticks message a peer.
 *
 * What every answer was is kept (the ledger); the invariants hold the nodes to it.
 */
import { createDataItem, type SignedDataItem, type Tag, type Wallet } from '../units/ans104/index.js';
import { shortHash } from '../runtime/sim/trace.js';
import { SIM_MODULE, type SimNode } from './node.js';
import { seededWallet } from './wallets.js';
import type { World } from './world.js';

export const HANDLERS = `
Sim = Sim or { pings = 0, counts = 0, ticks = 0 }
-- Every handler prints the counts: a memory that went wrong shows in the results.
local function report() print("pings=" .. Sim.pings .. " counts=" .. Sim.counts .. " ticks=" .. Sim.ticks) end
Handlers.add("sim-ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function(msg)
  Sim.pings = Sim.pings + 1
  report()
  local nextId, rest = string.match(msg.Tags.Route or "", "^([^,]+),?(.*)$")
  if nextId then ao.send({ Target = nextId, Action = "Ping", Route = rest }) end
end)
Handlers.add("sim-count", Handlers.utils.hasMatchingTag("Action", "Count"), function(msg)
  Sim.counts = Sim.counts + 1
  report()
end)
Handlers.add("sim-assign", Handlers.utils.hasMatchingTag("Action", "Assign-Me"), function(msg)
  if msg.Target == ao.id and msg.Tags.To then ao.assign({ Processes = { msg.Tags.To }, Message = msg.Id }) end
end)
Handlers.add("sim-spawn", Handlers.utils.hasMatchingTag("Action", "Spawn-Child"), function(msg)
  ao.spawn(ao.env.Module.Id, { Authority = msg.Tags.Authority, ["Sim-Child-Of"] = ao.id })
end)
Handlers.add("sim-tick", Handlers.utils.hasMatchingTag("Action", "Tick"), function(msg)
  Sim.ticks = Sim.ticks + 1
  report()
  if Peer then ao.send({ Target = Peer, Action = "Count" }) end
end)
return "ready"
`;

/** One request a client made, and what it was answered. */
export interface Sent {
  op: string;
  /** The item (or, for an assignment, the assigned message). */
  id: string;
  processId: string;
  node: string;
  at: number;
  /** HTTP status, or 0 when the connection was reset (the node crashed). */
  status: number;
  body: string;
}

/** A result a client read, to hold against what the CUs computed. */
export interface Read {
  processId: string;
  messageId: string;
  node: string;
  at: number;
  output: unknown;
}

export interface WorkloadOptions {
  processes: number;
  messages: number;
  /** Virtual ms over which the messages are sent. */
  durationMs: number;
  /** Spawn a cron process (monitored through the MU). */
  cron: boolean;
  /** The operations to draw from (default all, pings weighted most). */
  ops?: readonly Op[];
}

export const OPS = ['ping', 'count', 'assign-me', 'mu-assign', 'spawn-child', 'again', 'read'] as const;
export type Op = (typeof OPS)[number];

const base = (type: 'Process' | 'Message'): Tag[] => [
  { name: 'Data-Protocol', value: 'ao' },
  { name: 'Variant', value: 'ao.TN.1' },
  { name: 'Type', value: type },
];

export class Workload {
  readonly client: Wallet;
  readonly ledger: Sent[] = [];
  readonly reads: Read[] = [];
  /** Processes spawned by the clients (with the handlers loaded once `ready`). */
  readonly processes: { id: string; ready: boolean; cron: boolean }[] = [];
  /** Items the clients signed, by id (to send again). */
  private readonly items = new Map<string, { item: SignedDataItem; processId: string; op: string }>();
  private readonly random: () => number;
  private inFlight = 0;
  private scheduled = 0;
  private anchors = 0;

  constructor(
    private readonly w: World,
    private readonly o: WorkloadOptions,
  ) {
    this.random = w.random('workload');
    this.client = seededWallet(w.random('client'));
  }

  /** Every scheduled operation has run and been answered (or reset). */
  get done(): boolean {
    return this.inFlight === 0 && this.scheduled === 0;
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.random() * xs.length)] : undefined;
  }

  /** A 32-byte anchor the seed chooses (items with equal fields stay distinct). */
  private anchor(): string {
    return `sim-${++this.anchors}`.padEnd(32, '.');
  }

  /** Schedules the setup and the operations. */
  start(): void {
    for (let i = 0; i < this.o.processes; i++) this.at(50 + i * 10, () => this.spawn(false));
    if (this.o.cron) this.at(80, () => this.spawn(true));
    const weights: Record<Op, number> = { ping: 4, count: 2, 'assign-me': 1, 'mu-assign': 1, 'spawn-child': 1, again: 2, read: 2 };
    const ops = (this.o.ops ?? OPS).flatMap((op) => Array<Op>(weights[op]).fill(op));
    for (let i = 0; i < this.o.messages; i++) {
      const op = this.pick(ops)!;
      this.at(1000 + this.random() * this.o.durationMs, () => this.operate(op));
    }
  }

  private at(ms: number, fn: () => Promise<void>): void {
    this.scheduled++;
    this.w.sched.at(ms, () => {
      this.scheduled--;
      this.inFlight++;
      void fn()
        .catch((e: Error) => this.w.trace.record(`client error ${e.message}`))
        .finally(() => this.inFlight--);
    }, undefined, 'client');
  }

  /** A request to a live node the seed picks (none live: it waits and tries again). */
  private async request(op: string, method: 'GET' | 'POST', url: string, body?: Uint8Array, avoid?: string): Promise<{ node: SimNode; status: number; body: string }> {
    for (let tries = 0; ; tries++) {
      const live = this.w.live();
      const candidates = avoid && live.length > 1 ? live.filter((n) => n.name !== avoid) : live;
      const node = this.pick(candidates);
      if (!node || tries > 20) {
        if (tries > 20) return { node: live[0]!, status: 0, body: 'no live node' };
        await this.sleep(500);
        continue;
      }
      this.w.trace.record(`client ${op} ${method} ${url.slice(0, 60)} -> ${node.name}`);
      try {
        const r = await node.request(method, url, body);
        this.w.trace.record(`client ${op} <- ${node.name} ${r.status} ${shortHash(r.body)}`);
        return { node, ...r };
      } catch (e) {
        this.w.trace.record(`client ${op} <- ${node.name} reset (${(e as Error).message})`);
        return { node, status: 0, body: (e as Error).message };
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.w.sched.after(ms, r, undefined, 'client.sleep'));
  }

  /** Posts an item to /mu and records the answer; resets and 5xx are tried again (the same item). */
  private async post(op: string, item: SignedDataItem, processId: string, url = '/mu'): Promise<Sent> {
    this.items.set(item.id, { item, processId, op });
    let avoid: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const r = await this.request(op, 'POST', url, item.raw, avoid);
      const sent: Sent = { op, id: item.id, processId, node: r.node.name, at: this.w.now, status: r.status, body: r.body.slice(0, 300) };
      this.ledger.push(sent);
      if ((r.status !== 0 && r.status < 500) || attempt >= 3) return sent;
      avoid = r.node.name;
      await this.sleep(200 + this.random() * 800);
    }
  }

  private async spawn(cron: boolean): Promise<void> {
    const moduleId = this.w.live()[0]?.cu.bundled[SIM_MODULE];
    if (!moduleId) return;
    const tags = [
      ...base('Process'),
      { name: 'Module', value: moduleId },
      { name: 'Scheduler', value: this.w.wallets.su.address },
      { name: 'Authority', value: this.w.wallets.mu.address },
      ...(cron ? [{ name: 'Cron-Interval', value: '2-seconds' }, { name: 'Cron-Tag-Action', value: 'Tick' }] : []),
    ];
    const item = await createDataItem({ data: '', tags, anchor: this.anchor() }, this.client);
    const sent = await this.post('spawn', item, item.id);
    if (!ok(sent.status)) return;
    const entry = { id: item.id, ready: false, cron };
    this.processes.push(entry);
    const peer = this.processes.find((p) => p.id !== item.id && !p.cron);
    const code = cron && peer ? `Peer = "${peer.id}"\n${HANDLERS}` : HANDLERS;
    const evalItem = await this.message(item.id, 'Eval', [], code);
    const evaled = await this.post('eval', evalItem, item.id);
    entry.ready = ok(evaled.status);
    if (cron) await this.monitor(item.id);
  }

  private async monitor(processId: string): Promise<void> {
    const item = await createDataItem({ data: '', target: processId, tags: [...base('Message'), { name: 'Action', value: 'Monitor' }], anchor: this.anchor() }, this.client);
    await this.post('monitor', item, processId, `/mu/monitor/${processId}`);
  }

  private message(target: string, action: string, tags: Tag[] = [], data = ''): Promise<SignedDataItem> {
    return createDataItem({ data, target, tags: [...base('Message'), { name: 'Action', value: action }, ...tags], anchor: this.anchor() }, this.client);
  }

  private async operate(op: string): Promise<void> {
    const ready = this.processes.filter((p) => p.ready && !p.cron);
    const to = this.pick(ready);
    if (!to) return;
    switch (op) {
      case 'ping': {
        const hops = 1 + Math.floor(this.random() * 3);
        const route = Array.from({ length: hops }, () => this.pick(ready)!.id).join(',');
        await this.post(op, await this.message(to.id, 'Ping', [{ name: 'Route', value: route }]), to.id);
        return;
      }
      case 'count':
        await this.post(op, await this.message(to.id, 'Count'), to.id);
        return;
      case 'assign-me': {
        const other = this.pick(ready)!;
        await this.post(op, await this.message(to.id, 'Assign-Me', [{ name: 'To', value: other.id }]), to.id);
        return;
      }
      case 'spawn-child':
        await this.post(op, await this.message(to.id, 'Spawn-Child', [{ name: 'Authority', value: this.w.wallets.mu.address }]), to.id);
        return;
      case 'mu-assign': {
        const earlier = this.pick(this.ledger.filter((s) => ok(s.status) && s.op !== 'spawn' && s.op !== 'monitor' && s.processId !== to.id));
        if (!earlier) return;
        const r = await this.request(op, 'POST', `/mu?process-id=${to.id}&assign=${earlier.id}`);
        this.ledger.push({ op, id: earlier.id, processId: to.id, node: r.node.name, at: this.w.now, status: r.status, body: r.body.slice(0, 300) });
        return;
      }
      case 'again': {
        const earlier = this.pick([...this.items.values()].filter((x) => x.op !== 'monitor'));
        if (!earlier) return;
        await this.post(`${earlier.op}-again`, earlier.item, earlier.processId);
        return;
      }
      case 'read': {
        const earlier = this.pick(this.ledger.filter((s) => ok(s.status) && (s.op === 'ping' || s.op === 'count' || s.op === 'eval')));
        if (!earlier) return;
        const r = await this.request(op, 'GET', `/cu/result/${earlier.id}?process-id=${earlier.processId}`);
        if (r.status === 200) this.reads.push({ processId: earlier.processId, messageId: earlier.id, node: r.node.name, at: this.w.now, output: JSON.parse(r.body) });
        return;
      }
    }
  }
}

export const ok = (status: number) => status >= 200 && status < 300;
