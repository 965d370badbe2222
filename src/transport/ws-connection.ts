import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { AuthOutcome } from '../auth/types.js';
import { BaseConnection, connectionClock } from './base-connection.js';
import { CloseCode } from './connection.js';

/**
 * Holds a socket's second and later writes until the code handling the current input returns, then sends them in
 * one writev (the first goes out at once).
 * A fan-out sends one message per receiver per publication, and a publisher's burst arrives as many
 * publications in one read: uncorked, every message is its own system call (measured: writev took a third of
 * the router's CPU in the MQTT fan-out benchmark). The flush is a nextTick, not a setImmediate: batching across
 * the turn's other sockets gained little more and let a client see, in one read, packets that used to come in
 * separate reads (mqtt.js then emitted a QoS 2 message after a QoS 0 one sent later, as a test showed).
 */
export class TurnBatcher {
  private readonly corked: Held[] = [];
  private scheduled = false;
  /** Counts flushes: a socket remembers the turn of its last write, to tell a first write from a second. */
  private turn = 0;
  private readonly flush = (): void => {
    this.scheduled = false;
    this.turn++;
    const sockets = this.corked.splice(0);
    for (const socket of sockets) {
      // A socket that got one write in this input may take its next input's first write at once again.
      socket[BURSTY] = socket[WRITES]! > 1;
      socket[BACKLOG] = undefined;
      socket.uncork();
    }
  };

  /**
   * Corks `socket` until the current callback returns, once however many writes follow; `bytes` is the size of
   * the write about to be made. Past HOLD_LIMIT held bytes the socket is flushed at once: batching pays for
   * small messages, and large ones must reach the kernel as soon as before, so that the slow-consumer limits
   * see the same backlog they always did.
   */
  hold(socket: Socket, bytes: number): void {
    const held = socket as Held;
    if (held[BACKLOG] === undefined) {
      if (held[TURN] !== this.turn && held[BURSTY] !== true) {
        // The first write of an input goes out at once to a socket that got one write per input last time:
        // when each receiver gets one message per input (a fan-out at a moderate rate), holding it only delays
        // the first receivers behind the encoding of the last ones. A second write corks the socket for the rest
        // of the input, and marks it bursty: its next input is held from the first write, as bursts (RPC
        // results, a publisher's batch) mostly come in a row, and two system calls per burst cost more than one.
        held[TURN] = this.turn;
        this.schedule();
        return;
      }
      held[TURN] = this.turn;
      held[BACKLOG] = socket.writableLength;
      held[HELD] = 0;
      held[WRITES] = held[BURSTY] === true ? 0 : 1;
      held[BURSTY] = true;
      socket.cork();
      this.corked.push(held);
      this.schedule();
    } else if (held[HELD]! + bytes > HOLD_LIMIT) {
      socket.uncork();
      held[BACKLOG] = socket.writableLength;
      held[HELD] = 0;
      socket.cork();
    }
    held[HELD]! += bytes;
    held[WRITES]!++;
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /**
   * Bytes the kernel has not taken from `socket`, not counting what is held back right now (at most
   * HOLD_LIMIT): the slow-consumer limits ask whether the peer reads too slowly, and a burst of small messages
   * held for one writev is no sign of that.
   */
  backlog(socket: Socket): number {
    return (socket as Held)[BACKLOG] ?? socket.writableLength;
  }
}
const BACKLOG = Symbol('backlog when corked');
const HELD = Symbol('bytes held since');
const TURN = Symbol('turn of the last write');
const WRITES = Symbol('writes in this turn');
const BURSTY = Symbol('more than one write in its last held turn');
type Held = Socket & { [BACKLOG]?: number; [HELD]?: number; [TURN]?: number; [WRITES]?: number; [BURSTY]?: boolean };
/** 16 KiB: about 200 small MQTT packets per system call, and a bound on what the backlog figure leaves out. */
const HOLD_LIMIT = 16 * 1024;

/** One batcher for every connection: one callback per turn, whatever the number of sockets written. */
export const turnBatcher = new TurnBatcher();

/** What a WebSocketConnection tells its listener when it is gone. */
export interface WebSocketOwner {
  connectionGone(connection: WebSocketConnection, code: number, reason: string, lifetimeMs: number): void;
}

/**
 * ws's WebSocket, whose events go straight to its connection's methods. Listeners would cost four closures, their
 * scope and a larger listener table per connection, held for its life, and an EventEmitter dispatch per message.
 * The server makes these (WebSocketServer's `WebSocket` option); events arrive only after the connection is set,
 * since ws emits none between the upgrade and its callback. Anything else is emitted as usual. Once a connection is
 * attached, listeners for these four events are never called: hence `clientTracking: false` (ws would track
 * clients through a 'close' listener), and nothing else may listen for them.
 */
export class RouterWebSocket extends WebSocket {
  private connection: WebSocketConnection | undefined = undefined;

  /** Sends this socket's events to `connection` from now on. */
  attach(connection: WebSocketConnection): void {
    this.connection = connection;
    // EventEmitter gave this socket a listener table, a dictionary of about 210 bytes, that would stay empty for the
    // connection's life. Node's EventEmitter accepts none, and makes one again on the first `on()`.
    const emitter = this as unknown as { _events: object | undefined; _eventsCount: number };
    if (emitter._eventsCount === 0) emitter._events = undefined;
  }

