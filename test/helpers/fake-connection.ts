/**
 * An in-memory `Connection` for unit tests of protocol modules, and a harness that runs the real MQTT module on
 * a real Router, realm and RouterAuth with no sockets. Everything the module sends is recorded as bytes and
 * decoded with mqtt-packet; tests push packets (or raw bytes) in and can make the peer go away.
 *
 * Waiting never relies on timers the test may fake: it polls on the real `setImmediate`, captured when this file
 * is loaded, so it works under `vi.useFakeTimers()` too.
 */
import { MemoryStore } from '../../src/store/memory/store.js';
import mqttPacket, { type IConnackPacket, type IPublishPacket, type ISubackPacket, type IUnsubackPacket, type Packet } from 'mqtt-packet';
import { pino } from 'pino';
import { createMqttModule, type MqttModule, type MqttOptions } from '../../protocols/mqtt/index.js';
import { MqttHub } from '../../protocols/mqtt/hub.js';
import type { MqttSession } from '../../protocols/mqtt/session.js';
import { allowAll } from '../../src/auth/authorizer.js';
import { JwtAuthenticator } from '../../src/auth/jwt.js';
import { loadKeys } from '../../src/auth/keys.js';
import { RouterAuth } from '../../src/auth/service.js';
import type { AuthOutcome, TokenAuthenticator } from '../../src/auth/types.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { Realm } from '../../src/core/realm.js';
import { Router } from '../../src/core/router.js';
import type { Authorizer } from '../../src/core/types.js';
import type { AuthService, Connection, ConnectionHandler, Logger, ModuleContext } from '../../src/port.js';
import { noMetrics } from '../../src/observability/metrics.js';

export type MqttVersion = 3 | 4 | 5;

/** Real timer functions, taken before any test can install fake ones. */
const realSetImmediate = globalThis.setImmediate;
const realNow = Date.now.bind(Date);

