import {
  CloseCode,
  type CancelMode,
  type Connection,
  type ConnectionHandler,
  type Invocation,
  type ModuleContext,
  type Payload,
  type Publication,
  type Session,
  type SessionSink,
  type SubscriberOptions,
  type SubscriptionRef,
  type TransportInfo,
} from '../../src/port.js';
import { Type, TypeName } from './codes.js';
import { Uri } from './errors.js';
import { establishedHandlers, type Handler } from './dispatch.js';
import { messageCounters, type MessageCounters } from './counters.js';
import { ClientFeature } from './features.js';
import { encodeEvent } from './events.js';
import { handleAuthenticate, handleHello } from './handshake.js';
import { parseMessage, type ClientMessage } from './messages.js';
import { encodeCallError, encodeInterrupt, encodeInvocation, encodeResult } from './rpc-out.js';
import type { Serializer } from './serializers/index.js';
import type { UriRule } from './uri.js';

/**
 * Where a WAMP connection stands:
 * - `hello`: waiting for HELLO;
 * - `pending`: HELLO or AUTHENTICATE received, credentials being checked; the client must wait;
 * - `challenged`: CHALLENGE sent, waiting for AUTHENTICATE;
 * - `established`: joined to a realm;
 * - `closing`: the router sent GOODBYE and waits for the client's;
 * - `closed`: the transport is gone or being closed.
 */
export type PeerState = 'hello' | 'pending' | 'challenged' | 'established' | 'closing' | 'closed';

/** How long the router waits for the GOODBYE reply before it closes the transport anyway. */
const GOODBYE_WAIT_MS = 2000;

/**
 * One WAMP connection: decodes, checks the state, dispatches, and is the sink of its core session. It is also the
 * session's TransportInfo, read through from the connection, so that a session needs no object for it.
 */
export class WampPeer implements ConnectionHandler, SessionSink, TransportInfo {
  state: PeerState = 'hello';
  session: Session | undefined;
  /** The realm named in HELLO, kept until the session joins it. */
  pendingRealm: string | undefined;
  /** What HELLO announced that the router acts on (ClientFeature bits). */
  clientFeatures = 0;
  private goodbyeTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly counters: MessageCounters;

  constructor(
    readonly connection: Connection,
    readonly serializer: Serializer,
    readonly context: ModuleContext,
  ) {
    this.counters = messageCounters(context.metrics);
    if (context.handshakeTimeoutMs > 0) {
      // A connection that never completes its login must not hold its socket for ever.
      this.handshakeTimer = setTimeout(() => {
        if (this.state === 'established' || this.state === 'closed') return;
        this.log.info({ timeoutMs: context.handshakeTimeoutMs, state: this.state }, 'handshake timeout');
        context.metrics.limitHit('handshake_timeout');
        this.state = 'closed';
        this.connection.close(CloseCode.PolicyViolation, 'handshake timeout');
      }, context.handshakeTimeoutMs);
      this.handshakeTimer.unref?.();
    }
  }

  /** The session is established: the handshake deadline no longer applies. */
  established(): void {
    this.state = 'established';
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  get log() {
    return this.connection.log;
  }

  get connectionId(): string {
    return this.connection.id;
  }

  get protocol(): string {
    return this.connection.protocol;
  }

  get transport(): string {
    return this.connection.transport;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** The URI rule of the realm this peer joined. */
  get uriRule(): UriRule {
    return this.session?.realm.options.uriCheck ?? 'loose';
  }

  /**
   * Encodes and sends one message. It never throws: the core calls the sink methods synchronously in the middle
   * of routing, so a payload this serializer cannot write is logged and dropped instead.
   */
  send(message: unknown[], mayHaveBinary = false): void {
    let bytes: Buffer;
    try {
      bytes = this.serializer.encode(message, mayHaveBinary);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, type: message[0] }, 'message could not be encoded; dropped');
      this.context.metrics.dropped('unencodable');
      return;
    }
    this.sendEncoded(TypeName[message[0] as number] ?? 'UNKNOWN', bytes);
  }

