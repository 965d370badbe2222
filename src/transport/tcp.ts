import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Bindings, Logger } from 'pino';
import type { ProtocolModule } from '../port.js';
import type { Metrics } from '../observability/metrics.js';
import type { Admission } from './admission.js';
import type { TlsMaterial } from './tls.js';
import { BaseConnection, connectionClock } from './base-connection.js';
import { turnBatcher } from './ws-connection.js';

/** What a TcpConnection tells its listener when it is gone. */
export interface TcpOwner {
  connectionGone(connection: TcpConnection, reason: string, lifetimeMs: number): void;
}

const CONNECTION = Symbol('connection');
type Owned = Socket & { [CONNECTION]: TcpConnection };

// One set of listeners for every socket, reaching the connection through the socket (`this` in a listener):
// closures would cost three functions and their scope per connection, held for its life.
function onData(this: Owned, chunk: Buffer): void {
  this[CONNECTION].socketData(chunk);
}
function onError(this: Owned, error: NodeJS.ErrnoException): void {
  this[CONNECTION].socketFailed(error);
}
function onClose(this: Owned): void {
  this[CONNECTION].socketClosed();
}

/** A Connection over a plain TCP socket: a byte stream, so `message` gets chunks, not messages. */
export class TcpConnection extends BaseConnection {
  private closeReason = 'peer closed';
  private ended = false;

  constructor(
    private readonly socket: Socket,
    id: string,
    protocol: string,
    remoteAddress: string,
    baseLogger: Logger,
    /** `tcp`, or `tls` for a TLS socket. */
    readonly transport: string,
    certificateName: string | undefined,
    private readonly owner: TcpOwner,
  ) {
    super(id, protocol, remoteAddress, baseLogger, undefined, certificateName);
    (socket as Owned)[CONNECTION] = this;
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  protected override logBindings(): Bindings {
    return { conn: this.id, remote: this.remoteAddress, protocol: this.protocol, transport: this.transport };
  }

  /** From the socket: a chunk of the byte stream. */
  socketData(chunk: Buffer): void {
    this.deliver(chunk, true);
  }

  /** From the socket: it failed; 'close' follows. */
  socketFailed(error: NodeJS.ErrnoException): void {
    this.closeReason = error.code ?? error.message;
    this.log.debug({ err: error.message }, 'socket error');
  }

  /** From the socket: it closed. */
  socketClosed(): void {
    this.ended = true;
    const lifetimeMs = connectionClock() - this.openedAt;
    if (this.baseLogger.isLevelEnabled('info')) this.log.info({ reason: this.closeReason, lifetimeMs }, 'connection closed');
    this.owner.connectionGone(this, this.closeReason, lifetimeMs);
    this.deliverClose(1000, this.closeReason);
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
export class TcpListener implements TcpOwner {
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
    const connection = new TcpConnection(socket, id, this.options.protocol, remote, this.options.log, transport, certificateName, this);
    this.options.metrics.connectionOpened(this.options.protocol);
    this.connections.add(connection);
    if (this.options.log.isLevelEnabled('info')) connection.log.info('connection open');
    this.options.module.accept(connection);
  }

  connectionGone(connection: TcpConnection, reason: string, lifetimeMs: number): void {
    this.connections.delete(connection);
    this.options.admission.release();
    this.options.metrics.connectionClosed(this.options.protocol, tcpCloseReason(reason), lifetimeMs);
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