/** One turn of the real event loop: lets promise chains (authentication) and I/O callbacks run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/** Polls `done` on the real event loop until it holds; throws after `timeoutMs` of real time. */
export async function waitFor(done: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = realNow() + timeoutMs;
  while (!done()) {
    if (realNow() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

export interface FakeConnectionOptions {
  /** MQTT version used to encode what the test delivers and decode what the module sends. */
  version?: MqttVersion;
  id?: string;
  transport?: string;
  remoteAddress?: string;
  upgradeAuth?: Promise<AuthOutcome>;
  log?: Logger;
}

let sequence = 0;

/** A `Connection` whose other end is the test. */
export class FakeConnection implements Connection {
  readonly id: string;
  readonly protocol = 'mqtt';
  readonly transport: string;
  readonly remoteAddress: string;
  readonly log: Logger;
  readonly upgradeAuth: Promise<AuthOutcome> | undefined;
  bufferedAmount = 0;
  version: MqttVersion;

  /** Every message the module sent while the connection was open, as bytes. */
  readonly sent: Buffer[] = [];
  /** What the module sent, decoded. */
  readonly packets: Packet[] = [];
  /** Messages the module tried to send after it closed the connection (a real transport drops them). */
  readonly sentAfterClose: Buffer[] = [];
  /** Every close() call the module made. */
  readonly closes: Array<{ code: number; reason: string }> = [];
  /** Errors decoding what the module sent: a non-empty list means the module put malformed bytes on the wire. */
  readonly decodeErrors: Error[] = [];
  /** True once the connection is gone: closed by the module or dropped by the peer. */
  gone = false;
  /** True once the handler's `closed` was called. */
  handlerClosed = false;

  private handler: ConnectionHandler | undefined;
  private held: Buffer[] = [];
  private parser: ReturnType<typeof mqttPacket.parser>;
  private cursor = 0;

  constructor(options: FakeConnectionOptions = {}) {
    this.id = options.id ?? `fake-${++sequence}`;
    this.transport = options.transport ?? 'websocket';
    this.remoteAddress = options.remoteAddress ?? '127.0.0.1';
    this.upgradeAuth = options.upgradeAuth;
    this.log = options.log ?? pino({ level: 'silent' });
    this.version = options.version ?? 4;
    this.parser = this.makeParser();
  }

  private makeParser(): ReturnType<typeof mqttPacket.parser> {
    const parser = mqttPacket.parser({ protocolVersion: this.version === 5 ? 5 : 4 });
    parser.on('packet', (packet: Packet) => this.packets.push(packet));
    parser.on('error', (error: Error) => {
      this.decodeErrors.push(error);
      // mqtt-packet's parser cannot be trusted after an error; start afresh for the next message.
      this.parser = this.makeParser();
    });
    return parser;
  }

  // ---- Connection: what the module calls ----

  send(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    if (this.gone) {
      this.sentAfterClose.push(bytes);
      return;
    }
    this.sent.push(bytes);
    this.parser.parse(bytes);
  }

  /** Records the close; the handler hears `closed` a moment later, as it does from a real transport. */
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
    if (this.gone) return;
    this.gone = true;
    void Promise.resolve().then(() => this.notifyClosed(code, reason));
  }

  /** Log annotations are not what these tests look at. */
  annotate(): void {}

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    const held = this.held;
    this.held = [];
    for (const chunk of held) handler.message(chunk, true);
  }

  // ---- the test's side ----

  /** True when the module closed the connection (as opposed to the peer dropping it). */
  get closedByModule(): boolean {
    return this.closes.length > 0;
  }

  /** Encodes a packet (in this connection's version) and hands it to the module. */
  deliver(packet: Record<string, unknown> | Packet): void {
    this.deliverBytes(encode(packet, this.version));
  }

  /** Several packets in one message (one WebSocket frame or TCP chunk). */
  deliverAll(packets: Array<Record<string, unknown> | Packet>): void {
    this.deliverBytes(Buffer.concat(packets.map((packet) => encode(packet, this.version))));
  }

  /** Raw bytes to the module, as one message. */
  deliverBytes(bytes: Buffer | number[]): void {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
    if (this.gone) return;
    if (this.handler === undefined) this.held.push(data);
    else this.handler.message(data, true);
  }

  /** The peer goes away without a word (network failure): the handler hears `closed`. */
  drop(code = 1006, reason = 'peer went away'): void {
    if (this.gone) return;
    this.gone = true;
    this.notifyClosed(code, reason);
  }

  private notifyClosed(code: number, reason: string): void {
    if (this.handlerClosed) return;
    this.handlerClosed = true;
    this.handler?.closed(code, reason);
  }

  /** Packets received and not yet taken by `next`/`take`. */
  get unread(): Packet[] {
    return this.packets.slice(this.cursor);
  }

  /** Marks everything received so far as read. */
  skipAll(): void {
    this.cursor = this.packets.length;
  }

  /** Waits (on the real event loop) for the next unread packet and takes it. */
  async next(timeoutMs = 2000): Promise<Packet> {
    await waitFor(() => this.cursor < this.packets.length || (this.gone && this.handlerClosed), 'a packet', timeoutMs);
    if (this.cursor >= this.packets.length) throw new Error(`connection closed while waiting for a packet (closes: ${JSON.stringify(this.closes)})`);
    return this.packets[this.cursor++]!;
  }

  /** Waits for the next unread packet and checks its type. */
  async expect<C extends Packet['cmd']>(cmd: C, timeoutMs = 2000): Promise<Extract<Packet, { cmd: C }>> {
    const packet = await this.next(timeoutMs);
    if (packet.cmd !== cmd) throw new Error(`expected ${cmd.toUpperCase()}, got ${JSON.stringify(packet)}`);
    return packet as Extract<Packet, { cmd: C }>;
  }

  /** Lets pending work run, then returns (and takes) whatever arrived meanwhile. */
  async drain(turns = 5): Promise<Packet[]> {
    for (let i = 0; i < turns; i++) await tick();
    const rest = this.unread;
    this.skipAll();
    return rest;
  }

  /** Waits until the module closed the connection, or the peer dropped it. */
  async waitGone(timeoutMs = 2000): Promise<void> {
    await waitFor(() => this.gone && this.handlerClosed, 'the connection to close', timeoutMs);
  }
}

export function encode(packet: Record<string, unknown> | Packet, version: MqttVersion): Buffer {
  return mqttPacket.generate(packet as Packet, { protocolVersion: version === 5 ? 5 : 4 } as never);
}

// ---- the harness ----

export interface HarnessOptions {
  /** Module options over `DEFAULTS.mqtt` (with `sysInterval: 0`, so no timer runs). */
  mqtt?: Partial<MqttOptions>;
  authorizer?: Authorizer;
  /** Token verification; undefined: tokens off. */
  tokens?: TokenAuthenticator;
  anonymousAllowed?: boolean;
  /** A whole AuthService instead of the RouterAuth built from `tokens` and `anonymousAllowed`. */
  auth?: AuthService;
  /** Realms besides `realm1`, the default one. */
  realms?: string[];
  /** The store sessions persist to; a fresh MemoryStore unless given (a test may reuse one to "restart"). */
  persistence?: ModuleContext['persistence'];
}

export interface ConnectOptions {
  clientId?: string;
  version?: MqttVersion;
  /** Clean Session (3.1.1) / Clean Start (5.0); default true. */
  clean?: boolean;
  keepalive?: number;
  username?: string;
  password?: string | Buffer;
  will?: { topic: string; payload: string | Buffer; qos?: 0 | 1 | 2; retain?: boolean; properties?: Record<string, unknown> };
  /** MQTT 5 CONNECT properties. */
  properties?: Record<string, unknown>;
  /** Overrides the protocol name (default `MQTT`, or `MQIsdp` for level 3). */
  protocolId?: string;
  upgradeAuth?: Promise<AuthOutcome>;
}

export interface Connected {
  fake: FakeConnection;
  connack: IConnackPacket;
}

export function connectPacket(options: ConnectOptions = {}): Record<string, unknown> {
  const version = options.version ?? 4;
  const packet: Record<string, unknown> = {
    cmd: 'connect',
    protocolId: options.protocolId ?? (version === 3 ? 'MQIsdp' : 'MQTT'),
    protocolVersion: version,
    clientId: options.clientId ?? '',
    clean: options.clean ?? true,
    keepalive: options.keepalive ?? 0,
  };
  if (options.username !== undefined) packet.username = options.username;
  if (options.password !== undefined) packet.password = Buffer.isBuffer(options.password) ? options.password : Buffer.from(options.password);
  if (options.will !== undefined) {
    packet.will = {
      topic: options.will.topic,
      payload: Buffer.isBuffer(options.will.payload) ? options.will.payload : Buffer.from(options.will.payload),
      qos: options.will.qos ?? 0,
      retain: options.will.retain ?? false,
      ...(options.will.properties !== undefined ? { properties: options.will.properties } : {}),
    };
  }
  if (options.properties !== undefined) packet.properties = options.properties;
  return packet;
}

/**
 * CONNECT as bytes. mqtt-packet refuses to write an empty client id with Clean Session 0 (a 3.1.1 error the
 * router must answer itself), so that one is written with the flag set and the flag cleared afterwards.
 */
export function connectBytes(options: ConnectOptions = {}): Buffer {
  const version = options.version ?? 4;
  const packet = connectPacket(options);
  if (packet.clientId !== '' || packet.clean !== false) return encode(packet, version);
  const bytes = Buffer.from(encode({ ...packet, clean: true }, version));
  if (bytes[1]! >= 0x80) throw new Error('connectBytes: remaining length over 127 is not handled');
  // fixed header (2) + protocol name (2 + length) + level (1): then the connect flags
  const flagsAt = 2 + 2 + bytes.readUInt16BE(2) + 1;
  bytes[flagsAt] = bytes[flagsAt]! & ~0x02;
  return bytes;
}

export interface MqttHarness {
  router: Router;
  realm: Realm;
  auth: AuthService;
  module: MqttModule;
  options: MqttOptions;
  /** A fresh connection accepted by the module; nothing sent yet. */
  open(options?: FakeConnectionOptions): FakeConnection;
  /** Opens a connection, sends CONNECT and waits for the CONNACK (whatever its code). */
  connect(options?: ConnectOptions): Promise<Connected>;
  /** Like `connect`, but fails unless the CONNACK accepts the connection. */
  connected(options?: ConnectOptions): Promise<FakeConnection>;
  /** The MQTT session of a client id in realm1, if the router holds one. */
  session(clientId: string, realm?: string): MqttSession | undefined;
  /** Every connection opened here. */
  readonly connections: FakeConnection[];
  /** Drops every connection still open and shuts the module down. */
  close(): Promise<void>;
}

export function mqttHarness(options: HarnessOptions = {}): MqttHarness {
  const router = new Router(options.authorizer ?? allowAll);
  const realm = router.addRealm('realm1', { uriCheck: 'loose' });
  for (const name of options.realms ?? []) router.addRealm(name, { uriCheck: 'loose' });
  const auth =
    options.auth ??
    new RouterAuth({ tokens: options.tokens, anonymousAllowed: options.anonymousAllowed ?? true, anonymousRole: 'anonymous' });
  const log = pino({ level: 'silent' });
  const context: ModuleContext = {
    realm: (name) => router.realm(name),
    realmNames: () => router.realmNames,
    defaultRealm: 'realm1',
    auth,
    log,
    // Unit tests drive connections by hand; the handshake deadline is a black-box test's business.
    handshakeTimeoutMs: 0,
    metrics: noMetrics,
    backpressure: { softBytes: Number.MAX_SAFE_INTEGER, hardBytes: Number.MAX_SAFE_INTEGER },
    persistence: options.persistence ?? new MemoryStore(),
  };
  const mqttOptions: MqttOptions = { ...DEFAULTS.mqtt, sysInterval: 0, ...options.mqtt };
  const module = createMqttModule(context, mqttOptions);
  const connections: FakeConnection[] = [];

  const open = (connectionOptions: FakeConnectionOptions = {}): FakeConnection => {
    const fake = new FakeConnection({ log, ...connectionOptions });
    connections.push(fake);
    module.accept(fake);
    return fake;
  };

  const connect = async (connectOptions: ConnectOptions = {}): Promise<Connected> => {
    const version = connectOptions.version ?? 4;
    const fake = open(connectOptions.upgradeAuth === undefined ? { version } : { version, upgradeAuth: connectOptions.upgradeAuth });
    fake.deliverBytes(connectBytes(connectOptions));
    const connack = await fake.expect('connack');
    return { fake, connack };
  };

  return {
    router,
    realm,
    auth,
    module,
    options: mqttOptions,
    connections,
    open,
    connect,
    async connected(connectOptions: ConnectOptions = {}) {
      const { fake, connack } = await connect(connectOptions);
      const code = connack.reasonCode ?? connack.returnCode ?? 0;
      if (code !== 0) throw new Error(`CONNECT refused with 0x${code.toString(16)}`);
      return fake;
    },
    session: (clientId, realmName = 'realm1') => module.hub.sessions.get(MqttHub.sessionKey(realmName, clientId)),
    async close() {
      for (const fake of connections) fake.drop();
      await tick();
      module.shutdown?.('test over');
      // Sessions that outlive their connection hold expiry timers; end them so nothing lingers.
      for (const session of [...module.hub.sessions.values()]) session.end();
    },
  };
}

/** A JWT verifier for HS256 tokens signed with `secret` (see test/helpers/tokens.ts for signing). */
export async function jwtTokens(secret: string): Promise<TokenAuthenticator> {
  const config = { ...DEFAULTS.jwt, secret };
  return new JwtAuthenticator(config, await loadKeys(config));
}

// ---- small client-side steps ----

export type SubscriptionRequest = string | { topic: string; qos?: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: 0 | 1 | 2 };

let nextMessageId = 1000;

/** Sends SUBSCRIBE and waits for the SUBACK (which must be the next packet). */
export async function subscribe(
  fake: FakeConnection,
  requests: SubscriptionRequest | SubscriptionRequest[],
  options: { messageId?: number; properties?: Record<string, unknown> } = {},
): Promise<ISubackPacket> {
  const list = Array.isArray(requests) ? requests : [requests];
  const subscriptions = list.map((request): Record<string, unknown> => {
    const entry = typeof request === 'string' ? { topic: request, qos: 0 } : { qos: 0, ...request };
    // mqtt-packet writes the MQTT 5 subscription options only for version 5.
    return fake.version === 5 ? { nl: false, rap: false, rh: 0, ...entry } : { topic: entry.topic, qos: entry.qos };
  });
  const messageId = options.messageId ?? ++nextMessageId;
  const packet: Record<string, unknown> = { cmd: 'subscribe', messageId, subscriptions };
  if (options.properties) packet.properties = options.properties;
  fake.deliver(packet);
  const suback = await fake.expect('suback');
  if (suback.messageId !== messageId) throw new Error(`SUBACK for ${suback.messageId}, expected ${messageId}`);
  return suback;
}

/** Sends UNSUBSCRIBE and waits for the UNSUBACK. */
export async function unsubscribe(fake: FakeConnection, filters: string | string[], messageId = ++nextMessageId): Promise<IUnsubackPacket> {
  fake.deliver({ cmd: 'unsubscribe', messageId, unsubscriptions: Array.isArray(filters) ? filters : [filters] });
  return fake.expect('unsuback');
}

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  properties?: Record<string, unknown>;
}

