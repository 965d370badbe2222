/**
 * A server-side WebSocket hands its message, pong, close and error events straight to its connection, with no
 * listeners; every other event is emitted as usual.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RouterWebSocket, WebSocketConnection, type WebSocketOwner } from '../../../src/transport/ws-connection.js';

function open(): { ws: RouterWebSocket; connection: WebSocketConnection; events: string[] } {
  const ws = new RouterWebSocket(null as unknown as string, undefined, {});
  const events: string[] = [];
  const owner: WebSocketOwner = { connectionGone: (_connection, code, reason) => events.push(`gone ${code} ${reason}`) };
  const connection = new WebSocketConnection(ws, 'c1', 'wamp.2.json', '10.0.0.1', pino({ level: 'silent' }), undefined, undefined, owner);
  connection.setHandler({ message: (data, isBinary) => events.push(`message ${data.toString()} ${isBinary}`), closed: (code, reason) => events.push(`closed ${code} ${reason}`) });
  return { ws, connection, events };
}

describe('RouterWebSocket', () => {
  it('hands messages, pongs and the close to its connection, not to listeners', () => {
    const { ws, connection, events } = open();
    const heard: string[] = [];
    ws.on('message', () => heard.push('message'));
    connection.lastSeen = -1;
    expect(ws.emit('pong', Buffer.alloc(0))).toBe(true);
    expect(connection.lastSeen).toBeGreaterThanOrEqual(0);
    ws.emit('message', Buffer.from('hi'), false);
    ws.emit('message', [Buffer.from('a'), Buffer.from('b')], true);
    ws.emit('close', 1000, Buffer.from('bye'));
    expect(events).toEqual(['message hi false', 'message ab true', 'gone 1000 bye', 'closed 1000 bye']);
    expect(heard).toEqual([]);
  });

  it('closes with the code ws sent when ws failed the connection itself', () => {
    const { ws, events } = open();
    ws.emit('error', Object.assign(new Error('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' }));
    ws.emit('close', 1006, Buffer.alloc(0));
    expect(events).toEqual(['gone 1009 Max payload size exceeded', 'closed 1009 Max payload size exceeded']);
  });

  it('keeps no listener table until a listener is added, and emits other events as usual', () => {
    const { ws } = open();
    expect((ws as unknown as { _events: unknown })._events).toBeUndefined();
    expect(ws.emit('ping', Buffer.from('nobody listens'))).toBe(false);
    expect(ws.listenerCount('ping')).toBe(0);
    const heard: unknown[][] = [];
    ws.on('ping', (...args) => heard.push(args));
    ws.on('open', (...args) => heard.push(args));
    expect(ws.emit('ping', Buffer.from('p'))).toBe(true);
    expect(ws.emit('open')).toBe(true);
    expect(heard).toEqual([[Buffer.from('p')], []]);
    expect(ws.emit('unexpected-response')).toBe(false);
    ws.removeAllListeners('ping');
    expect(ws.emit('ping', Buffer.from('p'))).toBe(false);
  });
});
