import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Never log payloads, keys or credentials. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'shardline' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