export function publishPacket(topic: string, payload: string | Buffer, options: PublishOptions = {}): Record<string, unknown> {
  const qos = options.qos ?? 0;
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    qos,
    retain: options.retain ?? false,
    dup: options.dup ?? false,
    ...(qos > 0 ? { messageId: options.messageId ?? ++nextMessageId } : {}),
    ...(options.properties ? { properties: options.properties } : {}),
  };
}

/** Sends PUBLISH; with QoS 1 waits for PUBACK, with QoS 2 runs PUBREC/PUBREL/PUBCOMP. */
export async function publish(fake: FakeConnection, topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
  const packet = publishPacket(topic, payload, options);
  fake.deliver(packet);
  if (packet.qos === 1) await fake.expect('puback');
  if (packet.qos === 2) {
    const pubrec = await fake.expect('pubrec');
    fake.deliver({ cmd: 'pubrel', messageId: pubrec.messageId });
    await fake.expect('pubcomp');
  }
}

/** The PUBLISH packets among `packets`, as topic and payload text, for compact assertions. */
export function messages(packets: Packet[]): Array<{ topic: string; payload: string; qos: number; retain: boolean }> {
  return packets
    .filter((packet): packet is IPublishPacket => packet.cmd === 'publish')
    .map((packet) => ({ topic: packet.topic, payload: packet.payload.toString(), qos: packet.qos, retain: packet.retain }));
}

/** The reason or return code of a CONNACK, whatever the version. */
export function connackCode(connack: IConnackPacket): number {
  return connack.reasonCode ?? connack.returnCode ?? 0;
}