  /** Sends an encoded EVENT (shared by every receiver of its subscription). */
  sendEvent(bytes: Buffer): void {
    this.sendEncoded('EVENT', bytes);
  }

  /** Sends WELCOME: `details` plus the router's roles (see Serializer.encodeWelcome). */
  sendWelcome(sessionId: number, details: Record<string, unknown>): void {
    this.sendEncoded('WELCOME', this.serializer.encodeWelcome(sessionId, details));
  }

  private sendEncoded(typeName: string, bytes: Buffer): void {
    if (this.overHardLimit()) return;
    this.counters.sent(this.connection.protocol, typeName, bytes.length);
    this.connection.send(bytes, this.serializer.binary);
  }

  /** ERROR for a request, with an optional message as the single argument. */
  sendError(requestType: number, request: number, uri: string, message?: string): void {
    this.send(message === undefined ? [Type.ERROR, requestType, request, {}, uri] : [Type.ERROR, requestType, request, {}, uri, [message]]);
  }

  /** ABORT and close: the end of a session that never started or broke the protocol. */
  abort(reason: string, message: string, closeCode: number = CloseCode.Normal): void {
    if (this.state === 'closed') return;
    this.log.info({ reason, message }, 'abort');
    this.send([Type.ABORT, { message }, reason]);
    this.leaveCore();
    this.state = 'closed';
    this.connection.close(closeCode, reason);
  }

  protocolViolation(message: string): void {
    this.log.warn({ violation: message }, 'protocol violation');
    this.abort(Uri.protocolViolation, message, CloseCode.ProtocolError);
  }

  // ---- ConnectionHandler ----

  message(data: Buffer): void {
    if (this.state === 'closed') return;
    let decoded: unknown;
    try {
      decoded = this.serializer.decode(data);
    } catch {
      this.protocolViolation(`message is not valid ${this.serializer.protocol}`);
      return;
    }
    const parsed = parseMessage(decoded);
    if (!parsed.ok) {
      this.protocolViolation(parsed.reason);
      return;
    }
    this.counters.received(this.connection.protocol, TypeName[parsed.message.type] ?? 'UNKNOWN', data.length);
    try {
      this.dispatch(parsed.message);
    } catch (error) {
      // A bug must cost this one connection, never the process or another session.
      this.log.error({ err: error }, 'internal error while handling a message');
      this.abort('wamp.error.internal_error', 'internal error', CloseCode.InternalError);
    }
  }

  closed(): void {
    this.state = 'closed';
    if (this.goodbyeTimer !== undefined) clearTimeout(this.goodbyeTimer);
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.leaveCore();
  }

  private dispatch(message: ClientMessage): void {
    switch (this.state) {
      case 'hello':
        if (message.type === Type.HELLO) handleHello(this, message);
        else if (message.type === Type.ABORT) this.connection.close(CloseCode.Normal, 'abort');
        else this.protocolViolation(`expected HELLO, got message type ${message.type}`);
        return;
      case 'challenged':
        if (message.type === Type.AUTHENTICATE) handleAuthenticate(this, message);
        else if (message.type === Type.ABORT) this.connection.close(CloseCode.Normal, 'abort');
        else this.protocolViolation(`expected AUTHENTICATE, got message type ${message.type}`);
        return;
      case 'pending':
        this.protocolViolation(`message type ${message.type} sent before WELCOME`);
        return;
      case 'closing':
        if (message.type === Type.GOODBYE) this.finishClosing();
        return;
      case 'closed':
        return;
      case 'established': {
        if (message.type === Type.GOODBYE) {
          this.log.info({ reason: message.reason }, 'goodbye from client');
          this.send([Type.GOODBYE, {}, Uri.goodbyeAndOut]);
          this.leaveCore();
          // Clients close after GOODBYE anyway; closing with 1000 here makes it a clean close for them.
          this.state = 'closed';
          this.connection.close(CloseCode.Normal, 'goodbye');
          return;
        }
        if (message.type === Type.ABORT) {
          this.leaveCore();
          this.state = 'closed';
          this.connection.close(CloseCode.Normal, 'abort');
          return;
        }
        const handler = establishedHandlers[message.type] as Handler<ClientMessage> | undefined;
        if (handler === undefined) this.protocolViolation(`message type ${message.type} is not valid in an established session`);
        else handler(this, message);
        return;
      }
    }
  }

