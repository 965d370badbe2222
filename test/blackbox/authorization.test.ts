/**
 * Authorization, black-box: per-role allow and deny patterns for publish, subscribe, call and register, checked
 * the same way over WAMP (raw client with ticket login, JSON and CBOR) and MQTT (mqtt.js with the JWT as
 * password, 5.0 and 3.1.1, RPC through `$rpc/`); wildcard and pattern subscriptions judged as a whole; the
 * token's permissions claim narrowing a role; the default `anonymous` and `admin` roles; and reloading the rules
 * without dropping connections, in-process (`reloadAuthorization`) and in the built binary (config file change,
 * SIGHUP).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { urlOf, type Transport, type Version } from '../helpers/mqtt.js';
import { RawWamp, type Serialization } from '../helpers/raw-wamp.js';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { hs256, SECRET } from '../helpers/tokens.js';

// ---------------------------------------------------------------------------------------------------------
// Rules and tokens
// ---------------------------------------------------------------------------------------------------------

const NOT_AUTHORIZED = 'wamp.error.not_authorized';
const NO_SUCH_PROCEDURE = 'wamp.error.no_such_procedure';

const ROLES = {
  user: {
    allow: { publish: ['sensors.#'], subscribe: ['sensors.#'], call: ['api.+'], register: ['api.+'] },
    deny: { publish: ['sensors.secret.#'], subscribe: ['sensors.secret.#'] },
  },
  /** The same subscribe allowance without a deny pattern: wildcard filters are then judged on coverage alone. */
  reader: { allow: { subscribe: ['sensors.#'] } },
  /** Everything, by wildcard only: `$` topics are not included. */
  everything: { allow: { publish: ['#'], subscribe: ['#'] } },
  /** `$SYS` named explicitly. */
  sys: { allow: { subscribe: ['$SYS.#'] } },
  /** `$SYS` named in allow, but a root `#` under deny refuses `$` topics too. */
  blocked: { allow: { subscribe: ['$SYS.#', 'sensors.#'] }, deny: { subscribe: ['#'] } },
};
const REALMS = { realm1: { roles: ROLES } };
const DEFAULT_CLAIMS = DEFAULTS.jwt.claims;
const BASE: ConfigPatch = { jwt: { secret: SECRET }, allowAnonymous: false, realms: REALMS };

interface Tokens {
  user: string;
  reader: string;
  admin: string;
  /** user, narrowed to publishing under sensors.a. */
  narrow: string;
  /** user, with a claim that names more than the role allows (and an empty call list). */
  wide: string;
  /** user, with a permissions claim that is not an object of lists. */
  malformed: string;
}
let tokens: Tokens;

// ---------------------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
let unique = 0;
const uniq = (prefix: string) => `${prefix}${++unique}`;

