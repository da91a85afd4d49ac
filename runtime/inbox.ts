import type { From } from './behaviour.js';
import type { Caller } from './context.js';
import { Mailbox } from './mailbox.js';
import type { Node } from './node.js';
import type { Pid } from './pid.js';
import { Process } from './process.js';
import { formatReason, type ExitReason } from './reason.js';
import type { Envelope } from './signal.js';

/** A call that reached an inbox; answer it with `inbox.reply(msg.from, value)`. */
export interface CallMessage {
  readonly tag: 'CALL';
  readonly request: unknown;
  readonly from: From;
}

/** The error a pending `receive` gets when its inbox dies or the wait times out. */
export class InboxError extends Error {
  override readonly name = 'InboxError';
  constructor(
    message: string,
    readonly reason?: ExitReason,
  ) {
    super(message);
  }
}

/**
 * A process for code outside actors — a test, a CLI, an HTTP handler — like the Erlang shell's
 * own process: it has a pid, can link, monitor, trap exits and receive messages. Not trapping,
 * it dies from an abnormal exit signal, as any process would.
 */
export class Inbox extends Process implements Caller {
  private readonly mailbox: Mailbox<unknown>;

  constructor(node: Node, pid: Pid) {
    super(node, pid);
    this.mailbox = new Mailbox(node.clock);
  }

  get self(): Pid {
    return this.pid;
  }

  protected onMessage(env: Envelope): void {
    switch (env.t) {
      case 'info':
        this.mailbox.push(env.msg);
        return;
      case 'cast':
        this.mailbox.push(env.msg);
        return;
      case 'call':
        this.mailbox.push({ tag: 'CALL', request: env.req, from: env.from } satisfies CallMessage);
        return;
      case 'stop':
        this.die(env.reason);
        return;
      case 'reply':
        return;
    }
  }

  /**
   * The first message (queued or yet to come) that `match` accepts. Rejects with InboxError
   * after `timeout` ms (default 5000) or when the inbox dies.
   */
  receive<T>(match: (message: unknown) => message is T, timeout?: number): Promise<T>;
  receive<T = unknown>(match?: (message: unknown) => boolean, timeout?: number): Promise<T>;
  async receive<T = unknown>(match: (message: unknown) => boolean = () => true, timeout = 5000): Promise<T> {
    if (this.dead) throw new InboxError(`inbox ${this.pid.key} is dead (${formatReason(this.exitReason)})`, this.exitReason);
    const got = await this.mailbox.receive(match, timeout);
    if (got !== undefined) return got as T;
    if (this.dead) throw new InboxError(`inbox ${this.pid.key} died (${formatReason(this.exitReason)})`, this.exitReason);
    throw new InboxError(`no matching message within ${timeout} ms`);
  }

  /** Everything queued now, in order, without waiting. */
  flush(): unknown[] {
    return this.mailbox.drain();
  }

  protected override beforeExit(): void {
    this.mailbox.cancel();
  }

  /** Leave the node; links see `normal`. */
  close(): void {
    this.die('normal');
  }
}
