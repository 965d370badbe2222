/**
 * An MQTT session (MQTT 5.0 section 4.1): what outlives a network connection. It is the sink of its core session,
 * so deliveries arrive here whether or not a client is connected; it keeps the QoS 1/2 messages in flight to the
 * client, the queue behind them, the QoS 2 packet ids received and not yet released, the will, and the expiry.
 */
import {
  IdSequence,
  noMetrics,
  Payload,
  TOKEN_EXPIRED,
  type Metrics,
  type CancelMode,
  type Invocation,
  type Logger,
  type Match,
  type MessageProperties,
  type Principal,
  type Publication,
  type QoS,
  type QueuedEntry,
  type SessionStore,
  type Session,
  type SessionSink,
  type SubscriberOptions,
  type SubscriptionRef,
} from '../../src/port.js';
import { longTimer, type LongTimer } from './long-timer.js';
import { disconnectReasonFor, Reason } from './reason-codes.js';
import { invocationMessage, replyMessage, type ReplyAddress } from './rpc.js';
import type { MqttStats } from './stats.js';
import { fromComponents, toComponents, type ParsedFilter } from './topics.js';

/** Per-subscription options an MQTT client chose (MQTT 5.0 section 3.8.3.1). */
export interface MqttSubscriberOptions extends SubscriberOptions {
  qos: QoS;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId?: number;
}

export interface MqttSubscription {
  filter: string;
  parsed: ParsedFilter;
  options: MqttSubscriberOptions;
  /** The core subscription's id (for a shared one, the group's subscription), or the registration's for `$rpc`. */
  coreId: number;
  /** A `$rpc/...` filter: a registration, not a subscription. */
  rpc: boolean;
}

/** A message on its way to the client. */
export interface Outgoing {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties | undefined;
  subscriptionIds: readonly number[];
  /** Set when the message carries an invocation, which must fail if the message cannot be delivered. */
  invocationId?: number;
  /** Part of a call (an invocation or its reply): it lives with the call and is never persisted. */
  transient?: boolean;
  /**
   * The same object goes to several receivers and holds nothing that differs between them (no subscription
   * identifiers, no expiry counting down), so its encoding can be shared (publish-encoder.ts).
   */
  shareable?: boolean;
}

interface InFlight {
  packetId: number;
  message: Outgoing;
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  state: 'publish' | 'pubrel';
  /** The message's entry in the session store; 0 when it is not persisted. */
  seq: number;
}

/** A message waiting behind the window, with its store entry (0: not persisted). */
interface Queued {
  message: Outgoing;
  seq: number;
  /** Read back after a restart: it may have reached the client before, so it goes with DUP set. */
  dup?: boolean;
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Will properties, without the expiry: that counts from the will's publication, not from CONNECT. */
  properties: MessageProperties | undefined;
  /** MQTT 5 Message Expiry Interval of the will, in seconds (MQTT 5.0 section 3.1.3.2.4). */
  expirySec: number | undefined;
  /** MQTT 5 Will Delay Interval, in seconds. */
  delaySec: number;
}

/** What a session needs from the network connection it is attached to. */
export interface Attachment {
  /** How many QoS 1/2 messages may be in flight to the client (its Receive Maximum and ours). */
  readonly sendWindow: number;
  sendPublish(message: Outgoing, packetId: number, dup: boolean): void;
  sendPubrel(packetId: number): void;
  /** The router ends the session: tell the client why and close. */
  disconnect(reason: number, message: string): void;
}

export interface SessionSettings {
  maxQueued: number;
  /** Where a session with an expiry keeps what must survive a restart of the router. */
  store: SessionStore;
}

/** What the store keeps of a session besides its messages: enough to rebuild it at start-up (restore.ts). */
export interface SessionRecord {
  clientId: string;
  realm: string;
  principal: Principal;
  expirySec: number;
  version: 4 | 5;
  subscriptions: Array<{ filter: string; options: MqttSubscriberOptions }>;
  will?: Will;
  /** False once the client is gone; then `since` says when it went, which starts the expiry. */
  connected: boolean;
  since: number;
  /** When a will waiting out its delay is due (ms since epoch). */
  willAt?: number;
}