/** Polls `probe` until it returns something other than undefined/false. */
async function until<T>(probe: () => T | undefined | false, what: string, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

interface Received {
  /** The topic, dotted (MQTT topics have `/` turned into `.`). */
  topic: string;
  payload: string;
}

/** What a test does with a client, whichever protocol it speaks. Topics and procedures are given dotted. */
interface Peer {
  readonly kind: 'wamp' | 'mqtt';
  readonly events: Received[];
  /** Procedures this peer was invoked for (it answers `ok:<procedure>`). */
  readonly invocations: string[];
  publish(topic: string, payload?: string): Promise<string>;
  subscribe(topic: string): Promise<string>;
  register(procedure: string): Promise<string>;
  /** `result:<first argument>` or the error URI. */
  call(procedure: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------------
// WAMP peer: a raw client (test/helpers/raw-wamp.ts) with ticket login and a message pump
// ---------------------------------------------------------------------------------------------------------

const T = {
  WELCOME: 2,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTERED: 67,
  INVOCATION: 68,
  YIELD: 70,
} as const;

const WAMP_ROLES = {
  publisher: {},
  subscriber: { features: { pattern_based_subscription: true } },
  caller: {},
  callee: { features: { pattern_based_registration: true } },
};
const REVOCATION_ROLES = {
  publisher: {},
  subscriber: { features: { pattern_based_subscription: true, subscription_revocation: true } },
  caller: {},
  callee: { features: { pattern_based_registration: true, registration_revocation: true } },
};

const wampClients: RawWamp[] = [];
const mqttClients: MqttClient[] = [];

class WampPeer implements Peer {
  readonly kind = 'wamp' as const;
  readonly events: Received[] = [];
  readonly invocations: string[] = [];
  /** UNSUBSCRIBED / UNREGISTERED with request id 0 (revocations). */
  readonly revocations: unknown[][] = [];
  readonly goodbyes: unknown[][] = [];
  private readonly subscriptionTopics = new Map<number, string>();
  private readonly registrationProcedures = new Map<number, string>();
  private readonly pending = new Map<number, (message: unknown[]) => void>();
  private nextRequest = 1;

  private constructor(
    readonly raw: RawWamp,
    readonly welcome: unknown[],
  ) {
    void this.pump();
  }

  /** HELLO; with a token, the ticket method (CHALLENGE / AUTHENTICATE); without one, anonymous. */
  static async open(url: string, serialization: Serialization, token?: string, roles: object = WAMP_ROLES): Promise<WampPeer> {
    const raw = await RawWamp.connect(url, serialization);
    wampClients.push(raw);
    const hello: Record<string, unknown> = { roles };
    if (token !== undefined) {
      hello.authmethods = ['ticket'];
      hello.authid = 'tester';
    }
    raw.send([1, 'realm1', hello]);
    let reply = await raw.next();
    if (token !== undefined) {
      expect(reply).toEqual([T.CHALLENGE, 'ticket', {}]);
      raw.send([T.AUTHENTICATE, token, {}]);
      reply = await raw.next();
    }
    expect(reply[0], JSON.stringify(reply)).toBe(T.WELCOME);
    return new WampPeer(raw, reply);
  }

  get authrole(): unknown {
    return (this.welcome[2] as Record<string, unknown>).authrole;
  }

  private async pump(): Promise<void> {
    for (;;) {
      let message: unknown[];
      try {
        message = await this.raw.next(3_600_000);
      } catch {
        return; // closed
      }
      this.dispatch(message);
    }
  }

  private dispatch(message: unknown[]): void {
    const type = message[0];
    switch (type) {
      case T.EVENT: {
        const details = (message[3] ?? {}) as Record<string, unknown>;
        const args = message[4] as unknown[] | undefined;
        const topic = (details.topic as string | undefined) ?? this.subscriptionTopics.get(message[1] as number) ?? '?';
        this.events.push({ topic, payload: String(args?.[0]) });
        return;
      }
      case T.INVOCATION: {
        const details = (message[3] ?? {}) as Record<string, unknown>;
        const procedure = (details.procedure as string | undefined) ?? this.registrationProcedures.get(message[2] as number) ?? '?';
        this.invocations.push(procedure);
        this.raw.send([T.YIELD, message[1], {}, [`ok:${procedure}`]]);
        return;
      }
      case T.GOODBYE:
        this.goodbyes.push(message);
        return;
      case T.UNSUBSCRIBED:
      case T.UNREGISTERED:
        if (message[1] === 0) {
          this.revocations.push(message);
          return;
        }
        break;
    }
    const request = (type === T.ERROR ? message[2] : message[1]) as number;
    const resolve = this.pending.get(request);
    if (resolve === undefined) throw new Error(`unexpected WAMP message ${JSON.stringify(message)}`);
    this.pending.delete(request);
    resolve(message);
  }

  /** Sends a request built around a fresh request id and waits for the answer to it. */
  async request(build: (request: number) => unknown[], ms = 3000): Promise<unknown[]> {
    const request = this.nextRequest++;
    const answer = new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to WAMP request ${request} within ${ms} ms`)), ms);
      this.pending.set(request, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    this.raw.send(build(request));
    return answer;
  }

  private static outcome(message: unknown[], ok: number, okText: string): string {
    if (message[0] === ok) return okText;
    if (message[0] === T.ERROR) return String(message[4]);
    return `unexpected ${JSON.stringify(message)}`;
  }

  async publish(topic: string, payload = 'x'): Promise<string> {
    const answer = await this.request((request) => [T.PUBLISH, request, { acknowledge: true }, topic, [payload]]);
    return WampPeer.outcome(answer, T.PUBLISHED, 'published');
  }

  /** PUBLISH without acknowledge: the router answers nothing, whatever happens. */
  publishUnacknowledged(topic: string, payload = 'x'): void {
    this.raw.send([T.PUBLISH, this.nextRequest++, {}, topic, [payload]]);
  }

  async subscribeWithId(topic: string, match?: 'prefix' | 'wildcard'): Promise<[string, number | undefined]> {
    const answer = await this.request((request) => [T.SUBSCRIBE, request, match === undefined ? {} : { match }, topic]);
    if (answer[0] === T.SUBSCRIBED) this.subscriptionTopics.set(answer[2] as number, topic);
    return [WampPeer.outcome(answer, T.SUBSCRIBED, 'subscribed'), answer[0] === T.SUBSCRIBED ? (answer[2] as number) : undefined];
  }

  async subscribe(topic: string, match?: 'prefix' | 'wildcard'): Promise<string> {
    return (await this.subscribeWithId(topic, match))[0];
  }

  async registerWithId(procedure: string, match?: 'prefix' | 'wildcard'): Promise<[string, number | undefined]> {
    const answer = await this.request((request) => [T.REGISTER, request, match === undefined ? {} : { match }, procedure]);
    if (answer[0] === T.REGISTERED) this.registrationProcedures.set(answer[2] as number, procedure);
    return [WampPeer.outcome(answer, T.REGISTERED, 'registered'), answer[0] === T.REGISTERED ? (answer[2] as number) : undefined];
  }

  async register(procedure: string, match?: 'prefix' | 'wildcard'): Promise<string> {
    return (await this.registerWithId(procedure, match))[0];
  }

  async call(procedure: string): Promise<string> {
    const answer = await this.request((request) => [T.CALL, request, {}, procedure, []]);
    if (answer[0] === T.RESULT) return `result:${String((answer[3] as unknown[] | undefined)?.[0])}`;
    return WampPeer.outcome(answer, -1, '');
  }

  get closed(): boolean {
    return this.raw.closed !== undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// MQTT peer: mqtt.js with the JWT as password; RPC through `$rpc/`
// ---------------------------------------------------------------------------------------------------------

interface Reply {
  payload: Buffer;
  correlation?: string;
  error?: string;
}

class MqttPeer implements Peer {
  readonly kind = 'mqtt' as const;
  readonly events: Received[] = [];
  readonly invocations: string[] = [];
  readonly packets: Packet[] = [];
  disconnect: (Packet & { reasonCode?: number }) | undefined;
  closed = false;
  private readonly replies: Reply[] = [];
  private readonly replyTopic = `replies/${Math.random().toString(36).slice(2)}`;
  private nextCorrelation = 1;

  private constructor(
    readonly client: MqttClient,
    readonly version: Version,
  ) {
    client.on('error', () => undefined);
    client.on('packetreceive', (packet) => this.packets.push(packet));
    client.on('disconnect', (packet) => (this.disconnect = packet as MqttPeer['disconnect']));
    client.on('close', () => (this.closed = true));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
  }

  /**
   * Connects and waits for CONNACK. The peer's listeners are attached before CONNACK, so messages a persistent
   * session had queued are seen too.
   */
  static async open(router: TestRouter, version: Version, transport: Transport, token?: string, options: IClientOptions = {}): Promise<MqttPeer> {
    const credentials = token === undefined ? {} : { username: 'tester', password: token };
    const client = mqtt.connect(urlOf(router, transport), {
      protocolVersion: version,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: uniq(`auth-${version}-`),
      ...credentials,
      ...options,
    });
    mqttClients.push(client);
    const peer = new MqttPeer(client, version);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return peer;
  }

  get connack(): (Packet & { sessionPresent?: boolean }) | undefined {
    return this.packets.find((packet) => packet.cmd === 'connack');
  }

  private onMessage(topic: string, payload: Buffer, packet: { properties?: Record<string, any> }): void {
    if (topic.startsWith('$rpc/')) {
      // An invocation: answer `ok:<procedure>` where the router says.
      const procedure = topic.slice('$rpc/'.length).replaceAll('/', '.');
      this.invocations.push(procedure);
      if (this.version === 5) {
        const properties = packet.properties ?? {};
        this.client.publish(properties.responseTopic as string, `ok:${procedure}`, {
          qos: 1,
          properties: { correlationData: properties.correlationData as Buffer },
        });
      } else {
        const envelope = JSON.parse(payload.toString()) as { id: unknown; reply_to: string };
        this.client.publish(envelope.reply_to, JSON.stringify({ id: envelope.id, args: [`ok:${procedure}`] }), { qos: 1 });
      }
      return;
    }
    if (topic === this.replyTopic) {
      const properties = packet.properties ?? {};
      const marked = properties.userProperties?.wamp_error as string | string[] | undefined;
      const reply: Reply = { payload };
      if (properties.correlationData !== undefined) reply.correlation = Buffer.from(properties.correlationData as Buffer).toString();
      if (marked !== undefined) reply.error = Array.isArray(marked) ? marked[0] : marked;
      this.replies.push(reply);
      return;
    }
    this.events.push({ topic: topic.replaceAll('/', '.'), payload: payload.toString() });
  }

  /** QoS 1 PUBLISH; the PUBACK as `puback 0xNN` (5.0) or `puback` (3.1.1, which has no reason code). */
  async publish(topic: string, payload = 'x'): Promise<string> {
    return this.publishRaw(topic.replaceAll('.', '/'), payload);
  }

  async publishRaw(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): Promise<string> {
    const before = this.packets.length;
    await new Promise<void>((resolve) => this.client.publish(topic, payload, { qos: 1, ...options }, () => resolve()));
    const ack = this.packets.slice(before).find((packet) => packet.cmd === 'puback') as (Packet & { reasonCode?: number }) | undefined;
    if (ack === undefined) return 'no puback';
    return this.version === 5 ? `puback ${hex(ack.reasonCode ?? 0)}` : 'puback';
  }

  /** SUBSCRIBE with QoS 1; the SUBACK code as `suback 0xNN`. */
  subscribeFilter(filter: string): Promise<string> {
    return new Promise((resolve) => {
      this.client.subscribe(filter, { qos: 1 }, (_error, _granted, packet) => {
        const code = (packet as { granted?: number[] } | undefined)?.granted?.[0];
        resolve(code === undefined ? 'no suback' : `suback ${hex(code)}`);
      });
    });
  }

  subscribe(topic: string): Promise<string> {
    return this.subscribeFilter(topic.replaceAll('.', '/'));
  }

  register(procedure: string): Promise<string> {
    return this.subscribeFilter(`$rpc/${procedure.replaceAll('.', '/')}`);
  }

  async call(procedure: string): Promise<string> {
    const id = this.nextCorrelation++;
    const topic = `$rpc/${procedure.replaceAll('.', '/')}`;
    if (this.version === 5) {
      await this.publishRaw(topic, '', { properties: { responseTopic: this.replyTopic, correlationData: Buffer.from(String(id)) } });
      const reply = await until(() => this.replies.find((r) => r.correlation === String(id)), `the reply to call ${id}`);
      return reply.error ?? `result:${reply.payload.toString()}`;
    }
    await this.publishRaw(topic, JSON.stringify({ id, reply_to: this.replyTopic, args: [] }));
    const reply = await until(
      () => this.replies.map((r) => JSON.parse(r.payload.toString()) as Record<string, any>).find((e) => e.id === id),
      `the reply to call ${id}`,
    );
    return (reply.error as string | undefined) ?? `result:${String((reply.args as unknown[] | undefined)?.[0])}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The protocol matrix
// ---------------------------------------------------------------------------------------------------------

interface Expected {
  publish: string;
  subscribe: string;
  register: string;
}

interface Driver {
  name: string;
  kind: 'wamp' | 'mqtt';
  connect(router: TestRouter, token?: string): Promise<Peer>;
  ok: Expected;
  denied: Expected;
}

const WAMP_OK: Expected = { publish: 'published', subscribe: 'subscribed', register: 'registered' };
const WAMP_DENIED: Expected = { publish: NOT_AUTHORIZED, subscribe: NOT_AUTHORIZED, register: NOT_AUTHORIZED };

const DRIVERS: Driver[] = [
  { name: 'WAMP JSON', kind: 'wamp', connect: (r, t) => WampPeer.open(r.url, 'json', t), ok: WAMP_OK, denied: WAMP_DENIED },
  { name: 'WAMP CBOR', kind: 'wamp', connect: (r, t) => WampPeer.open(r.url, 'cbor', t), ok: WAMP_OK, denied: WAMP_DENIED },
  {
    name: 'MQTT 5.0 (TCP)',
    kind: 'mqtt',
    connect: (r, t) => MqttPeer.open(r, 5, 'tcp', t),
    ok: { publish: 'puback 0x00', subscribe: 'suback 0x01', register: 'suback 0x01' },
    // A refused QoS 1 PUBLISH: PUBACK 0x87; a refused SUBSCRIBE or `$rpc` registration: SUBACK 0x87.
    denied: { publish: 'puback 0x87', subscribe: 'suback 0x87', register: 'suback 0x87' },
  },
  {
    name: 'MQTT 3.1.1 (WebSocket)',
    kind: 'mqtt',
    connect: (r, t) => MqttPeer.open(r, 4, 'ws', t),
    ok: { publish: 'puback', subscribe: 'suback 0x01', register: 'suback 0x01' },
    // 3.1.1 has no reason codes: a refused QoS 1 PUBLISH is still acknowledged (and dropped); SUBACK 0x80.
    denied: { publish: 'puback', subscribe: 'suback 0x80', register: 'suback 0x80' },
  },
];

let router: TestRouter;
const extraRouters: TestRouter[] = [];
const children: ChildProcess[] = [];
const tempDirs: string[] = [];

beforeAll(async () => {
  tokens = {
    user: await hs256({ sub: 'user-1', claims: { role: 'user' } }),
    reader: await hs256({ sub: 'reader-1', claims: { role: 'reader' } }),
    admin: await hs256({ sub: 'admin-1', claims: { role: 'admin' } }),
    narrow: await hs256({ sub: 'narrow-1', claims: { role: 'user', permissions: { publish: ['sensors.a.#'] } } }),
    wide: await hs256({
      sub: 'wide-1',
      claims: { role: 'user', permissions: { publish: ['admin.#', 'sensors.#'], subscribe: ['admin.#'], call: [] } },
    }),
    malformed: await hs256({ sub: 'malformed-1', claims: { role: 'user', permissions: 'everything' } }),
  };
  router = await startTestRouter(BASE, { tcp: true });
});

afterEach(async () => {
  for (const client of wampClients.splice(0)) client.close();
  await Promise.all(mqttClients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(extraRouters.splice(0).map((r) => r.close()));
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await router?.close();
});

/** An admin peer of the other protocol family, so every check also crosses protocols. */
function otherAdmin(driver: Driver, on: TestRouter = router): Promise<Peer> {
  return driver.kind === 'wamp' ? MqttPeer.open(on, 5, 'tcp', tokens.admin) : WampPeer.open(on.url, 'json', tokens.admin);
}

/**
 * Subscribers that would see a publication on `sensors...` or `other...` if the router routed it: an admin WAMP
 * client (prefix `sensors` and `other`), a reader on MQTT 5 (`sensors/#`, no deny pattern) and an admin on
 * MQTT 3.1.1 (`#`).
 */
async function observers(): Promise<Peer[]> {
  const wamp = await WampPeer.open(router.url, 'json', tokens.admin);
  expect(await wamp.subscribe('sensors', 'prefix')).toBe('subscribed');
  expect(await wamp.subscribe('other', 'prefix')).toBe('subscribed');
  const reader = await MqttPeer.open(router, 5, 'tcp', tokens.reader);
  expect(await reader.subscribeFilter('sensors/#')).toBe('suback 0x01');
  const admin = await MqttPeer.open(router, 4, 'tcp', tokens.admin);
  expect(await admin.subscribeFilter('#')).toBe('suback 0x01');
  return [wamp, reader, admin];
}

describe.each(DRIVERS)('authorization over $name', (driver) => {
  it('publish: sensors.# allows any depth, the deny pattern wins, other topics are refused; refused publications reach nobody', async () => {
    const watching = await observers();
    const user = await driver.connect(router, tokens.user);
    expect(await user.publish('sensors.x.y', 'allowed-1')).toBe(driver.ok.publish);
    expect(await user.publish('sensors.secret.x', 'denied-1')).toBe(driver.denied.publish);
    expect(await user.publish('sensors.secret', 'denied-2')).toBe(driver.denied.publish);
    expect(await user.publish('other.x', 'denied-3')).toBe(driver.denied.publish);
    // `#` stands for zero or more components: sensors.# covers sensors itself.
    expect(await user.publish('sensors', 'allowed-2')).toBe(driver.ok.publish);
    expect(await user.publish('sensors.marker', 'end')).toBe(driver.ok.publish);
    for (const observer of watching) {
      await until(() => observer.events.some((e) => e.payload === 'end'), 'the marker publication');
      expect(observer.events).toEqual([
        { topic: 'sensors.x.y', payload: 'allowed-1' },
        { topic: 'sensors', payload: 'allowed-2' },
        { topic: 'sensors.marker', payload: 'end' },
      ]);
    }
    // MQTT refusals are logged (3.1.1 has no other way to tell).
    if (driver.kind === 'mqtt') {
      expect(router.logs.some((line) => line.msg === 'publication refused' && line.topic === 'sensors/secret/x')).toBe(true);
    }
  });

  it('subscribe: allowed topics are granted and delivered; denied and unlisted topics are refused', async () => {
    const user = await driver.connect(router, tokens.user);
    expect(await user.subscribe('sensors.x.y')).toBe(driver.ok.subscribe);
    expect(await user.subscribe('sensors')).toBe(driver.ok.subscribe);
    expect(await user.subscribe('sensors.secret.x')).toBe(driver.denied.subscribe);
    expect(await user.subscribe('sensors.secret')).toBe(driver.denied.subscribe);
    expect(await user.subscribe('other.x')).toBe(driver.denied.subscribe);
    const admin = await otherAdmin(driver);
    expect(await admin.publish('sensors.secret.x', 'secret')).toBe(admin.kind === 'wamp' ? 'published' : 'puback 0x00');
    expect(await admin.publish('other.x', 'other')).toBe(admin.kind === 'wamp' ? 'published' : 'puback 0x00');
    expect(await admin.publish('sensors.x.y', 'hello')).toBe(admin.kind === 'wamp' ? 'published' : 'puback 0x00');
    await until(() => user.events.length >= 1, 'the event on sensors.x.y');
    expect(user.events).toEqual([{ topic: 'sensors.x.y', payload: 'hello' }]);
  });

  it('register: api.+ allows exactly one component under api; other procedures are refused and do not exist', async () => {
    const user = await driver.connect(router, tokens.user);
    const procedure = uniq('api.echo');
    expect(await user.register(procedure)).toBe(driver.ok.register);
    expect(await user.register(uniq('api.deep.x'))).toBe(driver.denied.register);
    const adminProcedure = uniq('admin.proc');
    expect(await user.register(adminProcedure)).toBe(driver.denied.register);
    const admin = await otherAdmin(driver);
    expect(await admin.call(procedure)).toBe(`result:ok:${procedure}`);
    expect(await admin.call(adminProcedure)).toBe(NO_SUCH_PROCEDURE);
    expect(user.invocations).toEqual([procedure]);
  });

  it('call: api.+ is callable; other procedures get wamp.error.not_authorized even when registered, and never reach the callee', async () => {
    const callee = await otherAdmin(driver);
    const procedure = uniq('api.echo');
    const adminProcedure = uniq('admin.proc');
    const deep = uniq('api.deep.p');
    for (const p of [procedure, adminProcedure, deep]) {
      expect(await callee.register(p)).toBe(callee.kind === 'wamp' ? 'registered' : 'suback 0x01');
    }
    const user = await driver.connect(router, tokens.user);
    expect(await user.call(procedure)).toBe(`result:ok:${procedure}`);
    expect(await user.call(adminProcedure)).toBe(NOT_AUTHORIZED);
    expect(await user.call(deep)).toBe(NOT_AUTHORIZED);
    // Allowed but not registered: the refusal is about existence, not rights.
    expect(await user.call(uniq('api.nothing'))).toBe(NO_SUCH_PROCEDURE);
    expect(callee.invocations).toEqual([procedure]);
  });

  it('a permissions claim narrows the role and never widens it', async () => {
    const narrow = await driver.connect(router, tokens.narrow);
    expect(await narrow.publish('sensors.a.x')).toBe(driver.ok.publish);
    expect(await narrow.publish('sensors.a')).toBe(driver.ok.publish);
    expect(await narrow.publish('sensors.b.x')).toBe(driver.denied.publish);
    // A list left out does not narrow its action.
    expect(await narrow.subscribe('sensors.b.x')).toBe(driver.ok.subscribe);

    const wide = await driver.connect(router, tokens.wide);
    expect(await wide.publish('admin.x')).toBe(driver.denied.publish);
    expect(await wide.publish('sensors.secret.x')).toBe(driver.denied.publish);
    expect(await wide.publish('sensors.b.x')).toBe(driver.ok.publish);
    expect(await wide.subscribe('admin.x')).toBe(driver.denied.subscribe);
    // Role (sensors.#) and claim (admin.#) must both allow: nothing is left.
    expect(await wide.subscribe('sensors.x')).toBe(driver.denied.subscribe);
    // An empty list allows nothing.
    expect(await wide.call(uniq('api.x'))).toBe(NOT_AUTHORIZED);
    // The register list is left out: the role decides.
    expect(await wide.register(uniq('api.w'))).toBe(driver.ok.register);

    // A claim that is not an object of lists denies everything.
    const malformed = await driver.connect(router, tokens.malformed);
    expect(await malformed.publish('sensors.x')).toBe(driver.denied.publish);
    expect(await malformed.subscribe('sensors.x')).toBe(driver.denied.subscribe);
    expect(await malformed.register(uniq('api.m'))).toBe(driver.denied.register);
    expect(await malformed.call(uniq('api.m'))).toBe(NOT_AUTHORIZED);
  });

  it('default roles: anonymous may do nothing unless configured; admin may do everything unless listed', async () => {
    const open = await startTestRouter({ ...BASE, allowAnonymous: true }, { tcp: true });
    extraRouters.push(open);
    const anonymous = await driver.connect(open);
    if (anonymous instanceof WampPeer) expect(anonymous.authrole).toBe('anonymous');
    expect(await anonymous.publish('sensors.x')).toBe(driver.denied.publish);
    expect(await anonymous.subscribe('sensors.x')).toBe(driver.denied.subscribe);
    expect(await anonymous.register(uniq('api.anon'))).toBe(driver.denied.register);
    expect(await anonymous.call(uniq('api.anon'))).toBe(NOT_AUTHORIZED);

    const admin = await driver.connect(open, tokens.admin);
    const adminProcedure = uniq('admin.proc');
    expect(await admin.subscribe('admin.x')).toBe(driver.ok.subscribe);
    expect(await admin.subscribe('sensors.secret.x')).toBe(driver.ok.subscribe);
    expect(await admin.publish('admin.x')).toBe(driver.ok.publish);
    expect(await admin.publish('sensors.secret.x')).toBe(driver.ok.publish);
    expect(await admin.register(adminProcedure)).toBe(driver.ok.register);
    expect(await admin.call(adminProcedure)).toBe(`result:ok:${adminProcedure}`);

    // Any other role the realm does not list may do nothing; a token's `system` role is not the router's own.
    for (const role of ['guest', 'system']) {
      const unlisted = await driver.connect(open, await hs256({ sub: `${role}-1`, claims: { role } }));
      expect(await unlisted.publish('sensors.x'), role).toBe(driver.denied.publish);
      expect(await unlisted.subscribe('sensors.x'), role).toBe(driver.denied.subscribe);
      expect(await unlisted.register(uniq('api.r')), role).toBe(driver.denied.register);
      expect(await unlisted.call(uniq('api.r')), role).toBe(NOT_AUTHORIZED);
    }

    // Listed roles follow their rules: anonymous gets only what it is given, admin only what it is given.
    const configured = await startTestRouter(
      {
        ...BASE,
        allowAnonymous: true,
        realms: {
          realm1: {
            roles: {
              ...ROLES,
              anonymous: { allow: { subscribe: ['public.#'] } },
              admin: { allow: { publish: ['admin.#'] } },
            },
          },
        },
      },
      { tcp: true },
    );
    extraRouters.push(configured);
    const guest = await driver.connect(configured);
    expect(await guest.subscribe('public.news')).toBe(driver.ok.subscribe);
    expect(await guest.publish('public.news')).toBe(driver.denied.publish);
    const limitedAdmin = await driver.connect(configured, tokens.admin);
    expect(await limitedAdmin.publish('admin.y')).toBe(driver.ok.publish);
    expect(await limitedAdmin.subscribe('admin.y')).toBe(driver.denied.subscribe);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Pattern subscriptions and registrations, in each protocol's own syntax
// ---------------------------------------------------------------------------------------------------------

describe.each([
  { name: 'MQTT 5.0', version: 5 as Version, transport: 'tcp' as Transport, denied: 'suback 0x87' },
  { name: 'MQTT 3.1.1', version: 4 as Version, transport: 'tcp' as Transport, denied: 'suback 0x80' },
])('MQTT filters over $name', ({ version, transport, denied }) => {
  it('a filter must be covered as a whole by an allow pattern', async () => {
    const reader = await MqttPeer.open(router, version, transport, tokens.reader);
    for (const filter of ['sensors/+/temp', 'sensors/#', 'sensors/+/+/#', 'sensors/a/#', '$share/g/sensors/#']) {
      expect(await reader.subscribeFilter(filter), filter).toBe('suback 0x01');
    }
    for (const filter of ['#', '+/temp', '+/+/#', 'other/#', '$share/g/#', '$SYS/#']) {
      expect(await reader.subscribeFilter(filter), filter).toBe(denied);
    }
    // Granted wildcard subscriptions deliver what they cover.
    const admin = await WampPeer.open(router.url, 'json', tokens.admin);
    expect(await admin.publish('sensors.a.temp', 't1')).toBe('published');
    await until(() => reader.events.some((e) => e.payload === 't1'), 'the event on sensors/a/temp');
  });

  it('a filter that could match a denied topic is refused (deny wins), and $rpc pattern registrations follow register rules', async () => {
    const user = await MqttPeer.open(router, version, transport, tokens.user);
    expect(await user.subscribeFilter('sensors/+/temp')).toBe(denied); // could match sensors/secret/temp
    expect(await user.subscribeFilter('sensors/#')).toBe(denied);
    expect(await user.subscribeFilter('sensors/a/+')).toBe('suback 0x01');
    expect(await user.subscribeFilter('sensors/a/#')).toBe('suback 0x01');
    // `#` stands for zero or more components: sensors.secret.# denies sensors/secret itself, so sensors/+ overlaps it.
    expect(await user.subscribeFilter('sensors/+')).toBe(denied);
    expect(await user.subscribeFilter('sensors/+/+')).toBe(denied);
    expect(await user.subscribeFilter('sensors/a/+/+')).toBe('suback 0x01');
    expect(await user.subscribeFilter('$rpc/api/+')).toBe('suback 0x01');
    expect(await user.subscribeFilter('$rpc/api/#')).toBe(denied); // api.+ does not cover api or api.x.y
    expect(await user.subscribeFilter('$rpc/+/x')).toBe(denied);
    expect(await user.subscribeFilter('$rpc/#')).toBe(denied);
    // Shared registrations follow the register rules too.
    expect(await user.subscribeFilter(`$share/g/$rpc/${uniq('api/shared')}`)).toBe('suback 0x01');
    expect(await user.subscribeFilter('$share/g/$rpc/admin/x')).toBe(denied);
    if (version === 5) {
      const suback = user.packets.filter((packet) => packet.cmd === 'suback').at(-1) as { properties?: { reasonString?: string } };
      expect(suback.properties?.reasonString).toBe(NOT_AUTHORIZED);
    }
  });

  it('one SUBSCRIBE with several filters gets one code per filter; refused QoS 0 and QoS 2 publications are dropped', async () => {
    const watching = await observers();
    const user = await MqttPeer.open(router, version, transport, tokens.user);
    const granted = await new Promise<number[] | undefined>((resolve) =>
      user.client.subscribe({ 'sensors/a/1': { qos: 1 }, 'other/x': { qos: 1 }, 'sensors/secret/x': { qos: 0 }, 'sensors/b/+': { qos: 0 } }, (_e, _g, packet) =>
        resolve((packet as { granted?: number[] } | undefined)?.granted),
      ),
    );
    const no = version === 5 ? 0x87 : 0x80;
    expect(granted).toEqual([1, no, no, 0]);

    // QoS 0: nothing comes back. QoS 2: PUBREC 0x87 in 5.0 (the flow ends there); in 3.1.1 PUBREC and PUBCOMP.
    await new Promise<void>((resolve) => user.client.publish('sensors/secret/q0', 'denied-q0', { qos: 0 }, () => resolve()));
    const before = user.packets.length;
    await new Promise<void>((resolve) => user.client.publish('sensors/secret/q2', 'denied-q2', { qos: 2 }, () => resolve()));
    const flow = user.packets.slice(before).filter((packet) => packet.cmd !== 'publish');
    if (version === 5) {
      expect(flow.map((packet) => [packet.cmd, (packet as { reasonCode?: number }).reasonCode])).toEqual([['pubrec', 0x87]]);
    } else {
      expect(flow.map((packet) => packet.cmd)).toEqual(['pubrec', 'pubcomp']);
    }
    expect(await user.publish('sensors.q.end', 'end')).toBe(version === 5 ? 'puback 0x00' : 'puback');
    for (const observer of watching) {
      await until(() => observer.events.some((e) => e.payload === 'end'), 'the marker publication');
      expect(observer.events).toEqual([{ topic: 'sensors.q.end', payload: 'end' }]);
    }
    expect(user.closed).toBe(false);
  });
});

describe('the permissions claim name', () => {
  it('is jwt.claims.permissions: another claim of the same shape is ignored', async () => {
    const custom = await startTestRouter({ ...BASE, jwt: { secret: SECRET, claims: { ...DEFAULT_CLAIMS, permissions: 'perms' } } }, { tcp: true });
    extraRouters.push(custom);
    const narrowed = await hs256({ sub: 'p-1', claims: { role: 'user', perms: { publish: ['sensors.a.#'] } } });
    const ignored = await hs256({ sub: 'p-2', claims: { role: 'user', permissions: { publish: ['sensors.a.#'] } } });
    for (const peer of [await WampPeer.open(custom.url, 'json', narrowed), await MqttPeer.open(custom, 5, 'tcp', narrowed)]) {
      expect(await peer.publish('sensors.a.x')).toBe(peer.kind === 'wamp' ? 'published' : 'puback 0x00');
      expect(await peer.publish('sensors.b.x')).toBe(peer.kind === 'wamp' ? NOT_AUTHORIZED : 'puback 0x87');
    }
    for (const peer of [await WampPeer.open(custom.url, 'cbor', ignored), await MqttPeer.open(custom, 4, 'tcp', ignored)]) {
      expect(await peer.publish('sensors.b.x')).toBe(peer.kind === 'wamp' ? 'published' : 'puback');
    }
  });
});

describe('$ topics', () => {
  it('a pattern starting with a wildcard does not allow $ topics; naming them does; a deny # refuses them too', async () => {
    const everything = await MqttPeer.open(router, 5, 'tcp', await hs256({ sub: 'e-1', claims: { role: 'everything' } }));
    expect(await everything.subscribeFilter('anything/at/all')).toBe('suback 0x01');
    expect(await everything.subscribeFilter('#')).toBe('suback 0x01');
    expect(await everything.subscribeFilter('$SYS/#')).toBe('suback 0x87');
    expect(await everything.subscribeFilter('$SYS/broker/uptime')).toBe('suback 0x87');
    expect(await everything.publish('anything.x')).toBe('puback 0x00');
    expect(await everything.publishRaw('$foo/x', 'x')).toBe('puback 0x87');
    const everythingWamp = await WampPeer.open(router.url, 'json', await hs256({ sub: 'e-2', claims: { role: 'everything' } }));
    expect(await everythingWamp.subscribe('$SYS.broker.uptime')).toBe(NOT_AUTHORIZED);
    expect(await everythingWamp.publish('$foo.x')).toBe(NOT_AUTHORIZED);

    const sys = await MqttPeer.open(router, 4, 'tcp', await hs256({ sub: 's-1', claims: { role: 'sys' } }));
    expect(await sys.subscribeFilter('$SYS/#')).toBe('suback 0x01');
    expect(await sys.subscribeFilter('$SYS/broker/uptime')).toBe('suback 0x01');
    expect(await sys.subscribeFilter('#')).toBe('suback 0x80');

    const blocked = await MqttPeer.open(router, 5, 'tcp', await hs256({ sub: 'b-1', claims: { role: 'blocked' } }));
    expect(await blocked.subscribeFilter('$SYS/#')).toBe('suback 0x87');
    expect(await blocked.subscribeFilter('$SYS/broker/uptime')).toBe('suback 0x87');
    expect(await blocked.subscribeFilter('sensors/x')).toBe('suback 0x87');
  });
});

describe.each([
  { name: 'JSON', serialization: 'json' as Serialization },
  { name: 'CBOR', serialization: 'cbor' as Serialization },
])('WAMP patterns over $name', ({ serialization }) => {
  it('wildcard and prefix subscriptions and registrations must be covered as a whole', async () => {
    const reader = await WampPeer.open(router.url, serialization, tokens.reader);
    expect(await reader.subscribe('sensors..temp', 'wildcard')).toBe('subscribed');
    expect(await reader.subscribe('sensors.', 'wildcard')).toBe('subscribed');
    expect(await reader.subscribe('sensors.a', 'prefix')).toBe('subscribed');
    // A prefix is a string prefix of its last component: `sensors` also matches `sensorsX.y`, which sensors.#
    // does not allow, so it is refused.
    expect(await reader.subscribe('sensors', 'prefix')).toBe(NOT_AUTHORIZED);
    expect(await reader.subscribe('.temp', 'wildcard')).toBe(NOT_AUTHORIZED);
    expect(await reader.subscribe('other', 'prefix')).toBe(NOT_AUTHORIZED);

    const user = await WampPeer.open(router.url, serialization, tokens.user);
    expect(await user.subscribe('sensors..temp', 'wildcard')).toBe(NOT_AUTHORIZED); // could match sensors.secret.temp
    expect(await user.subscribe('sensors.a.', 'wildcard')).toBe('subscribed');
    expect(await user.subscribe('sensors.s', 'prefix')).toBe(NOT_AUTHORIZED); // could match sensors.secret
    expect(await user.subscribe('sensors.a', 'prefix')).toBe('subscribed');
    expect(await user.register('api.', 'wildcard')).toBe('registered');
    expect(await user.register('api', 'prefix')).toBe(NOT_AUTHORIZED);
    expect(await user.register('.x', 'wildcard')).toBe(NOT_AUTHORIZED);

    const admin = await MqttPeer.open(router, 5, 'tcp', tokens.admin);
    expect(await admin.publish('sensors.b.temp', 'w1')).toBe('puback 0x00');
    await until(() => reader.events.some((e) => e.payload === 'w1' && e.topic === 'sensors.b.temp'), 'the wildcard event');
  });

  it('a denied PUBLISH without acknowledge gets no answer and reaches nobody', async () => {
    const watching = await observers();
    const user = await WampPeer.open(router.url, serialization, tokens.user);
    user.publishUnacknowledged('sensors.secret.quiet', 'quiet');
    user.publishUnacknowledged('other.quiet', 'quiet');
    // The acknowledged publication is answered first: no ERROR came for the two before it.
    expect(await user.publish('sensors.quiet', 'end')).toBe('published');
    for (const observer of watching) {
      await until(() => observer.events.some((e) => e.payload === 'end'), 'the marker publication');
      expect(observer.events).toEqual([{ topic: 'sensors.quiet', payload: 'end' }]);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Reloading the rules
// ---------------------------------------------------------------------------------------------------------

describe('reloading authorization rules', () => {
  it('revokes what is no longer allowed without dropping connections, and new operations follow the new rules', async () => {
    const live = await startTestRouter(BASE, { tcp: true });
    extraRouters.push(live);

    // A WAMP client that announced revocation: two subscriptions (one to be revoked) and a registration.
    const wamp = await WampPeer.open(live.url, 'json', tokens.user, REVOCATION_ROLES);
    const [subscribedA, idA] = await wamp.subscribeWithId('sensors.a.x');
    const [subscribedB, idB] = await wamp.subscribeWithId('sensors.b.x');
    const [registered, registrationId] = await wamp.registerWithId('api.thing');
    expect([subscribedA, subscribedB, registered]).toEqual(['subscribed', 'subscribed', 'registered']);
    // A WAMP client that did not announce it: told nothing, but its subscription goes too.
    const quiet = await WampPeer.open(live.url, 'cbor', tokens.user);
    expect(await quiet.subscribe('sensors.a.x')).toBe('subscribed');
    // MQTT: 5.0 and 3.1.1 clients holding a subscription that will be forbidden, and a 5.0 client that will not.
    const doomed5 = await MqttPeer.open(live, 5, 'tcp', tokens.user);
    expect(await doomed5.subscribeFilter('sensors/a/y')).toBe('suback 0x01');
    const doomed4 = await MqttPeer.open(live, 4, 'ws', tokens.user);
    expect(await doomed4.subscribeFilter('sensors/a/z')).toBe('suback 0x01');
    const survivor = await MqttPeer.open(live, 5, 'ws', tokens.user);
    expect(await survivor.subscribeFilter('sensors/b/y')).toBe('suback 0x01');
    const admin = await WampPeer.open(live.url, 'json', tokens.admin);

    const result = live.reloadAuthorization({
      realm1: {
        roles: {
          user: {
            allow: { publish: ['sensors.#'], subscribe: ['sensors.b.#'], call: ['api.+'], register: ['api.other'] },
            deny: { publish: ['sensors.secret.#', 'sensors.a.#'] },
          },
        },
      },
    });
    // WAMP: sensors.a.x and api.thing; quiet: sensors.a.x; MQTT: sensors/a/y and sensors/a/z.
    expect(result).toEqual({ revoked: 5 });
    expect(live.logs.some((line) => line.msg === 'authorization rules reloaded' && line.revoked === 5)).toBe(true);

    // WAMP revocation: UNSUBSCRIBED / UNREGISTERED with request id 0 and the id; the connection stays open.
    await until(() => wamp.revocations.length >= 2, 'UNSUBSCRIBED and UNREGISTERED with request 0');
    expect(wamp.revocations).toEqual([
      [T.UNSUBSCRIBED, 0, { subscription: idA, reason: expect.any(String) }],
      [T.UNREGISTERED, 0, { registration: registrationId, reason: expect.any(String) }],
    ]);
    expect(quiet.revocations).toEqual([]);

    // MQTT: a 5.0 client whose subscription went gets DISCONNECT 0x87, a 3.1.1 one is closed; the other stays.
    await until(() => doomed5.closed, 'the MQTT 5.0 client to be disconnected');
    expect(doomed5.disconnect?.reasonCode).toBe(0x87);
    await until(() => doomed4.closed, 'the MQTT 3.1.1 client to be closed');

    // What is still allowed still flows; what was revoked no longer does.
    expect(await admin.publish('sensors.a.x', 'revoked')).toBe('published');
    expect(await admin.publish('sensors.b.x', 'kept-wamp')).toBe('published');
    expect(await admin.publish('sensors.b.y', 'kept-mqtt')).toBe('published');
    await until(() => wamp.events.some((e) => e.payload === 'kept-wamp'), 'the event on sensors.b.x');
    await until(() => survivor.events.some((e) => e.payload === 'kept-mqtt'), 'the event on sensors/b/y');
    expect(wamp.events).toEqual([{ topic: 'sensors.b.x', payload: 'kept-wamp' }]);
    expect(survivor.events).toEqual([{ topic: 'sensors.b.y', payload: 'kept-mqtt' }]);
    expect(await quiet.publish('sensors.b.z', 'marker')).toBe('published');
    expect(quiet.events).toEqual([]);
    expect(wamp.closed || quiet.closed || survivor.closed).toBe(false);
    expect(await admin.call('api.thing')).toBe(NO_SUCH_PROCEDURE);

    // New operations follow the new rules, on the same connections.
    expect(await wamp.subscribe('sensors.a.q')).toBe(NOT_AUTHORIZED);
    expect(await wamp.subscribe('sensors.b.q')).toBe('subscribed');
    expect(await wamp.publish('sensors.a.q')).toBe(NOT_AUTHORIZED);
    expect(await wamp.publish('sensors.b.q')).toBe('published');
    expect(await wamp.register('api.thing')).toBe(NOT_AUTHORIZED);
    expect(await wamp.register('api.other')).toBe('registered');
    expect(await survivor.subscribeFilter('sensors/a/w')).toBe('suback 0x87');
    expect(await survivor.publish('sensors.a.w')).toBe('puback 0x87');
    expect(await survivor.publish('sensors.b.w')).toBe('puback 0x00');
    expect(await survivor.call('api.other')).toBe('result:ok:api.other');
    expect(survivor.closed).toBe(false);

    // A bad rule is refused and the rules in force stay.
    expect(() => live.reloadAuthorization({ realm1: { roles: { user: { allow: { publish: ['sensors..x'] } } } } })).toThrow(/sensors\.\.x/);
    expect(await wamp.publish('sensors.a.q')).toBe(NOT_AUTHORIZED);
    expect(await wamp.publish('sensors.b.q')).toBe('published');
    expect(wamp.closed).toBe(false);
  });

  it('also revokes pattern subscriptions and registrations, $rpc registrations, shared and offline subscriptions', async () => {
    const live = await startTestRouter(BASE, { tcp: true });
    extraRouters.push(live);

    // A WAMP pattern subscription and pattern registration, from a client that announced revocation.
    const wamp = await WampPeer.open(live.url, 'cbor', tokens.user, REVOCATION_ROLES);
    const [patternSubscribed, patternSubscription] = await wamp.subscribeWithId('sensors.a.', 'wildcard');
    const [patternRegistered, patternRegistration] = await wamp.registerWithId('api.', 'wildcard');
    expect([patternSubscribed, patternRegistered]).toEqual(['subscribed', 'registered']);
    // An admin on the same topic as a subscription that will be revoked from a user: the admin keeps it.
    const adminWamp = await WampPeer.open(live.url, 'json', tokens.admin);
    expect(await adminWamp.subscribe('sensors.a.x')).toBe('subscribed');
    const userOnSameTopic = await WampPeer.open(live.url, 'json', tokens.user);
    expect(await userOnSameTopic.subscribe('sensors.a.x')).toBe('subscribed');
    // MQTT devices registered through $rpc, and a shared subscription.
    const device5 = await MqttPeer.open(live, 5, 'tcp', tokens.user);
    expect(await device5.register('api.dev5')).toBe('suback 0x01');
    const device4 = await MqttPeer.open(live, 4, 'tcp', tokens.user);
    expect(await device4.register('api.dev4')).toBe('suback 0x01');
    const shared = await MqttPeer.open(live, 5, 'ws', tokens.user);
    expect(await shared.subscribeFilter('$share/g/sensors/a/#')).toBe('suback 0x01');
    // A persistent MQTT 5.0 session that is offline during the reload.
    const clientId = uniq('persistent-');
    const persistentOptions: IClientOptions = { clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const before = await MqttPeer.open(live, 5, 'tcp', tokens.user, persistentOptions);
    expect(await before.subscribeFilter('sensors/a/y')).toBe('suback 0x01');
    expect(await before.subscribeFilter('sensors/b/y')).toBe('suback 0x01');
    await before.client.endAsync();

    const result = live.reloadAuthorization({
      realm1: {
        roles: {
          user: { allow: { publish: ['sensors.#'], subscribe: ['sensors.b.#'], call: ['api.+'], register: ['api.other'] } },
        },
      },
    });
    // wamp: 2; userOnSameTopic: 1; device5, device4, shared: 1 each; the offline session: 1.
    expect(result).toEqual({ revoked: 7 });

    await until(() => wamp.revocations.length >= 2, 'UNSUBSCRIBED and UNREGISTERED with request 0');
    expect(wamp.revocations).toEqual([
      [T.UNSUBSCRIBED, 0, { subscription: patternSubscription, reason: expect.any(String) }],
      [T.UNREGISTERED, 0, { registration: patternRegistration, reason: expect.any(String) }],
    ]);
    await until(() => device5.closed && device4.closed && shared.closed, 'the MQTT clients to be disconnected');
    expect(device5.disconnect?.reasonCode).toBe(0x87);
    expect(shared.disconnect?.reasonCode).toBe(0x87);

    const admin = await MqttPeer.open(live, 5, 'tcp', tokens.admin);
    for (const procedure of ['api.dev5', 'api.dev4', 'api.anything']) {
      expect(await admin.call(procedure), procedure).toBe(NO_SUCH_PROCEDURE);
    }
    expect(await admin.publish('sensors.a.x', 'after')).toBe('puback 0x00');
    await until(() => adminWamp.events.some((e) => e.payload === 'after'), 'the admin to keep its subscription');
    expect(await userOnSameTopic.publish('sensors.b.marker', 'marker')).toBe('published');
    expect(userOnSameTopic.events).toEqual([]);
    expect(wamp.closed || userOnSameTopic.closed).toBe(false);

    // The offline session lost only what is no longer allowed: nothing on sensors/a/y is queued or delivered.
    expect(await admin.publish('sensors.a.y', 'offline-revoked')).toBe('puback 0x00');
    expect(await admin.publish('sensors.b.y', 'offline-kept')).toBe('puback 0x00');
    const after = await MqttPeer.open(live, 5, 'tcp', tokens.user, persistentOptions);
    expect(after.connack?.sessionPresent).toBe(true);
    expect(await admin.publish('sensors.a.y', 'gone')).toBe('puback 0x00');
    expect(await admin.publish('sensors.b.y', 'kept')).toBe('puback 0x00');
    await until(() => after.events.some((e) => e.payload === 'kept'), 'the event on sensors/b/y');
    expect(after.events.map((e) => e.payload)).toEqual(['offline-kept', 'kept']);
    expect(after.closed).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The built binary: config file change and SIGHUP
// ---------------------------------------------------------------------------------------------------------

const MAIN = join(import.meta.dirname, '../../dist/src/main.js');

function configFor(publish: string[]): string {
  return JSON.stringify({
    jwt: { secret: SECRET },
    allowAnonymous: false,
    realms: { realm1: { roles: { user: { allow: { publish, subscribe: ['sensors.#'] } } } } },
  });
}

/** Replaces the file atomically with the given mtime (seconds), so a watcher sees exactly that mtime. */
function replaceFile(file: string, text: string, mtimeSec: number): void {
  const next = `${file}.next`;
  writeFileSync(next, text);
  utimesSync(next, mtimeSec, mtimeSec);
  renameSync(next, file);
}

describe('the built router reloads its rules', () => {
  it('when the config file changes and on SIGHUP, keeping the connection; a bad edit keeps the rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-authz-'));
    tempDirs.push(dir);
    const file = join(dir, 'config.json');
    const t0 = Math.floor(Date.now() / 1000) - 100;
    replaceFile(file, configFor(['sensors.#']), t0);

    const child = spawn(
      process.execPath,
      [MAIN, '--config', file, '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', '--log-level', 'info'],
      { env: { PATH: process.env.PATH ?? '', SWITCHBOARD_STORE: 'memory' } },
    );
    children.push(child);
    const lines: Array<Record<string, any>> = [];
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffer.slice(0, newline)) as Record<string, any>;
          buffer = buffer.slice(newline + 1);
          lines.push(line);
          if (line.msg === 'switchboard listening') resolve(line.port as number);
        }
      });
      child.once('exit', (code) => reject(new Error(`router exited with ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error('router did not start')), 10_000);
    });
    const reloads = () => lines.filter((line) => line.msg === 'authorization rules reloaded').length;

    const client = await WampPeer.open(`ws://127.0.0.1:${port}/`, 'json', tokens.user);
    expect(await client.publish('sensors.x')).toBe('published');
    expect(await client.publish('other.x')).toBe(NOT_AUTHORIZED);

    // 1. Edit the file: the watcher reloads it.
    replaceFile(file, configFor(['other.#']), t0 + 10);
    await until(() => reloads() === 1, "the 'authorization rules reloaded' log line after the file change", 5000);
    expect(await client.publish('sensors.x')).toBe(NOT_AUTHORIZED);
    expect(await client.publish('other.x')).toBe('published');

    // 2. Edit it again without changing its mtime: the watcher does not notice, SIGHUP reloads.
    replaceFile(file, configFor(['sensors.#']), t0 + 10);
    await sleep(1300);
    expect(reloads()).toBe(1);
    expect(await client.publish('sensors.x')).toBe(NOT_AUTHORIZED);
    child.kill('SIGHUP');
    await until(() => reloads() === 2, "the 'authorization rules reloaded' log line after SIGHUP", 3000);
    expect(await client.publish('sensors.x')).toBe('published');
    expect(await client.publish('other.x')).toBe(NOT_AUTHORIZED);

    // 3. A bad pattern: not reloaded, the operator is told why, the rules in force stay.
    replaceFile(file, configFor(['sensors..x']), t0 + 10);
    child.kill('SIGHUP');
    await until(() => stderr.includes('authorization not reloaded'), 'the refusal on stderr', 3000);
    expect(stderr).toContain('SIGHUP');
    expect(reloads()).toBe(2);
    expect(await client.publish('sensors.x')).toBe('published');
    expect(client.closed).toBe(false);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    client.raw.close();
    child.kill('SIGTERM');
    await exited;
  });
});