  /** Sends GOODBYE and waits for the reply, then closes; the core session ends at once. */
  goodbye(reason: string, message: string): void {
    if (this.state !== 'established') return;
    this.send([Type.GOODBYE, { message }, reason]);
    this.leaveCore();
    this.state = 'closing';
    this.goodbyeTimer = setTimeout(() => this.finishClosing(), GOODBYE_WAIT_MS);
    this.goodbyeTimer.unref?.();
  }

  private finishClosing(): void {
    if (this.goodbyeTimer !== undefined) clearTimeout(this.goodbyeTimer);
    this.state = 'closed';
    this.connection.close(CloseCode.Normal, 'goodbye');
  }

  private leaveCore(): void {
    const session = this.session;
    this.session = undefined;
    session?.leave();
  }

  /**
   * A peer that does not read fast enough: past the soft limit its events are dropped (WAMP events carry no
   * delivery guarantee); past the hard limit it is disconnected, so its buffer never grows without bound.
   */
  private congested(): boolean {
    if (this.connection.bufferedAmount <= this.context.backpressure.softBytes) return false;
    this.context.metrics.dropped('slow_consumer');
    return true;
  }

  /**
   * Messages that are never dropped (INVOCATION, RESULT, ERROR...) still must not pile up without bound: past the
   * hard limit the peer is disconnected.
   */
  private overHardLimit(): boolean {
    const buffered = this.connection.bufferedAmount;
    if (buffered <= this.context.backpressure.hardBytes) return false;
    if (this.state !== 'closed') {
      this.log.warn({ buffered }, 'slow consumer: disconnected');
      this.context.metrics.limitHit('slow_consumer');
      this.leaveCore();
      this.state = 'closed';
      this.connection.close(CloseCode.TryAgainLater, 'slow consumer');
    }
    return true;
  }

  // ---- SessionSink: the core delivering to this peer ----

  event(publication: Publication, subscription: SubscriptionRef, _options: SubscriberOptions): void {
    if (this.congested()) return;
    const bytes = encodeEvent(this.serializer, publication, subscription);
    if (typeof bytes !== 'string') {
      this.sendEvent(bytes);
      return;
    }
    this.context.metrics.dropped(bytes);
    this.log.debug({ subscription: subscription.id, publication: publication.id, why: bytes }, 'event not deliverable over WAMP');
  }

  invocation(invocation: Invocation): void {
    this.send(encodeInvocation(invocation), invocation.payload.hasBinary);
  }

  interrupt(invocation: Invocation, mode: CancelMode, reason: string): void {
    this.send(encodeInterrupt(invocation, mode, reason));
  }

  result(requestId: number, payload: Payload): void {
    this.send(encodeResult(requestId, payload), payload.hasBinary);
  }

  callError(requestId: number, error: string, payload: Payload | undefined): void {
    this.send(encodeCallError(requestId, error, payload), payload?.hasBinary ?? false);
  }

  close(reason: string, message: string): void {
    this.goodbye(reason, message);
  }

  /**
   * WAMP subscription and registration revocation (advanced profile): UNSUBSCRIBED / UNREGISTERED with request
   * id 0 and the id in the details, to clients that announced the feature; others are not told.
   */
  revoked(subscriptions: readonly number[], registrations: readonly number[], reason: string): void {
    this.log.info({ subscriptions, registrations, reason }, 'authorization changed: subscriptions or registrations revoked');
    if ((this.clientFeatures & ClientFeature.subscriptionRevocation) !== 0) {
      for (const id of subscriptions) this.send([Type.UNSUBSCRIBED, 0, { subscription: id, reason }]);
    }
    if ((this.clientFeatures & ClientFeature.registrationRevocation) !== 0) {
      for (const id of registrations) this.send([Type.UNREGISTERED, 0, { registration: id, reason }]);
    }
  }
}