export class MqttSession implements SessionSink {
  core!: Session;
  attachment: Attachment | undefined;
  /**
   * Subscriptions by filter. This map and the next are made on first use: an empty Map with its table is about
   * 190 bytes, and many clients only publish, or only take QoS 0.
   */
  get subscriptions(): Map<string, MqttSubscription> {
    return (this.lazySubscriptions ??= new Map());
  }
  private lazySubscriptions: Map<string, MqttSubscription> | undefined;
  /** Outgoing QoS 1/2 messages in flight, in the order they were first sent. */
  private get inflight(): Map<number, InFlight> {
    return (this.lazyInflight ??= new Map());
  }
  private lazyInflight: Map<number, InFlight> | undefined;
  private queue: Queued[] = [];
  /** QoS 2 packet ids received, PUBREC sent, PUBREL not yet received [MQTT-4.3.3-10]. */
  get inboundQos2(): Set<number> {
    return (this.lazyInboundQos2 ??= new Set());
  }
  // The collections below are made on first use: most sessions never use QoS 2 or RPC, and with thousands of idle
  // connections every empty Map/Set counts (issue 7, RSS per idle connection).
  private lazyInboundQos2: Set<number> | undefined;
  private nextPacketId = 1;
  /** Numbers the store entries of this session, in queue order. */
  private nextSeq = 1;
  /** When a will waiting out its delay is due, for the store. */
  private willAt: number | undefined;
  /** When the client went; the session expiry counts from it. Undefined while connected. */
  private offlineSince: number | undefined;
  /** Session Expiry Interval in seconds; Infinity never expires. */
  expirySec = 0;
  /** MQTT protocol level of the latest connection (4 or 5), which shapes RPC envelopes. */
  version = 4;
  /** QoS of invocations for each `$rpc` registration, by registration id. */
  get rpcQos(): Map<number, QoS> {
    return (this.lazyRpcQos ??= new Map());
  }
  private lazyRpcQos: Map<number, QoS> | undefined;
  /** Calls this session made, by request id: where each answer goes. */
  get calls(): Map<number, ReplyAddress> {
    return (this.lazyCalls ??= new Map());
  }
  private lazyCalls: Map<number, ReplyAddress> | undefined;
  readonly callIds = new IdSequence();
  will: Will | undefined;
  private willTimer: LongTimer | undefined;
  private expiryTimer: LongTimer | undefined;
  private ended = false;

