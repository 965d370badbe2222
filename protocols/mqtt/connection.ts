/**
 * One MQTT network connection, over WebSocket or TCP: decodes packets, keeps the connection's state and
 * keepalive, dispatches to one handler per packet family, and writes packets for its session.
 */
import { CloseCode, type Connection, type ConnectionHandler, type Logger } from '../../src/port.js';
import { Codec, packetSize, type CodecError, type CodecSink, type Packet } from './codec.js';
import { handleAuth } from './handlers/auth.js';
import { handleConnect } from './handlers/connect.js';
import { handleDisconnect } from './handlers/disconnect.js';
import { handlePuback, handlePubcomp, handlePublish, handlePubrec, handlePubrel } from './handlers/publish.js';
import { handleSubscribe } from './handlers/subscribe.js';
import { handleUnsubscribe } from './handlers/unsubscribe.js';
import type { MqttHub } from './hub.js';
import { toPacket } from './properties.js';
import { toComponents } from './topics.js';
import { encodeShared } from './publish-encoder.js';
import { ConnackV3, Reason } from './reason-codes.js';
import { PAYLOAD_SIZE_EXCEEDED, type Attachment, type MqttSession, type Outgoing } from './session.js';

/**
 * - `connect`: waiting for CONNECT, which must be the first packet [MQTT-3.1.0-1];
 * - `authenticating`: CONNECT received, credentials being checked; later packets are held until CONNACK;
 * - `connected`: CONNACK sent;
 * - `closed`: the connection is gone or closing.
 */
const NO_IDS: readonly number[] = [];

export type ConnectionState = 'connect' | 'authenticating' | 'connected' | 'closed';

type Handler = (connection: MqttConnection, packet: never) => void;

/** One handler per packet a connected client may send; CONNECT again is a protocol error [MQTT-3.1.0-2]. */
const handlers: Partial<Record<Packet['cmd'], Handler>> = {
  publish: handlePublish,
  puback: handlePuback,
  pubrec: handlePubrec,
  pubrel: handlePubrel,
  pubcomp: handlePubcomp,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  disconnect: handleDisconnect,
  auth: handleAuth,
  pingreq: (connection) => connection.send({ cmd: 'pingresp' }),
};

export class MqttConnection implements ConnectionHandler, Attachment, CodecSink {
  state: ConnectionState = 'connect';
  readonly codec: Codec;
  session: MqttSession | undefined;
  /** Packets that arrived after CONNECT while it was being checked; a client need not wait for CONNACK. */
  private held: Packet[] | undefined;
  /** The client's limits, from CONNECT (MQTT 5 properties). */
  clientReceiveMaximum = 65535;
  clientMaxPacketSize = Number.POSITIVE_INFINITY;
  clientTopicAliasMaximum = 0;
  /** Topic aliases the client set, client to router [MQTT-3.3.2.3.4]. Made on first use, like the next. */
  get inboundAliases(): Map<number, string> {
    return (this.lazyInboundAliases ??= new Map());
  }
  private lazyInboundAliases: Map<number, string> | undefined;
  /** Topic aliases the router set, router to client; only for clients that allow them. */
  private get outboundAliases(): Map<string, number> {
    return (this.lazyOutboundAliases ??= new Map());
  }
  private lazyOutboundAliases: Map<string, number> | undefined;
  /** The MQTT 5 Authentication Method of CONNECT, if any: re-authentication must use the same. */
  authMethod: string | undefined;
  /** Set by a DISCONNECT that asks for no will. */
  cleanDisconnect = false;
  /** Session Expiry Interval from CONNECT was 0, which DISCONNECT may not change (MQTT 5.0 section 3.14.2.2.2). */
  connectExpiryWasZero = true;
  /** Acknowledgements waiting for the store, chained so that they leave in order [MQTT-4.6.0-2]. */
  private ackChain: Promise<void> | undefined;
  private acksWaiting = 0;
  private keepaliveMs = 0;
  private lastActivity = Date.now();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** The levels of the last topic this client published to: clients mostly publish to the same topic again. */
  private lastTopic = '';
  private lastLevels: readonly string[] = [];

