import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Human-readable lines instead of JSON lines. */
  pretty?: boolean;
  /** Where lines go; standard output unless a test passes its own stream. */
  destination?: NodeJS.WritableStream;
}

/**
 * The process logger: pino JSON lines, or pino-pretty's readable lines for a person at a terminal. Connection
 * loggers are children that carry the connection id, address, protocol, and after login the realm and authid.
 */
export function createLogger(options: LoggerOptions): Logger {
  const base = { name: 'switchboard' };
  if (options.pretty === true) {
    // In-process and synchronous: no worker thread, and lines appear in order with everything else.
    return pino({ level: options.level, base }, pretty({ colorize: process.stdout.isTTY === true, sync: true }));
  }
  return options.destination === undefined
    ? pino({ level: options.level, base })
    : pino({ level: options.level, base }, options.destination);
}
