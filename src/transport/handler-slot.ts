import type { ConnectionHandler } from './connection.js';

/**
 * Where a connection's input goes. A module takes a connection a moment after it opens, so input (and even the
 * close) that arrives before the module has set its handler is held and replayed in order.
 */
export class HandlerSlot {
  private handler: ConnectionHandler | undefined;
  private held: Array<[Buffer, boolean]> = [];
  private closedWith: [number, string] | undefined;

  message(data: Buffer, isBinary: boolean): void {
    if (this.handler === undefined) this.held.push([data, isBinary]);
    else this.handler.message(data, isBinary);
  }

  closed(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.handler?.closed(code, reason);
  }

  set(handler: ConnectionHandler): void {
    this.handler = handler;
    const held = this.held;
    this.held = [];
    for (const [data, isBinary] of held) handler.message(data, isBinary);
    if (this.closedWith !== undefined) handler.closed(...this.closedWith);
  }
}