  constructor(
    readonly network: Connection,
    readonly hub: MqttHub,
  ) {
    const deadline = hub.context.handshakeTimeoutMs;
    if (deadline > 0) {
      // CONNECT, and its CONNACK, must come in time; a silent socket must not be held for ever.
      this.handshakeTimer = setTimeout(() => {
        if (this.state !== 'connect' && this.state !== 'authenticating') return;
        this.log.info({ timeoutMs: deadline, state: this.state }, 'handshake timeout');
        hub.context.metrics.limitHit('handshake_timeout');
        this.close('handshake timeout');
      }, deadline);
      this.handshakeTimer.unref?.();
    }
    this.codec = new Codec(hub.options.maxPacketSize, this);
  }

  /**
   * A topic name's levels (`toComponents`), reused while the client keeps publishing to the same topic: splitting
   * it per message showed in the fan-in profile. Safe to share: the core only reads topics (`readonly string[]`).
   */
  levels(topic: string): readonly string[] {
    if (topic !== this.lastTopic) {
      this.lastLevels = toComponents(topic);
      this.lastTopic = topic;
    }
    return this.lastLevels;
  }

  get log(): Logger {
    return this.network.log;
  }

  get version(): number {
    return this.codec.version;
  }

  get sendWindow(): number {
    return Math.min(this.clientReceiveMaximum, this.hub.options.maxInflight);
  }

  // ---- input ----

  message(data: Buffer): void {
    if (this.state === 'closed') return;
    this.hub.stats.bytesReceived += data.length;
    this.lastActivity = Date.now();
    this.codec.feed(data);
  }

  packetDecoded(packet: Packet): void {
    this.hub.packets.received(packet.cmd, packetSize(packet.length ?? 0));
    try {
      this.dispatch(packet);
    } catch (error) {
      // A bug must cost this one connection, never the process or another session.
      this.log.error({ err: error, cmd: packet.cmd }, 'internal error while handling a packet');
      this.disconnect(Reason.UnspecifiedError, 'internal error');
    }
  }

  private dispatch(packet: Packet): void {
    switch (this.state) {
      case 'closed':
        return;
      case 'connect':
        if (packet.cmd === 'connect') handleConnect(this, packet);
        else this.protocolError(Reason.ProtocolError, `the first packet must be CONNECT, got ${packet.cmd.toUpperCase()}`);
        return;
      case 'authenticating':
        if (packet.cmd === 'connect') this.protocolError(Reason.ProtocolError, 'a second CONNECT');
        else (this.held ??= []).push(packet);
        return;
      case 'connected': {
        if (packet.cmd === 'publish') this.hub.stats.messagesReceived++;
        const handler = handlers[packet.cmd];
        if (handler === undefined) {
          const what =
            packet.cmd === 'connect'
              ? 'a second CONNECT'
              : `${packet.cmd.toUpperCase()}, which only a server sends`;
          this.protocolError(Reason.ProtocolError, what);
          return;
        }
        handler(this, packet as never);
      }
    }
  }

  codecFailed(error: CodecError): void {
    if (error.kind === 'bad-version') {
      this.refuseProtocolLevel(error.level);
      return;
    }
    if (error.kind === 'too-large') {
      this.hub.context.metrics.limitHit('message_size');
      this.protocolError(Reason.PacketTooLarge, `packet of ${error.size} bytes is larger than the maximum of ${this.hub.options.maxPacketSize}`);
      return;
    }
    if (error.kind === 'protocol') {
      this.protocolError(Reason.ProtocolError, error.message);
      return;
    }
    this.protocolError(Reason.MalformedPacket, `malformed packet: ${error.message}`);
  }

  /**
   * [MQTT-3.1.2-2]: CONNACK "unacceptable protocol version", then close. A level above 5 is answered the MQTT 5
   * way (0x84), anything older the 3.1.1 way (0x01). Written by hand: the codec has no version to encode with.
   */
  refuseProtocolLevel(level: number): void {
    this.log.info({ level }, 'CONNECT with an unsupported protocol level');
    const bytes =
      level > 5
        ? Buffer.from([0x20, 0x03, 0x00, Reason.UnsupportedProtocolVersion, 0x00])
        : Buffer.from([0x20, 0x02, 0x00, ConnackV3.UnacceptableProtocolVersion]);
    this.hub.stats.bytesSent += bytes.length;
    this.network.send(bytes, true);
    this.close('unsupported protocol level');
  }

