import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { AuthOutcome } from '../auth/types.js';
import type { ProtocolModule } from '../port.js';
import { negotiate } from './negotiate.js';
import { WebSocketConnection } from './ws-connection.js';

export interface WebSocketListenerOptions {
  modules: readonly ProtocolModule[];
  defaultProtocol: string | undefined;
  maxMessageSize: number;
  log: Logger;
  /** Starts verifying a token carried by the upgrade request, if there is one. */
  upgradeAuth(request: IncomingMessage): Promise<AuthOutcome> | undefined;
}

/**
 * Takes HTTP upgrades: picks the subprotocol, refuses what no module serves before the handshake
 * completes, and hands each accepted WebSocket to its module as a Connection.
 */
export class WebSocketListener {
  private readonly wss: WebSocketServer;
  private readonly byProtocol = new Map<string, ProtocolModule>();
  private readonly supported: ReadonlySet<string>;
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  readonly connections = new Set<WebSocketConnection>();
  private nextId = 1;

  constructor(private readonly options: WebSocketListenerOptions) {
    for (const module of options.modules) {
      for (const protocol of module.subprotocols) this.byProtocol.set(protocol, module);
    }
    this.supported = new Set(this.byProtocol.keys());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageSize,
      perMessageDeflate: false,
      clientTracking: false,
      // Echo exactly what negotiate() chose; when the client offered nothing, echo nothing.
      handleProtocols: (_offered, request) => this.chosen.get(request) ?? false,
    });
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const result = negotiate(request.headers['sec-websocket-protocol'], this.supported, this.options.defaultProtocol);
    const remoteAddress = request.socket.remoteAddress ?? 'unknown';
    if (result.kind === 'reject') {
      this.options.log.info(
        { remote: remoteAddress, offered: request.headers['sec-websocket-protocol'] ?? null, status: result.status },
        'upgrade refused: no supported subprotocol',
      );
      refuse(socket, result.status, result.body);
      return;
    }
    if (result.echo) this.chosen.set(request, result.protocol);
    const module = this.byProtocol.get(result.protocol);
    if (module === undefined) {
      refuse(socket, 500, 'internal error\n');
      return;
    }
    const upgradeAuth = this.options.upgradeAuth(request);
    // Settled later by the module; never leave a rejection unhandled if the client vanishes first.
    upgradeAuth?.catch(() => undefined);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const id = `c${this.nextId++}`;
      const log = this.options.log.child({ conn: id, remote: remoteAddress, protocol: result.protocol });
      const connection = new WebSocketConnection(ws, id, result.protocol, remoteAddress, log, upgradeAuth, (gone) =>
        this.connections.delete(gone),
      );
      this.connections.add(connection);
      log.info({ path: request.url }, 'connection open');
      module.accept(connection);
    });
  }

  close(): void {
    this.wss.close();
  }
}

function refuse(socket: Duplex, status: number, body: string): void {
  const reason = status === 400 ? 'Bad Request' : 'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}
