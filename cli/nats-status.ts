import type { NatsConnection } from 'nats';
import type { Logger } from '../runtime/index.js';

/** One line per NATS connection event: an operator sees the bus go and come back. */
export async function logNatsStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === 'disconnect') log.warn({ server: s.data }, `NATS disconnected from ${String(s.data)}; reconnecting`);
    else if (s.type === 'reconnect') log.info({ server: s.data }, `NATS reconnected to ${String(s.data)}`);
    else if (s.type === 'error') log.error({ err: String(s.data) }, 'NATS error');
  }
}