  constructor(
    readonly key: string,
    readonly clientId: string,
    private readonly limits: SessionSettings,
    private readonly stats: MqttStats,
    private readonly log: Logger,
    private readonly onEnd: (session: MqttSession) => void,
    private readonly metrics: Metrics = noMetrics,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  get queued(): number {
    return this.queue.length;
  }

  get inflightCount(): number {
    return this.lazyInflight?.size ?? 0;
  }

  /** A session with an expiry outlives its connection, so the store keeps it (and it survives a restart). */
  get persistent(): boolean {
    return this.expirySec > 0;
  }

  // ---- the session store ----

  /** Writes the session's record (subscriptions, expiry, will...); a session without expiry is not kept. */
  saveRecord(): void {
    if (!this.persistent) {
      this.limits.store.drop(this.key);
      return;
    }
    const record: SessionRecord = {
      clientId: this.clientId,
      realm: this.core.realm.name,
      principal: this.core.principal,
      expirySec: this.expirySec,
      version: this.version === 5 ? 5 : 4,
      subscriptions: [...this.subscriptions.values()].map(({ filter, options }) => ({ filter, options })),
      connected: this.attachment !== undefined,
      since: this.offlineSince ?? Date.now(),
    };
    if (this.will !== undefined) record.will = this.will;
    if (this.willAt !== undefined) record.willAt = this.willAt;
    this.limits.store.save(this.key, record);
  }

  /** Puts a QoS 1/2 message in the store when this session must not lose it; returns its entry number or 0. */
  private persist(message: Outgoing, packetId: number): number {
    if (!this.persistent || message.qos === 0 || message.transient === true) return 0;
    const seq = this.nextSeq++;
    this.limits.store.putEntry(this.key, seq, entryOf(message, packetId, false));
    return seq;
  }

  /**
   * A session read back from the store at start-up: what was in flight goes out again with its packet id when
   * the client returns [MQTT-4.4.0-1], then the queue; QoS 2 ids awaiting PUBREL stay known.
   */
  restoreMessages(entries: ReadonlyArray<{ seq: number; entry: QueuedEntry }>, received: readonly number[]): void {
    for (const { seq, entry } of entries) {
      const message: Outgoing = {
        topic: entry.message.topic,
        payload: entry.message.payload,
        qos: entry.qos,
        retain: entry.retain,
        properties: entry.message.properties,
        subscriptionIds: entry.subscriptionIds,
      };
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      if (entry.packetId !== undefined && !this.inflight.has(entry.packetId)) {
        this.inflight.set(entry.packetId, { packetId: entry.packetId, message, state: entry.released === true ? 'pubrel' : 'publish', seq });
        this.nextPacketId = entry.packetId === 65535 ? 1 : entry.packetId + 1;
      } else {
        this.queue.push(entry.qos === 1 ? { message, seq, dup: true } : { message, seq });
      }
    }
    for (const packetId of received) this.inboundQos2.add(packetId);
  }

  /**
   * A restored session whose client has not come back yet: its expiry runs from when the client went (or from
   * now, if it was connected when the router stopped), and a will still owed goes out when due.
   */
  resumeOffline(record: Pick<SessionRecord, 'connected' | 'since' | 'will' | 'willAt'>): void {
    const gone = record.connected ? Date.now() : record.since;
    this.offlineSince = gone;
    if (record.will !== undefined && (record.connected || record.willAt !== undefined)) {
      this.will = record.will;
      // A client connected at the crash lost its connection abnormally; its will waits out its whole delay.
      const dueIn = record.willAt !== undefined ? record.willAt - Date.now() : record.will.delaySec * 1000;
      this.scheduleWill(Math.max(0, dueIn));
    }
    this.startExpiry(this.expirySec * 1000 - (Date.now() - gone));
  }

  // ---- QoS 2 from the client ----

  /** PUBREC is about to go out for this packet id: until PUBREL, the same id is a resend [MQTT-4.3.3-10]. */
  receivedQos2(packetId: number): void {
    this.inboundQos2.add(packetId);
    if (this.persistent) this.limits.store.markReceived(this.key, packetId);
  }

  /** PUBREL: the id may be used again. Returns whether it was known. */
  releasedQos2(packetId: number): boolean {
    if (!this.inboundQos2.delete(packetId)) return false;
    if (this.persistent) this.limits.store.clearReceived(this.key, packetId);
    return true;
  }

  // ---- attaching and detaching network connections ----

  /** A connection takes the session: resend what is in flight with DUP set [MQTT-4.4.0-1], then the queue. */
  attach(attachment: Attachment): void {
    this.clearTimer('expiry');
    this.registerAgain();
    // A reconnect within the will delay cancels the previous connection's will [MQTT-3.1.3-9].
    this.clearTimer('will');
    this.attachment = attachment;
    this.offlineSince = undefined;
    this.saveRecord();
    for (const entry of this.lazyInflight?.values() ?? []) {
      if (entry.state === 'publish') attachment.sendPublish(entry.message, entry.packetId, true);
      else attachment.sendPubrel(entry.packetId);
    }
    this.drain();
    this.updateAvailability();
  }

  /**
   * The connection is gone. `abnormal` fires the will (now, or after its delay while the session lives); a
   * session with expiry 0 ends at once, others wait for their expiry.
   */
  detach(abnormal: boolean): void {
    this.attachment = undefined;
    this.offlineSince = Date.now();
    this.updateAvailability();
    // A device that is gone cannot answer: its procedures are withdrawn until it connects again.
    if (this.core.registrations.size > 0 || this.core.callsIn.size > 0) this.core.withdrawAsCallee();
    if (abnormal) this.triggerWill();
    else this.will = undefined;
    if (this.expirySec === 0) {
      this.end();
      return;
    }
    this.saveRecord();
    this.startExpiry(this.expirySec * 1000);
  }

  private startExpiry(delayMs: number): void {
    // 0xFFFFFFFF means the session never expires (MQTT 5.0 section 3.1.2.11.2).
    if (!Number.isFinite(this.expirySec) || this.expirySec >= NEVER_EXPIRES) return;
    if (delayMs <= 0) {
      this.end();
      return;
    }
    this.expiryTimer = longTimer(delayMs, () => this.end());
  }

  /** Ends the session: a pending will goes out, then the core session leaves and every subscription with it. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimer('expiry');
    if (this.willTimer !== undefined) {
      this.clearTimer('will');
      this.publishWill();
    }
    this.core.leave();
    this.lazyInflight?.clear();
    this.queue = [];
    this.limits.store.drop(this.key);
    this.onEnd(this);
  }

  /** Subscribes the core session to a filter, shared (`$share/{group}/...`) or not. */
  subscribeFilter(parsed: ParsedFilter, options: MqttSubscriberOptions) {
    return parsed.shareGroup === undefined
      ? this.core.subscribe(parsed.pattern, parsed.policy, options)
      : this.core.subscribeShared(parsed.shareGroup, parsed.pattern, parsed.policy, options);
  }

  /** A resumed session registers its `$rpc` procedures again; one taken meanwhile by another callee is dropped. */
  private registerAgain(): void {
    for (const [filter, subscription] of this.lazySubscriptions ?? []) {
      if (!subscription.rpc || this.core.registrations.has(subscription.coreId)) continue;
      const { parsed } = subscription;
      const result = this.core.register(parsed.pattern.slice(1), parsed.policy, { invoke: parsed.shareGroup === undefined ? 'single' : 'roundrobin' });
      this.rpcQos.delete(subscription.coreId);
      if (!result.ok) {
        this.subscriptions.delete(filter);
        this.log.info({ clientId: this.clientId, filter, error: result.error }, 'procedure not registered again on resume');
        continue;
      }
      subscription.coreId = result.value.id;
      this.rpcQos.set(result.value.id, subscription.options.qos);
    }
  }

  private clearTimer(which: 'will' | 'expiry'): void {
    const timer = which === 'will' ? this.willTimer : this.expiryTimer;
    timer?.cancel();
    if (which === 'will') {
      this.willTimer = undefined;
      this.willAt = undefined;
    }
    else this.expiryTimer = undefined;
  }

  private triggerWill(): void {
    const will = this.will;
    if (will === undefined) return;
    // The will goes at the earlier of its delay and the end of the session [MQTT-3.1.3-9].
    if (will.delaySec > 0 && this.expirySec > 0) {
      this.scheduleWill(will.delaySec * 1000);
      return;
    }
    this.publishWill();
  }

  private scheduleWill(delayMs: number): void {
    this.willAt = Date.now() + delayMs;
    this.willTimer = longTimer(delayMs, () => {
      this.willTimer = undefined;
      this.publishWill();
    });
  }

  private publishWill(): void {
    const will = this.will;
    this.will = undefined;
    this.willAt = undefined;
    if (!this.ended) this.saveRecord();
    if (will === undefined || !this.core.active) return;
    const properties =
      will.expirySec === undefined ? will.properties : { ...will.properties, expiresAt: Date.now() + will.expirySec * 1000 };
    const result = this.core.publish(toComponents(will.topic), Payload.fromBytes(will.payload), {
      excludeMe: false,
      disclose: false,
      qos: will.qos,
      retain: will.retain,
      properties,
    });
    if (result.ok) this.log.info({ topic: will.topic, clientId: this.clientId }, 'will message published');
    else this.log.warn({ topic: will.topic, clientId: this.clientId, error: result.error }, 'will message refused');
  }

  // ---- SessionSink: the core delivering to this session ----

  event(publication: Publication, _subscription: SubscriptionRef, options: SubscriberOptions): void {
    const mqtt = options as MqttSubscriberOptions;
    const qos = Math.min(publication.qos, mqtt.qos) as QoS;
    // Live deliveries carry RETAIN only when the subscription asked for Retain As Published [MQTT-3.3.1-12, -13].
    const retain = mqtt.retainAsPublished === true && publication.retain;
    this.route(publication, qos, retain, mqtt.subscriptionId === undefined ? NO_IDS : [mqtt.subscriptionId]);
  }

  /** Overlapping subscriptions: one copy at the highest QoS, with every subscription identifier [MQTT-3.3.4-2, -4]. */
  eventGroup(publication: Publication, matches: readonly Match[]): void {
    let qos: QoS = 0;
    let retainAsPublished = false;
    const ids: number[] = [];
    for (const { options } of matches) {
      const mqtt = options as MqttSubscriberOptions;
      qos = Math.max(qos, Math.min(publication.qos, mqtt.qos)) as QoS;
      if (mqtt.retainAsPublished) retainAsPublished = true;
      if (mqtt.subscriptionId !== undefined) ids.push(mqtt.subscriptionId);
    }
    this.route(publication, qos, retainAsPublished && publication.retain, ids);
  }

  private route(publication: Publication, qos: QoS, retain: boolean, subscriptionIds: readonly number[]): void {
    // `wamp.*` is the router's own WAMP namespace (meta events); MQTT clients get the same on `$SYS/...`.
    if (publication.topic[0] === 'wamp') return;
    const topic = topicOf(publication);
    if (topic === undefined) {
      this.stats.uncrossable++;
      this.metrics.dropped('uncrossable');
      return;
    }
    if (subscriptionIds.length === 0 && publication.properties?.expiresAt === undefined) {
      this.deliver(sharedOutgoing(publication, topic, qos, retain));
      return;
    }
    this.deliver({
      topic,
      payload: publication.payload.bytes,
      qos,
      retain,
      properties: publication.properties,
      subscriptionIds,
    });
  }

  /** Sends a message now, or queues it behind the window; QoS 0 is never queued for an offline client. */
  deliver(message: Outgoing): void {
    const expiresAt = message.properties?.expiresAt;
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      this.stats.expired++;
      this.metrics.dropped('expired');
      return;
    }
    const attachment = this.attachment;
    if (message.qos === 0) {
      if (attachment !== undefined) attachment.sendPublish(message, 0, false);
      else {
        this.stats.droppedOffline++;
        this.metrics.dropped('offline');
      }
      return;
    }
    if (attachment !== undefined && this.inflight.size < attachment.sendWindow && this.queue.length === 0) {
      const packetId = this.allocatePacketId();
      this.inflight.set(packetId, { packetId, message, state: 'publish', seq: this.persist(message, packetId) });
      attachment.sendPublish(message, packetId, false);
      return;
    }
    if (this.queue.length >= this.limits.maxQueued) {
      this.stats.droppedQueueFull++;
      this.metrics.dropped('queue_full');
      this.log.debug({ clientId: this.clientId, queued: this.queue.length }, 'queue full; message dropped');
      this.dropped(message, UNAVAILABLE, "the callee's queue is full");
      return;
    }
    this.queue.push({ message, seq: this.persist(message, 0) });
    this.updateAvailability();
  }

