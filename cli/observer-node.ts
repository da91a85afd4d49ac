/**
 * The node an operator's command (status, drain, chaos) joins the bus with: an observer, never
 * a member (nothing is placed on it, nobody logs it as a member), named after the command and
 * this process, logging only warnings so that the command's own output stays readable.
 */
import { createLogger, NatsTransport, Node } from '../runtime/index.js';

export interface BusOptions {
  servers: string[];
  cluster?: string;
  auth?: { user?: string; pass?: string; token?: string };
}

export function observerNode(command: string, o: BusOptions): Promise<Node> {
  const transport = new NatsTransport({ servers: o.servers, cluster: o.cluster ?? 'aotp', observer: true, auth: o.auth ?? {} });
  const level = process.env.AOTP_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'warn');
  return Node.start({ name: `${command}-${process.pid}-${Date.now().toString(36)}`, transport, logger: createLogger({ level }) });
}