  // ws emits at most two arguments with every event a server-side socket has.
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const connection = this.connection;
    if (connection !== undefined) {
      switch (event) {
        case 'message':
          connection.socketMessage(a as WebSocket.RawData, b as boolean);
          return true;
        case 'pong':
          connection.lastSeen = connectionClock();
          return true;
        case 'close':
          connection.socketClosed(a as number, b as Buffer);
          return true;
        case 'error':
          connection.socketFailed(a as Error);
          return true;
      }
    }
    return arguments.length === 1 ? super.emit(event) : arguments.length === 2 ? super.emit(event, a) : super.emit(event, a, b);
  }
}

/** A Connection over a `ws` WebSocket. */
export class WebSocketConnection extends BaseConnection {
  private failure: { code: number; reason: string } | undefined;
  /** When the peer last sent anything (a message or a pong), for the heartbeat, by connectionClock(). */
  lastSeen = connectionClock();

  constructor(
    private readonly socket: RouterWebSocket,
    id: string,
    protocol: string,
    remoteAddress: string,
    baseLogger: Logger,
    upgradeAuth: Promise<AuthOutcome> | undefined,
    certificateName: string | undefined,
    private readonly owner: WebSocketOwner,
  ) {
    super(id, protocol, remoteAddress, baseLogger, upgradeAuth, certificateName);
    socket.attach(this);
  }

  get transport(): string {
    return 'websocket';
  }

  /** From RouterWebSocket: a message arrived. */
  socketMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastSeen = connectionClock();
    this.deliver(toBuffer(data), isBinary);
  }

  /** From RouterWebSocket: the WebSocket closed. */
  socketClosed(peerCode: number, reasonBuffer: Buffer): void {
    // When ws failed the connection itself it sent a close code the local event does not report (1006).
    const code = this.failure?.code ?? peerCode;
    const reason = this.failure?.reason ?? reasonBuffer.toString();
    const lifetimeMs = connectionClock() - this.openedAt;
    if (this.baseLogger.isLevelEnabled('info')) this.log.info({ code, reason, lifetimeMs }, 'connection closed');
    this.owner.connectionGone(this, code, reason, lifetimeMs);
    this.deliverClose(code, reason);
  }

  /** From RouterWebSocket: ws failed the connection; 'close' follows, which is where the close is logged. */
  socketFailed(error: Error): void {
    const wsCode = (error as { code?: string }).code;
    this.failure = { code: closeCodeFor(wsCode), reason: error.message };
    this.log.warn({ err: error.message, wsCode }, 'websocket error');
  }

  get bufferedAmount(): number {
    const raw = this.rawSocket();
    // ws counts its socket's buffer plus frames of its own (compression); only the socket's part is held.
    return raw === undefined ? this.socket.bufferedAmount : this.socket.bufferedAmount - raw.writableLength + turnBatcher.backlog(raw);
  }

  /** ws writes to its net.Socket, which it keeps as `_socket` (not part of its typed API). */
  private rawSocket(): Socket | undefined {
    return (this.socket as unknown as { _socket?: Socket })._socket;
  }

  send(data: Buffer | string, binary: boolean): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const raw = this.rawSocket();
    if (raw !== undefined) turnBatcher.hold(raw, data.length);
    if (raw !== undefined && typeof data !== 'string') {
      const frame = sharedFrame(data, binary);
      if (frame !== undefined && this.plainFrames()) {
        raw.write(frame);
        return;
      }
    }
    this.socket.send(data, { binary });
  }

  /**
   * Whether a frame may bypass ws's sender: no permessage-deflate on this connection, and nothing queued in the
   * sender (it queues only while compressing or reading a Blob), so the bytes keep their order.
   */
  private plainFrames(): boolean {
    const ws = this.socket as unknown as { _extensions: Record<string, unknown>; _sender: { _state: number; _queue: unknown[] } | null };
    return ws._sender !== null && ws._sender._state === 0 && ws._sender._queue.length === 0 && ws._extensions['permessage-deflate'] === undefined;
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.CLOSED || this.socket.readyState === this.socket.CLOSING) return;
    this.socket.close(code, truncateReason(reason));
  }

  /** Drops the connection without a closing handshake (shutdown deadline, dead peer); `reason` is logged. */
  terminate(reason = 'terminated'): void {
    this.failure ??= { code: 1006, reason };
    this.socket.terminate();
  }

  ping(): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
  }
}

// A fan-out hands the same Buffer to every receiver in turn (the broker encodes once per subscription and
// serializer). The second time in a row a Buffer is sent, it is framed once, and that frame is written to this
// and every following receiver: one write of shared bytes instead of ws building a header and writing two
// buffers per receiver. A Buffer sent once (an RPC result, a QoS 1 packet with its own id) costs one comparison.
// Measured: WAMP JSON fan-out 1->100 from 888k to 2.75M deliveries/s.
let lastPayload: Buffer | undefined;
let lastBinary = false;
let lastFrame: Buffer | undefined;

function sharedFrame(payload: Buffer, binary: boolean): Buffer | undefined {
  if (payload !== lastPayload || binary !== lastBinary) {
    lastPayload = payload;
    lastBinary = binary;
    lastFrame = undefined;
    return undefined;
  }
  lastFrame ??= frameOf(payload, binary);
  return lastFrame;
}

/** A server frame (unmasked, FIN, one fragment) holding `payload`. */
function frameOf(payload: Buffer, binary: boolean): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, header);
  return frame;
}

/** The close code ws sends for each of its failures (RFC 6455 section 7.4.1). */
function closeCodeFor(wsCode: string | undefined): number {
  switch (wsCode) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return CloseCode.MessageTooBig;
    case 'WS_ERR_INVALID_UTF8':
      return CloseCode.InvalidPayload;
    case undefined:
      return 1006;
    default:
      return CloseCode.ProtocolError;
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A close reason may take at most 123 bytes of UTF-8 (RFC 6455 section 5.5). */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  return cut + '...';
}