  /**
   * A queued message leaves for the client. A QoS 2 entry learns its packet id, which a resend after a restart
   * must reuse; a QoS 1 one is resent with a new id and DUP, so the store is not asked to update it.
   */
  private sendQueued({ message, seq, dup }: Queued, attachment: Attachment): void {
    const packetId = this.allocatePacketId();
    this.inflight.set(packetId, { packetId, message, state: 'publish', seq });
    if (seq > 0 && message.qos === 2) this.limits.store.putEntry(this.key, seq, entryOf(message, packetId, false));
    attachment.sendPublish(message, packetId, dup === true);
  }

  /** Packet ids run 1..65535 and skip ids still in flight [MQTT-2.2.1-3]. */
  private allocatePacketId(): number {
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  /** Sends queued messages while the window has room, skipping expired ones. */
  private drain(): void {
    const attachment = this.attachment;
    if (attachment === undefined) return;
    const now = Date.now();
    // Each message leaves the queue before it is sent: sending can re-enter drain (a message too large for the
    // client completes at once), and the inner drain must not see it again.
    while (this.queue.length > 0 && this.inflight.size < attachment.sendWindow && this.attachment === attachment) {
      const queued = this.queue.shift()!;
      const expiresAt = queued.message.properties?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        this.stats.expired++;
        this.metrics.dropped('expired');
        if (queued.seq > 0) this.limits.store.deleteEntry(this.key, queued.seq);
        continue;
      }
      this.sendQueued(queued, attachment);
    }
    this.updateAvailability();
  }

