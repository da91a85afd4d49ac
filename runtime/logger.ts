import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The node's logger. Level from `level`, else AOTP_LOG_LEVEL, else `info` — but `silent` under
 * the test runner unless AOTP_LOG_LEVEL asks for output. Actors log through children of it that
 * carry `{ node, actor, name }`.
 */
export function createLogger(options: { level?: string } = {}): Logger {
  const level = options.level ?? process.env.AOTP_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino({ level });
}
