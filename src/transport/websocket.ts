import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type Server as WsServer } from 'ws';
import type { AuthOutcome } from '../auth/types.js';
import type { ProtocolModule } from '../port.js';
import type { Metrics } from '../observability/metrics.js';
import type { Admission } from './admission.js';
import { negotiate } from './negotiate.js';
import { originAllowed } from './origin.js';
import { verifiedCommonName } from './tls.js';
import { connectionClock } from './base-connection.js';
import { RouterWebSocket, WebSocketConnection, type WebSocketOwner } from './ws-connection.js';

export interface WebSocketListenerOptions {
  modules: readonly ProtocolModule[];
  defaultProtocol: string | undefined;
  maxMessageSize: number;
  /** permessage-deflate for messages of at least `thresholdBytes`, or undefined for none. */
  compression: { thresholdBytes: number } | undefined;
  log: Logger;
  admission: Admission;
  /** Origins browsers may connect from; see origin.ts. */
  allowedOrigins: readonly string[];
  /** Development mode: every origin is allowed. */
  allowAllOrigins: boolean;
  /** Ping every `intervalMs` (0: never); drop a peer silent for `timeoutMs`. */
  heartbeat: { intervalMs: number; timeoutMs: number };
  metrics: Metrics;
  /** Starts verifying a token carried by the upgrade request, if there is one. */
  upgradeAuth(request: IncomingMessage): Promise<AuthOutcome> | undefined;
}

/**
 * Takes HTTP upgrades: picks the subprotocol, refuses what no module serves before the handshake
 * completes, and hands each accepted WebSocket to its module as a Connection.
 */
export class WebSocketListener implements WebSocketOwner {
  private readonly wss: WsServer<typeof RouterWebSocket>;
  /** Each subprotocol's module, and the name itself: connections share that one string, not the header's copy. */
  private readonly byProtocol = new Map<string, { module: ProtocolModule; protocol: string }>();
  private readonly supported: ReadonlySet<string>;
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  readonly connections = new Set<WebSocketConnection>();
  private nextId = 1;
  private closing = false;
  private readonly heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: WebSocketListenerOptions) {
    for (const module of options.modules) {
      for (const protocol of module.subprotocols) this.byProtocol.set(protocol, { module, protocol });
    }
    this.supported = new Set(this.byProtocol.keys());
    this.wss = new WebSocketServer({
      noServer: true,
      WebSocket: RouterWebSocket,
      maxPayload: options.maxMessageSize,
      perMessageDeflate:
        options.compression === undefined ? false : { threshold: options.compression.thresholdBytes, serverNoContextTakeover: true },
      clientTracking: false,
      // Echo exactly what negotiate() chose; when the client offered nothing, echo nothing.
      handleProtocols: (_offered, request) => this.chosen.get(request) ?? false,
    });
    const { intervalMs, timeoutMs } = options.heartbeat;
    if (intervalMs > 0) {
      // One timer for every connection: pings keep NAT and proxies awake and find peers that vanished.
      this.heartbeat = setInterval(() => this.beat(timeoutMs), intervalMs);
      this.heartbeat.unref?.();
    }
  }

  private beat(timeoutMs: number): void {
    const now = connectionClock();
    for (const connection of this.connections) {
      if (now - connection.lastSeen > timeoutMs) {
        connection.log.info({ silentMs: now - connection.lastSeen }, 'heartbeat timeout: peer silent, dropped');
        connection.terminate('heartbeat timeout');
      } else {
        connection.ping();
      }
    }
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remoteAddress = request.socket.remoteAddress ?? 'unknown';
    const { log } = this.options;
    if (this.closing) {
      refuse(socket, 503, 'the router is shutting down\n');
      return;
    }
    const origin = request.headers.origin;
    if (!originAllowed(origin, this.options.allowedOrigins, this.options.allowAllOrigins)) {
      log.info({ remote: remoteAddress, origin }, 'upgrade refused: origin not allowed');
      this.options.metrics.limitHit('origin');
      refuse(socket, 403, 'origin not allowed\n');
      return;
    }
    const result = negotiate(request.headers['sec-websocket-protocol'], this.supported, this.options.defaultProtocol);
    if (result.kind === 'reject') {
      log.info(
        { remote: remoteAddress, offered: request.headers['sec-websocket-protocol'] ?? null, status: result.status },
        'upgrade refused: no supported subprotocol',
      );
      refuse(socket, result.status, result.body);
      return;
    }
    const served = this.byProtocol.get(result.protocol);
    if (served === undefined) {
      refuse(socket, 500, 'internal error\n');
      return;
    }
    const { module, protocol } = served;
    if (result.echo) this.chosen.set(request, protocol);
    const refusal = this.options.admission.admit(remoteAddress);
    if (refusal !== undefined) {
      log.warn({ remote: remoteAddress, limit: refusal }, 'upgrade refused: connection limit');
      this.options.metrics.limitHit(refusal);
      refuse(socket, 503, 'too many connections, try again later\n');
      return;
    }
    const upgradeAuth = this.options.upgradeAuth(request);
    // Settled later by the module; never leave a rejection unhandled if the client vanishes first.
    upgradeAuth?.catch(() => undefined);
    const path = request.url;
    const certificateName = verifiedCommonName(request.socket);
    // No closure here may use `request`: the connection's closures would keep this scope, and with it the
    // upgrade request and its headers, alive for the connection's whole life (seen in a heap snapshot).
    this.wss.handleUpgrade(request, socket, head, (ws) => this.open(ws, module, protocol, remoteAddress, path, upgradeAuth, certificateName));
  }

  private open(
    ws: RouterWebSocket,
    module: ProtocolModule,
    protocol: string,
    remoteAddress: string,
    path: string | undefined,
    upgradeAuth: Promise<AuthOutcome> | undefined,
    certificateName: string | undefined,
  ): void {
    const id = `c${this.nextId++}`;
    const { metrics, log } = this.options;
    const connection = new WebSocketConnection(ws, id, protocol, remoteAddress, log, upgradeAuth, certificateName, this);
    metrics.connectionOpened(protocol);
    this.connections.add(connection);
    if (log.isLevelEnabled('info')) connection.log.info(certificateName === undefined ? { path } : { path, certificate: certificateName }, 'connection open');
    module.accept(connection);
  }

  connectionGone(connection: WebSocketConnection, code: number, reason: string, lifetimeMs: number): void {
    const { metrics } = this.options;
    this.connections.delete(connection);
    this.options.admission.release();
    if (code === 1009) metrics.limitHit('message_size');
    metrics.connectionClosed(connection.protocol, wsCloseReason(code, reason), lifetimeMs);
  }

  /** Refuses new upgrades from now on (503) and stops the heartbeat. */
  close(): void {
    this.closing = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.wss.close();
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function refuse(socket: Duplex, status: number, body: string): void {
  const reason = STATUS_TEXT[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

/** A stable word for why a WebSocket closed, for the disconnect metric (RFC 6455 section 7.4.1). */
function wsCloseReason(code: number, reason: string): string {
  if (reason === 'heartbeat timeout') return 'heartbeat_timeout';
  if (reason === 'handshake timeout') return 'handshake_timeout';
  if (reason === 'shutdown deadline') return 'shutdown';
  switch (code) {
    case 1000:
    case 1001:
    case 1005:
      return 'normal';
    case 1002:
    case 1003:
    case 1007:
      return 'protocol_error';
    case 1008:
      return 'policy';
    case 1009:
      return 'message_too_big';
    case 1011:
      return 'internal_error';
    default:
      return 'abnormal';
  }
}
