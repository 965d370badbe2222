/**
 * A lazy child logger writes exactly the lines a pino child would, and makes the pino child only when it first
 * writes a line at an enabled level.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChild } from '../../../src/transport/lazy-logger.js';

function capture(level = 'info'): { root: Logger; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const root = pino({ level, base: undefined, timestamp: false }, sink);
  return { root, lines: () => written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** The raw text, so that the order of fields is compared too. */
function raw(make: (root: Logger) => void, level = 'info'): string {
  const chunks: string[] = [];
  const root = pino({ level, base: undefined, timestamp: false }, { write: (line: string) => chunks.push(line) });
  make(root);
  return chunks.join('');
}

describe('lazyChild', () => {
  it('writes the same lines, fields in the same order, as pino children made at once', () => {
    const script = (child: (parent: Logger, bindings: Record<string, unknown>) => Logger) => (root: Logger) => {
      const connection = child(root, { conn: 'c1', remote: '127.0.0.1', protocol: 'wamp.2.json' });
      connection.debug({ hidden: true }, 'not at this level');
      const annotated = child(connection, { realm: 'realm1', authid: 'alice' });
      annotated.info({ session: 7 }, 'session joined');
      connection.warn('before annotate');
      const error = new Error('boom');
      error.stack = 'Error: boom';
      annotated.error(error);
      annotated.child({ clientId: 'x' }).info('grandchild');
    };
    const eager = raw(script((parent, bindings) => parent.child(bindings)));
    const lazy = raw(script(lazyChild));
    expect(lazy).toBe(eager);
    expect(lazy).toContain('"conn":"c1","remote":"127.0.0.1","protocol":"wamp.2.json","realm":"realm1","authid":"alice","session":7');
  });

  it('makes no pino child until a line is written at an enabled level', () => {
    const { root, lines } = capture('warn');
    const child = vi.spyOn(root, 'child');
    const connection = lazyChild(root, { conn: 'c1' });
    const annotated = connection.child({ realm: 'realm1' });
    annotated.info('below the level');
    connection.debug('below the level');
    expect(annotated.isLevelEnabled('info')).toBe(false);
    expect(annotated.level).toBe('warn');
    expect(child).not.toHaveBeenCalled();
    annotated.warn('written');
    annotated.warn('again');
    // Made once, as pino children of pino children, the way eager ones would have been.
    expect(child).toHaveBeenCalledTimes(2);
    expect(lines()).toEqual([
      { level: 40, conn: 'c1', realm: 'realm1', msg: 'written' },
      { level: 40, conn: 'c1', realm: 'realm1', msg: 'again' },
    ]);
  });

  it('answers bindings(), and a level set on it applies to it alone', () => {
    const { root, lines } = capture('warn');
    const connection = lazyChild(root, { conn: 'c1' });
    expect(connection.bindings()).toEqual({ conn: 'c1' });
    connection.level = 'debug';
    expect(connection.level).toBe('debug');
    expect(connection.isLevelEnabled('debug')).toBe(true);
    expect(root.isLevelEnabled('debug')).toBe(false);
    connection.debug('now written');
    root.debug('still not');
    expect(lines()).toEqual([{ level: 20, conn: 'c1', msg: 'now written' }]);
    // A child of a logger that already writes is an ordinary pino child, with its parent's level.
    connection.child({ realm: 'realm1' }).debug('child too');
    expect(lines()).toHaveLength(2);
  });
});