  // ---- acknowledgements from the client ----

  /** PUBACK [MQTT-4.3.2], or a PUBREC with a failure reason, ends a message's flight. */
  completed(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined) return false;
    this.inflight.delete(packetId);
    if (entry.seq > 0) this.limits.store.deleteEntry(this.key, entry.seq);
    this.drain();
    return true;
  }

  /** PUBREC for a QoS 2 message: the next step is PUBREL [MQTT-4.3.3]. */
  received(packetId: number): boolean {
    const entry = this.inflight.get(packetId);
    if (entry === undefined || entry.message.qos !== 2) return false;
    if (entry.state !== 'pubrel' && entry.seq > 0) this.limits.store.putEntry(this.key, entry.seq, entryOf(entry.message, packetId, true));
    entry.state = 'pubrel';
    this.attachment?.sendPubrel(packetId);
    return true;
  }

  private updateAvailability(): void {
    if (this.core === undefined) return;
    this.core.available = this.attachment !== undefined && this.queue.length < this.limits.maxQueued;
  }

  // ---- RPC over `$rpc/` (see rpc.ts) ----

  /** A call routed to a procedure this client registered: a PUBLISH on the procedure's `$rpc/` topic. */
  invocation(invocation: Invocation): void {
    if (fromComponents(invocation.procedure) === undefined) {
      // A WAMP URI component holding `/`, `+` or `#` has no MQTT topic spelling [MQTT-3.3.2-2].
      this.core.fail(invocation.id, INVALID_URI, Payload.fromArgs(['the procedure has no MQTT topic spelling']));
      return;
    }
    const qos = this.rpcQos.get(invocation.registration.id) ?? 1;
    const message = invocationMessage(invocation, this.version, qos);
    message.invocationId = invocation.id;
    this.deliver(message);
  }

  /**
   * A message that will never reach the client (too large for it, or past the queue). An invocation among them
   * fails at once, so that its caller is not left waiting.
   */
  dropped(message: Outgoing, error: string, why: string): void {
    if (message.invocationId !== undefined) this.core.fail(message.invocationId, error, Payload.fromArgs([why]));
  }

  /** MQTT has no way to stop a callee; the dealer answers the caller itself (callees here are never interruptible). */
  interrupt(_invocation: Invocation, _mode: CancelMode, _reason: string): void {}

  result(requestId: number, payload: Payload): void {
    const address = this.calls.get(requestId);
    if (address === undefined) return;
    this.calls.delete(requestId);
    this.deliver(replyMessage(address, this.version, payload));
  }

  callError(requestId: number, error: string, payload: Payload | undefined): void {
    const address = this.calls.get(requestId);
    if (address === undefined) return;
    this.calls.delete(requestId);
    this.deliver(replyMessage(address, this.version, payload, error));
  }

  /**
   * Authorization changed and the core removed subscriptions or registrations: forget them here too, and end the
   * connection (MQTT 5: DISCONNECT 0x87), since MQTT cannot tell a client that a subscription is gone.
   */
  revoked(subscriptions: readonly number[], registrations: readonly number[]): void {
    // Ids of shared and ordinary subscriptions come from different indexes, so what is gone is read from the core.
    for (const [filter, subscription] of this.lazySubscriptions ?? []) {
      if (this.stillHeld(subscription)) continue;
      this.subscriptions.delete(filter);
      if (subscription.rpc) this.rpcQos.delete(subscription.coreId);
    }
    this.log.info({ clientId: this.clientId, removed: subscriptions.length + registrations.length }, 'authorization changed: subscriptions revoked');
    this.attachment?.disconnect(Reason.NotAuthorized, 'authorization changed: a subscription is no longer allowed');
  }

  private stillHeld(subscription: MqttSubscription): boolean {
    if (subscription.rpc) return this.core.registrations.has(subscription.coreId);
    const group = subscription.parsed.shareGroup;
    if (group === undefined) return this.core.subscriptions.has(subscription.coreId);
    return this.core.holdsShared(group, subscription.coreId);
  }

  /**
   * The router ends the connection, and for anything but an expired token the session too (a kill is final;
   * after a token expiry the device may resume with a fresh token). With expiry 0, losing the connection sends
   * the will and ends the session, as for any abnormal loss.
   */
  close(reason: string, message: string): void {
    if (reason !== TOKEN_EXPIRED) this.expirySec = 0;
    if (this.attachment !== undefined) this.attachment.disconnect(disconnectReasonFor(reason), message);
    else if (this.expirySec === 0) this.end();
  }
}

