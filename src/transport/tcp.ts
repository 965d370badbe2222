import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AuthOutcome } from '../auth/types.js';
import type { ProtocolModule } from '../port.js';
import type { Metrics } from '../observability/metrics.js';
import type { Admission } from './admission.js';
import type { TlsMaterial } from './tls.js';
import type { Connection, ConnectionHandler } from './connection.js';
import { HandlerSlot } from './handler-slot.js';
import { lazyChild } from './lazy-logger.js';
import { turnBatcher } from './ws-connection.js';

/** A Connection over a plain TCP socket: a byte stream, so `message` gets chunks, not messages. */
export class TcpConnection implements Connection {
  readonly upgradeAuth: Promise<AuthOutcome> | undefined = undefined;
  private readonly input = new HandlerSlot();
  private closeReason = 'peer closed';
  private ended = false;
  private readonly openedAt = Date.now();
  /** Made when first read, and even then a pino child only once it writes (see lazy-logger.ts). */
  private logger: Logger | undefined;

  constructor(
    private readonly socket: Socket,
    readonly id: string,
    readonly protocol: string,
    readonly remoteAddress: string,
    private readonly baseLogger: Logger,
    /** `tcp`, or `tls` for a TLS socket. */
    readonly transport: string,
    readonly certificateName: string | undefined,
    onGone: (connection: TcpConnection, reason: string, lifetimeMs: number) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.input.message(chunk, true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.closeReason = error.code ?? error.message;
      this.log.debug({ err: error.message }, 'socket error');
    });
    socket.on('close', () => {
      this.ended = true;
      const lifetimeMs = Date.now() - this.openedAt;
      if (baseLogger.isLevelEnabled('info')) this.log.info({ reason: this.closeReason, lifetimeMs }, 'connection closed');
      onGone(this, this.closeReason, lifetimeMs);
      this.input.closed(1000, this.closeReason);
    });
  }

  get log(): Logger {
    return (this.logger ??= lazyChild(this.baseLogger, { conn: this.id, remote: this.remoteAddress, protocol: this.protocol, transport: this.transport }));
  }

  annotate(fields: Record<string, unknown>): void {
    this.logger = lazyChild(this.log, fields);
  }

  get bufferedAmount(): number {
    return turnBatcher.backlog(this.socket);
  }

  send(data: Buffer | string): void {
    if (this.ended || !this.socket.writable) return;
    // One writev per turn for everything sent to this socket (see TurnBatcher).
    turnBatcher.hold(this.socket, data.length);
    this.socket.write(data);
  }

  /** TCP has no close code; the reason is what the close is logged with. */
  close(_code: number, reason: string): void {
    if (this.ended) return;
    this.closeReason = reason;
    this.socket.end();
    // A peer that never reads must not keep the socket half-open for ever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  terminate(): void {
    this.socket.destroy();
  }

  setHandler(handler: ConnectionHandler): void {
    this.input.set(handler);
  }
}

export interface TcpListenerOptions {
  module: ProtocolModule;
  /** Serve TLS with this material (MQTT over TLS); plain TCP without it. */
  tls?: TlsMaterial;
  admission: Admission;
  metrics: Metrics;
  /** The protocol name connections carry (`mqtt`). */
  protocol: string;
  log: Logger;
  /** Prefix of connection ids, so TCP and WebSocket ids never collide. */
  idPrefix: string;
}

/** A TCP listener that hands every socket to one protocol module (MQTT on port 1883). */
export class TcpListener {
  readonly server: Server;
  readonly connections = new Set<TcpConnection>();
  private nextId = 1;

  constructor(private readonly options: TcpListenerOptions) {
    this.server =
      options.tls === undefined
        ? createServer((socket) => this.accept(socket))
        : createTlsServer(
            {
              cert: options.tls.cert,
              key: options.tls.key,
              ...(options.tls.clientCa === undefined
                ? {}
                : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: options.tls.requireClientCert === true }),
            },
            (socket) => this.accept(socket),
          );
  }

  /** New TLS connections use the new certificate; existing ones keep theirs. */
  setSecureContext(tls: TlsMaterial): void {
    (this.server as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key, ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }) });
  }

  private accept(socket: Socket): void {
    const remote = socket.remoteAddress ?? 'unknown';
    const refusal = this.options.admission.admit(remote);
    if (refusal !== undefined) {
      this.options.log.warn({ remote, limit: refusal, transport: 'tcp' }, 'connection refused: connection limit');
      this.options.metrics.limitHit(refusal);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const id = `${this.options.idPrefix}${this.nextId++}`;
    const transport = this.options.tls === undefined ? 'tcp' : 'tls';
    const certificateName = verifiedName(socket);
    const connection = new TcpConnection(socket, id, this.options.protocol, remote, this.options.log, transport, certificateName, (gone, reason, lifetimeMs) => {
      this.connections.delete(gone);
      this.options.admission.release();
      this.options.metrics.connectionClosed(this.options.protocol, tcpCloseReason(reason), lifetimeMs);
    });
    this.options.metrics.connectionOpened(this.options.protocol);
    this.connections.add(connection);
    if (this.options.log.isLevelEnabled('info')) connection.log.info('connection open');
    this.options.module.accept(connection);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  async close(graceMs = 2000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const connection of this.connections) connection.terminate();
    await closed;
  }
}

/** A stable word for why a TCP connection ended, for the disconnect metric. */
function tcpCloseReason(reason: string): string {
  if (reason === 'peer closed' || reason === 'client disconnect') return 'normal';
  if (reason.startsWith('E')) return 'network_error';
  return reason.replace(/[^a-z0-9]+/gi, '_').toLowerCase().slice(0, 40);
}

/** The common name of a client certificate the TLS layer verified, if the socket is TLS and has one. */
function verifiedName(socket: Socket): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  const name = tls.getPeerCertificate().subject?.CN;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
