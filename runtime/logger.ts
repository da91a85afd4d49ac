import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/**
 * The node's logger. Level from `level`, else AOTP_LOG_LEVEL, else `info` — but `silent` under
 * the test runner unless AOTP_LOG_LEVEL asks for output. Actors log through children of it that
 * carry `{ node, actor, name }`. `format: 'pretty'` writes pino-pretty's lines (for humans)
 * instead of one JSON object per line (for machines).
 */
export function createLogger(options: { level?: string; format?: 'json' | 'pretty' } = {}): Logger {
  const level = options.level ?? process.env.AOTP_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  if (options.format === 'pretty') return pino({ level }, PinoPretty({ sync: true, colorize: process.stdout.isTTY === true, ignore: 'pid,hostname' }));
  return pino({ level });
}
