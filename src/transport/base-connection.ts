import type { Bindings, Logger } from 'pino';
import type { AuthOutcome } from '../auth/types.js';
import type { Connection, ConnectionHandler } from './connection.js';
import { lazyChild } from './lazy-logger.js';

const EPOCH = Date.now();

/**
 * Milliseconds since this module loaded: the clock of connection timestamps (opened, last seen). V8 keeps a small
 * integer inside the object, while a Date.now() value (above 2^31), or any result of arithmetic on one, takes a
 * 16-byte number box per field per connection; `| 0` makes it a small integer for the first 12 days of uptime.
 * Past that it is an ordinary number again, boxed as Date.now() always was, and still right.
 */
export function connectionClock(): number {
  const ms = Date.now() - EPOCH;
  return ms <= 0x3fffffff ? ms | 0 : ms;
}

/**
 * What every connection shares, whatever carries it: where its input goes, and its logger. Both live in the
 * connection's own fields, not in objects of their own: a router holds many idle connections, and an idle one
 * uses neither.
 */
export abstract class BaseConnection implements Connection {
  abstract readonly transport: string;
  abstract readonly bufferedAmount: number;
  protected readonly openedAt = connectionClock();

  // A module takes a connection a moment after it opens, so input (and even the close) that arrives before the
  // module has set its handler is held and replayed in order.
  private handler: ConnectionHandler | undefined;
  private held: Array<[Buffer, boolean]> | undefined;
  private closedWith: [number, string] | undefined;

  /** Made when first read, and even then a pino child only once it writes (see lazy-logger.ts). */
  private logger: Logger | undefined;
  /** What `annotate` added before the logger was made: one set of fields, or several in order. */
  private annotations: Bindings | Bindings[] | undefined;

  constructor(
    readonly id: string,
    readonly protocol: string,
    readonly remoteAddress: string,
    protected readonly baseLogger: Logger,
    readonly upgradeAuth: Promise<AuthOutcome> | undefined,
    /** The common name of a client certificate the TLS layer verified (see tls.ts). */
    readonly certificateName: string | undefined,
  ) {}

  get log(): Logger {
    if (this.logger !== undefined) return this.logger;
    let logger = lazyChild(this.baseLogger, this.logBindings());
    const annotations = this.annotations;
    if (Array.isArray(annotations)) for (const fields of annotations) logger = lazyChild(logger, fields);
    else if (annotations !== undefined) logger = lazyChild(logger, annotations);
    this.annotations = undefined;
    return (this.logger = logger);
  }

  /** The fields every line about this connection carries. */
  protected logBindings(): Bindings {
    return { conn: this.id, remote: this.remoteAddress, protocol: this.protocol };
  }

  annotate(fields: Record<string, unknown>): void {
    if (this.logger !== undefined) this.logger = lazyChild(this.logger, fields);
    else if (this.annotations === undefined) this.annotations = fields;
    else this.annotations = Array.isArray(this.annotations) ? [...this.annotations, fields] : [this.annotations, fields];
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) for (const [data, isBinary] of held) handler.message(data, isBinary);
    if (this.closedWith !== undefined) handler.closed(...this.closedWith);
  }

  /** Hands input to the module, or holds it until the module has set its handler. */
  protected deliver(data: Buffer, isBinary: boolean): void {
    if (this.handler !== undefined) this.handler.message(data, isBinary);
    else (this.held ??= []).push([data, isBinary]);
  }

  /** Tells the module the connection is gone, now or once it has set its handler. */
  protected deliverClose(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.handler?.closed(code, reason);
  }

  abstract send(data: Buffer | string, binary: boolean): void;
  abstract close(code: number, reason: string): void;
}
