import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; standard output unless a test passes its own stream. */
  destination?: NodeJS.WritableStream;
}

/** The process logger: pino JSON lines. Connection loggers are children that carry the connection id. */
export function createLogger(options: LoggerOptions): Logger {
  const base = { name: 'switchboard' };
  return options.destination === undefined
    ? pino({ level: options.level, base })
    : pino({ level: options.level, base }, options.destination);
}
