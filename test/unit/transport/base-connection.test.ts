/**
 * What every connection shares: input (and the close) that arrives before the module sets its handler is held and
 * replayed in order; the logger carries the connection's fields, then what `annotate` added, in order, whether it
 * was first read before or after the annotations.
 */
import pino, { type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { BaseConnection, connectionClock } from '../../../src/transport/base-connection.js';
import type { ConnectionHandler } from '../../../src/transport/connection.js';

class TestConnection extends BaseConnection {
  readonly transport = 'test';
  readonly bufferedAmount = 0;
  send(): void {}
  close(): void {}
  input(data: string): void {
    this.deliver(Buffer.from(data), false);
  }
  gone(code: number, reason: string): void {
    this.deliverClose(code, reason);
  }
}

function recorder(): ConnectionHandler & { events: string[] } {
  const events: string[] = [];
  return { events, message: (data) => events.push(`message ${data.toString()}`), closed: (code, reason) => events.push(`closed ${code} ${reason}`) };
}

function logged(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const log = pino({ level: 'info', base: undefined, timestamp: false }, { write: (line: string) => chunks.push(line) });
  return { log, lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const make = (log: Logger = pino({ level: 'silent' })): TestConnection => new TestConnection('c1', 'wamp.2.json', '10.0.0.1', log, undefined, undefined);

describe('BaseConnection', () => {
  it('holds input and the close that arrive before the handler, and replays them in order', () => {
    const connection = make();
    connection.input('one');
    connection.input('two');
    connection.gone(1000, 'bye');
    const handler = recorder();
    connection.setHandler(handler);
    expect(handler.events).toEqual(['message one', 'message two', 'closed 1000 bye']);
  });

  it('hands input straight to a handler once set', () => {
    const connection = make();
    const handler = recorder();
    connection.setHandler(handler);
    connection.input('one');
    connection.gone(1001, 'away');
    expect(handler.events).toEqual(['message one', 'closed 1001 away']);
  });

  it('logs with its own fields, then the annotations in order, read before or after annotating', () => {
    const early = logged();
    const first = make(early.log);
    const before = first.log;
    first.annotate({ realm: 'realm1' });
    first.annotate({ authid: 'alice' });
    first.log.info('after');
    before.info('before');
    const late = logged();
    const second = make(late.log);
    second.annotate({ realm: 'realm1' });
    second.annotate({ authid: 'alice' });
    second.log.info('after');
    const expected = { level: 30, conn: 'c1', remote: '10.0.0.1', protocol: 'wamp.2.json', realm: 'realm1', authid: 'alice', msg: 'after' };
    expect(early.lines()).toEqual([expected, { level: 30, conn: 'c1', remote: '10.0.0.1', protocol: 'wamp.2.json', msg: 'before' }]);
    expect(late.lines()).toEqual([expected]);
  });

  it('times connections in whole milliseconds since start-up, which follow Date.now()', async () => {
    const [clock, wall] = [connectionClock(), Date.now()];
    expect(Number.isInteger(clock)).toBe(true);
    expect(clock).toBeGreaterThanOrEqual(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const elapsed = connectionClock() - clock;
    expect(elapsed).toBeGreaterThanOrEqual(19);
    expect(Math.abs(elapsed - (Date.now() - wall))).toBeLessThanOrEqual(2);
  });
});