  /**
   * After CONNACK: the session resends what is in flight and queued, then the packets the client sent meanwhile
   * are processed, in that order, and the keepalive watch starts.
   */
  connected(session: MqttSession, keepaliveSec: number): void {
    this.state = 'connected';
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    // A cleared Timeout and its closure would otherwise stay with the connection for its whole life.
    this.handshakeTimer = undefined;
    this.keepaliveMs = keepaliveSec * 1000;
    this.armKeepalive(this.keepaliveMs * 1.5);
    session.attach(this);
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) for (const packet of held) this.packetDecoded(packet);
  }

  /** [MQTT-3.1.2-22]: a client silent for one and a half keepalives is disconnected. */
  private armKeepalive(delayMs: number): void {
    if (this.keepaliveMs === 0) return;
    this.keepaliveTimer = setTimeout(() => {
      const limit = this.keepaliveMs * 1.5;
      const silent = Date.now() - this.lastActivity;
      if (silent >= limit) {
        this.log.info({ keepaliveSec: this.keepaliveMs / 1000, silentMs: silent }, 'keepalive timeout');
        this.disconnect(Reason.KeepAliveTimeout, 'keepalive timeout');
      } else {
        this.armKeepalive(limit - silent);
      }
    }, delayMs);
    this.keepaliveTimer.unref?.();
  }

  closed(): void {
    if (this.keepaliveTimer !== undefined) clearTimeout(this.keepaliveTimer);
    this.state = 'closed';
    this.hub.connections.delete(this);
    const session = this.session;
    if (session !== undefined && session.attachment === this) {
      session.detach(!this.cleanDisconnect);
    }
  }

  // ---- output ----

  /**
   * Encodes and writes a packet. A packet that would exceed the client's Maximum Packet Size loses its Reason
   * String and User Properties first [MQTT-3.1.2-24, MQTT-3.2.2-19, MQTT-3.14.2-3].
   */
  send(packet: Packet): void {
    let bytes = this.codec.encode(packet);
    const properties = (packet as { properties?: Record<string, unknown> }).properties;
    if (bytes.length > this.clientMaxPacketSize && properties !== undefined) {
      delete properties.reasonString;
      delete properties.userProperties;
      bytes = this.codec.encode(packet);
    }
    this.hub.stats.bytesSent += bytes.length;
    this.hub.packets.sent(packet.cmd, bytes.length);
    this.network.send(bytes, true);
  }

  /**
   * Sends an acknowledgement that promises durability (PUBACK, PUBREC, PUBCOMP, SUBACK) once every store write
   * made so far is durable. Without pending writes it goes at once, unless an earlier one is still waiting: acks
   * keep their order [MQTT-4.6.0-2]. If the store fails, nothing is acknowledged: the connection is closed and
   * the client sends again, which is safe for QoS 1 and, through the received ids, for QoS 2.
   */
  sendDurable(packet: Packet, after?: () => void): void {
    const barrier = this.hub.context.persistence.barrier();
    if (barrier === undefined && this.acksWaiting === 0) {
      this.send(packet);
      after?.();
      return;
    }
    this.acksWaiting++;
    const previous = this.ackChain ?? Promise.resolve();
    this.ackChain = previous
      .then(() => barrier)
      .then(
        () => {
          this.acksWaiting--;
          if (this.state !== 'connected') return;
          this.send(packet);
          after?.();
        },
        (error: unknown) => {
          this.acksWaiting--;
          this.log.error({ err: error, cmd: packet.cmd }, 'store write failed: acknowledgement withheld');
          this.disconnect(Reason.UnspecifiedError, 'the router could not store the message');
        },
      );
  }

  sendPublish(message: Outgoing, packetId: number, dup: boolean): void {
    if (this.state !== 'connected') return;
    if (this.congested(message.qos)) return;
    const v5 = this.version === 5;
    // The common fan-out case: bytes shared with every other receiver of the same message (publish-encoder.ts).
    if (!dup && message.shareable === true && !(v5 && this.clientTopicAliasMaximum > 0)) {
      const bytes = encodeShared(this.codec, message, message.qos, packetId, () => this.publishPacket(message, message.topic, packetId, dup, v5 ? toPacket(message.properties, NO_IDS, Date.now()) : undefined));
      this.write(bytes, message, packetId);
      return;
    }
    let topic = message.topic;
    const properties = v5 ? toPacket(message.properties, message.subscriptionIds, Date.now()) ?? {} : undefined;
    // A new alias is only recorded once the packet that introduces it is known to be sent.
    let newAlias: number | undefined;
    if (v5 && this.clientTopicAliasMaximum > 0) {
      const alias = this.outboundAliases.get(topic);
      if (alias !== undefined) {
        properties!.topicAlias = alias;
        topic = '';
      } else if (this.outboundAliases.size < this.clientTopicAliasMaximum) {
        newAlias = this.outboundAliases.size + 1;
        properties!.topicAlias = newAlias;
      }
    }
    const bytes = this.codec.encode(this.publishPacket(message, topic, packetId, dup, properties));
    if (this.write(bytes, message, packetId) && newAlias !== undefined) this.outboundAliases.set(message.topic, newAlias);
  }

  private publishPacket(message: Outgoing, topic: string, packetId: number, dup: boolean, properties: object | undefined): Packet {
    return {
      cmd: 'publish',
      topic,
      // mqtt-packet copies payloads with Buffer methods; a plain Uint8Array (from another module) is wrapped.
      payload: Buffer.isBuffer(message.payload)
        ? message.payload
        : Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength),
      qos: message.qos,
      retain: message.retain,
      dup,
      messageId: message.qos > 0 ? packetId : undefined,
      properties,
    } as Packet;
  }

  /** Writes an encoded PUBLISH, unless it is larger than the client allows. Returns whether it was written. */
  private write(bytes: Buffer, message: Outgoing, packetId: number): boolean {
    if (bytes.length > this.clientMaxPacketSize) {
      // Never send a client more than it allows; behave as if it was sent [MQTT-3.1.2-25].
      this.hub.stats.droppedTooLarge++;
      this.hub.context.metrics.dropped('too_large');
      this.log.debug({ size: bytes.length, max: this.clientMaxPacketSize }, 'publication larger than the client allows; dropped');
      if (message.qos > 0) this.session?.completed(packetId);
      this.session?.dropped(message, PAYLOAD_SIZE_EXCEEDED, 'larger than the Maximum Packet Size of the callee');
      return false;
    }
    this.hub.stats.messagesSent++;
    this.hub.stats.bytesSent += bytes.length;
    this.hub.packets.sent('publish', bytes.length);
    this.network.send(bytes, true);
    return true;
  }

  /**
   * A client that does not read fast enough: past the soft limit its QoS 0 messages are dropped (QoS 1/2 have
   * their own window and queue); past the hard limit it is disconnected, so its buffer never grows without bound.
   */
  private congested(qos: number): boolean {
    const buffered = this.network.bufferedAmount;
    const { softBytes, hardBytes } = this.hub.context.backpressure;
    if (buffered <= softBytes) return false;
    if (buffered > hardBytes) {
      this.log.warn({ buffered }, 'slow consumer: disconnected');
      this.hub.context.metrics.limitHit('slow_consumer');
      this.hub.context.metrics.dropped('slow_consumer');
      this.disconnect(Reason.QuotaExceeded, 'slow consumer');
      return true;
    }
    if (qos > 0) return false;
    this.hub.context.metrics.dropped('slow_consumer');
    return true;
  }

  sendPubrel(packetId: number): void {
    // Reason code 0 given explicitly: mqtt-packet then writes the short form (see handlers/publish.ts).
    if (this.state === 'connected') this.send({ cmd: 'pubrel', messageId: packetId, reasonCode: 0 } as Packet);
  }

  /** Ends the connection: MQTT 5 gets DISCONNECT with a reason code and string first [MQTT-3.14.2]. */
  disconnect(reason: number, message: string): void {
    if (this.state === 'closed') return;
    if (this.version === 5 && this.state === 'connected') {
      this.send({ cmd: 'disconnect', reasonCode: reason, properties: { reasonString: message } } as Packet);
    }
    this.close(message);
  }

  /** A protocol error or malformed packet: logged, counted, and this one connection closed. */
  protocolError(reason: number, message: string): void {
    if (this.state === 'closed') return;
    this.hub.stats.protocolErrors++;
    this.log.warn({ reason, violation: message }, 'mqtt protocol error');
    this.disconnect(reason, message);
  }

  close(reason: string): void {
    if (this.keepaliveTimer !== undefined) clearTimeout(this.keepaliveTimer);
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.state = 'closed';
    this.network.close(CloseCode.Normal, reason);
  }
}