const NO_IDS: readonly number[] = [];

function entryOf(message: Outgoing, packetId: number, released: boolean): QueuedEntry {
  return {
    message,
    qos: message.qos as 1 | 2,
    retain: message.retain,
    subscriptionIds: message.subscriptionIds,
    ...(packetId > 0 ? { packetId } : {}),
    ...(released ? { released } : {}),
  };
}

/**
 * The MQTT topic name of a publication, spelled once per fan-out: the broker hands one publication to every
 * receiver in a row, so remembering the last one is enough.
 */
let lastPublication: Publication | undefined;
let lastTopic: string | undefined;

/** One message object per (publication, QoS, retain) for receivers that need nothing of their own. */
const shared: { publication: Publication | undefined; qos: QoS; retain: boolean; message: Outgoing | undefined } = {
  publication: undefined,
  qos: 0,
  retain: false,
  message: undefined,
};
function sharedOutgoing(publication: Publication, topic: string, qos: QoS, retain: boolean): Outgoing {
  if (shared.publication !== publication || shared.qos !== qos || shared.retain !== retain || shared.message === undefined) {
    shared.publication = publication;
    shared.qos = qos;
    shared.retain = retain;
    shared.message = {
      topic,
      payload: publication.payload.bytes,
      qos,
      retain,
      properties: publication.properties,
      subscriptionIds: NO_IDS,
      shareable: true,
    };
  }
  return shared.message;
}
function topicOf(publication: Publication): string | undefined {
  if (publication !== lastPublication) {
    lastPublication = publication;
    lastTopic = fromComponents(publication.topic);
  }
  return lastTopic;
}
const INVALID_URI = 'wamp.error.invalid_uri';
/** WAMP's URI for a callee that cannot take the call now. */
const UNAVAILABLE = 'wamp.error.unavailable';
/** The URI Crossbar and the WAMP draft use for a payload too large for its receiver. */
export const PAYLOAD_SIZE_EXCEEDED = 'wamp.error.payload_size_exceeded';
/** Session Expiry Interval 0xFFFFFFFF: the session does not expire. */
const NEVER_EXPIRES = 0xffffffff;
