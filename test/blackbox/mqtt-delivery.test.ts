/**
 * MQTT delivery, black-box: mqtt.js clients (and a raw TCP client where the wire matters) against the real
 * router, over protocol levels 4 (3.1.1) and 5 (5.0) and over WebSocket and TCP. QoS both ways, packet
 * identifiers and flow control, retained messages, wildcards and `$` topics, overlapping and shared
 * subscriptions, MQTT 5.0 properties, `$SYS`, and delivery across to WAMP and back.
 *
 * Negative checks ("X is not delivered") use a fence instead of a sleep: after the publication that must not
 * arrive, the same publisher sends a QoS 0 marker the subscriber does receive. The router routes one
 * connection's packets in order and writes one subscriber's deliveries in order, so once the marker is in,
 * anything routed before it would be in too.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, endAll, RawMqtt, urlOf, type Transport, type Version } from '../helpers/mqtt.js';
import { RawWamp, type Serialization } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

// ---------------------------------------------------------------------------------------------------------
// helpers

type Props = Record<string, any>;

interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Props;
}

const FENCE = '~fence~';
let sequence = 0;

/** A topic prefix no other test uses (each describe has its own router, so retained messages stay apart). */
function uid(prefix: string): string {
  return `${prefix}${++sequence}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every PUBLISH an mqtt.js client hands to the application, in order. */
class Inbox {
  readonly all: Received[] = [];
  private wakers: Array<() => void> = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.all.push({
        topic,
        payload: Buffer.from(payload),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        properties: (packet.properties ?? {}) as Props,
      });
      const wakers = this.wakers;
      this.wakers = [];
      for (const wake of wakers) wake();
    });
  }

  /** Everything but fence markers. */
  get messages(): Received[] {
    return this.all.filter((m) => !m.payload.toString('latin1').startsWith(FENCE));
  }

  texts(topic?: string): string[] {
    return this.messages.filter((m) => topic === undefined || m.topic === topic).map((m) => m.payload.toString());
  }

  async until(done: (all: Received[]) => boolean, what: string, ms = 4000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.all)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const got = this.all.map((m) => `${m.topic}=${m.payload.toString().slice(0, 40)}`).join(', ');
        throw new Error(`timed out waiting for ${what}; received so far: [${got}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  count(n: number, what = `${n} messages`): Promise<void> {
    return this.until(() => this.messages.length >= n, what);
  }
}

let fenceSeq = 0;

/** Publishes a QoS 0 marker on `topic` and waits until every inbox has it (see the file comment). */
async function fence(publisher: MqttClient, topic: string, ...inboxes: Inbox[]): Promise<void> {
  const marker = `${FENCE}${++fenceSeq}`;
  await publisher.publishAsync(topic, marker, { qos: 0 });
  await Promise.all(
    inboxes.map((inbox) => inbox.until((all) => all.some((m) => m.payload.toString() === marker), `fence marker on ${topic}`)),
  );
}

/** mqtt.js clients opened with their inbox attached before CONNECT, so nothing sent right after CONNACK is missed. */
const listening: MqttClient[] = [];

async function openWithInbox(url: string, version: Version, options: IClientOptions = {}): Promise<{ client: MqttClient; inbox: Inbox }> {
  const client = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  listening.push(client);
  const inbox = new Inbox(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { client, inbox };
}

const wamps: RawWamp[] = [];

async function cleanup(): Promise<void> {
  await Promise.all(listening.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
  await endAll();
  for (const wamp of wamps.splice(0)) wamp.close();
}

/** Waits until the router has logged the close of the connection that `clientId` last connected on. */
async function routerSawClose(router: TestRouter, clientId: string, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const connected = router.logs.filter((l) => l.msg === 'mqtt session connected' && l.clientId === clientId).at(-1);
    if (connected !== undefined && router.logs.some((l) => l.msg === 'connection closed' && l.conn === connected.conn)) return;
    if (Date.now() > deadline) throw new Error(`the router did not see ${clientId} go`);
    await sleep(10);
  }
}

// ---- raw MQTT over TCP

async function rawConnect(router: TestRouter, version: Version, clientId: string, properties?: Props, clean = true): Promise<RawMqtt> {
  const raw = await RawMqtt.connect(router.mqttPort!, version);
  raw.send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clientId,
    clean,
    keepalive: 0,
    ...(version === 5 && properties !== undefined ? { properties } : {}),
  });
  const connack = (await raw.next()) as Packet & Props;
  expect(connack.cmd).toBe('connack');
  expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
  return raw;
}

async function rawNext(raw: RawMqtt, cmd: string, ms = 3000): Promise<Packet & Props> {
  const packet = (await raw.next(ms)) as Packet & Props;
  expect(packet.cmd, `expected ${cmd}, got ${JSON.stringify(packet)}`).toBe(cmd);
  return packet;
}

async function rawSubscribe(raw: RawMqtt, subscriptions: Props[], messageId = 1): Promise<number[]> {
  raw.send({ cmd: 'subscribe', messageId, subscriptions });
  const suback = await rawNext(raw, 'suback');
  expect(suback.messageId).toBe(messageId);
  return suback.granted as number[];
}

// ---- raw WAMP

let wampRequest = 0;

async function wampSession(router: TestRouter, serialization: Serialization = 'json'): Promise<RawWamp> {
  const [client, welcome] = await RawWamp.session(router.url, serialization);
  wamps.push(client);
  expect(welcome[0]).toBe(2);
  return client;
}

async function wampSubscribe(client: RawWamp, topic: string, match?: 'prefix' | 'wildcard'): Promise<number> {
  const request = ++wampRequest;
  client.send([32, request, match === undefined ? {} : { match }, topic]);
  const reply = await client.next();
  expect(reply.slice(0, 2)).toEqual([33, request]);
  return reply[2] as number;
}

/** PUBLISH with acknowledge, so that the publication has been routed once this returns. */
async function wampPublish(client: RawWamp, topic: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<void> {
  const request = ++wampRequest;
  const message: unknown[] = [16, request, { acknowledge: true }, topic];
  if (args !== undefined || kwargs !== undefined) message.push(args ?? []);
  if (kwargs !== undefined) message.push(kwargs);
  client.send(message);
  const reply = await client.next();
  expect(reply.slice(0, 2), JSON.stringify(reply)).toEqual([17, request]);
}

async function wampEvent(client: RawWamp): Promise<{ subscription: number; details: Props; args: unknown[] | undefined; kwargs: Props | undefined }> {
  const message = await client.next();
  expect(message[0], JSON.stringify(message)).toBe(36);
  return {
    subscription: message[1] as number,
    details: message[3] as Props,
    args: message[4] as unknown[] | undefined,
    kwargs: message[5] as Props | undefined,
  };
}

function bytesOf(value: unknown): Buffer {
  expect(value instanceof Uint8Array, `expected bytes, got ${JSON.stringify(value)}`).toBe(true);
  const bytes = value as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ids(properties: Props): number[] {
  const value = properties.subscriptionIdentifier as number | number[] | undefined;
  return value === undefined ? [] : ([] as number[]).concat(value).sort((a, b) => a - b);
}

const BINARY = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x01]);

// ---------------------------------------------------------------------------------------------------------
// MQTT 3.1.1 and 5.0, over WebSocket and TCP

const MATRIX: Array<[Version, Transport]> = [
  [4, 'ws'],
  [4, 'tcp'],
  [5, 'ws'],
  [5, 'tcp'],
];

describe.each(MATRIX)('MQTT %s over %s', (version, transport) => {
  let router: TestRouter;
  const url = () => urlOf(router, transport);
  const connect = (options: IClientOptions = {}) => connectClient(url(), version, options);
  const open = (options: IClientOptions = {}) => openWithInbox(url(), version, options);
  /** Options for a new session that outlives its connection (3.1.1: Clean Session 0 with a fresh id). */
  const persistent = (clientId: string): IClientOptions =>
    version === 5 ? { clientId, clean: true, properties: { sessionExpiryInterval: 60 } } : { clientId, clean: false };

  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
  });
  afterAll(async () => {
    await router?.close();
  });
  afterEach(cleanup);

  describe('QoS', () => {
    it(`[MQTT-3.3.4-1] [${version === 5 ? 'MQTT-3.8.4-8' : 'MQTT-3.8.4-6'}] QoS 0, 1 and 2 in both directions: delivered at min(publish QoS, granted QoS), each once`, async () => {
      const t = uid('qos');
      const subscribers: Array<{ granted: number; inbox: Inbox }> = [];
      for (const qos of [0, 1, 2] as const) {
        const { client, inbox } = await open();
        const granted = await client.subscribeAsync(`${t}/#`, { qos });
        expect(granted.map((g) => g.qos)).toEqual([qos]);
        subscribers.push({ granted: qos, inbox });
      }
      const publisher = await connect();
      for (const qos of [0, 1, 2] as const) await publisher.publishAsync(`${t}/p${qos}`, `m${qos}`, { qos });
      await fence(publisher, `${t}/fence`, ...subscribers.map((s) => s.inbox));
      for (const { granted, inbox } of subscribers) {
        const seen = inbox.messages.map((m) => [m.topic, m.payload.toString(), m.qos]);
        expect(seen, `subscription at QoS ${granted}`).toEqual([0, 1, 2].map((p) => [`${t}/p${p}`, `m${p}`, Math.min(p, granted)]));
      }
    });
  });

  describe('offline persistent session', () => {
    it(`${version === 5 ? '[MQTT-3.1.2-5]' : '[MQTT-3.1.2-4] [MQTT-3.1.2-5]'} QoS 1 and 2 messages published while the subscriber is offline are delivered when it reconnects; QoS 0 is not`, async () => {
      const t = uid('offline');
      const clientId = uid('offsub');
      const first = await open(persistent(clientId));
      await first.client.subscribeAsync(`${t}/#`, { qos: 2 });
      await first.client.endAsync();
      await routerSawClose(router, clientId);
      const publisher = await connect();
      await publisher.publishAsync(`${t}/q0`, 'qos 0', { qos: 0 });
      await publisher.publishAsync(`${t}/q1`, 'qos 1', { qos: 1 });
      await publisher.publishAsync(`${t}/q2`, 'qos 2', { qos: 2 });
      const again = await open(version === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 60 } } : { clientId, clean: false });
      // The queue is sent right after CONNACK; a marker published now comes after it.
      await fence(publisher, `${t}/fence`, again.inbox);
      expect(again.inbox.messages.map((m) => [m.payload.toString(), m.qos])).toEqual([
        ['qos 1', 1],
        ['qos 2', 2],
      ]);
    });
  });

  describe('retained messages', () => {
    const retainedIds = version === 5 ? '[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-8]' : '[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.3.1-12]';
    it(`${retainedIds} set, replaced, cleared by an empty payload; sent on subscribe with RETAIN=1`, async () => {
      const t = uid('ret');
      const publisher = await connect();
      await publisher.publishAsync(`${t}/a`, 'v1', { qos: 1, retain: true });
      await publisher.publishAsync(`${t}/b`, 'not kept', { qos: 1, retain: false });

      const first = await open();
      await first.client.subscribeAsync(`${t}/#`, { qos: 1 });
      await fence(publisher, `${t}/fence`, first.inbox);
      expect(first.inbox.messages.map((m) => [m.topic, m.payload.toString(), m.retain, m.qos])).toEqual([[`${t}/a`, 'v1', true, 1]]);

      // Replaced; the live copy to the established subscription has RETAIN=0 [3.1.1: MQTT-3.3.1-9; 5.0: MQTT-3.3.1-12].
      await publisher.publishAsync(`${t}/a`, 'v2', { qos: 1, retain: true });
      await first.inbox.count(2);
      expect(first.inbox.messages[1]).toMatchObject({ topic: `${t}/a`, retain: false });
      expect(first.inbox.messages[1]!.payload.toString()).toBe('v2');

      const second = await open();
      await second.client.subscribeAsync(`${t}/#`, { qos: 0 });
      await fence(publisher, `${t}/fence`, second.inbox);
      expect(second.inbox.messages.map((m) => [m.topic, m.payload.toString(), m.retain, m.qos])).toEqual([[`${t}/a`, 'v2', true, 0]]);

      // An empty retained payload is delivered as usual, and clears the topic.
      await publisher.publishAsync(`${t}/a`, '', { qos: 1, retain: true });
      await first.inbox.count(3);
      expect(first.inbox.messages[2]!.payload.length).toBe(0);
      const third = await open();
      await third.client.subscribeAsync(`${t}/#`, { qos: 1 });
      await fence(publisher, `${t}/fence`, third.inbox);
      expect(third.inbox.messages).toEqual([]);
    });

    it(`live deliveries carry RETAIN=0 [${version === 5 ? 'MQTT-3.3.1-12' : 'MQTT-3.3.1-9'}]`, async () => {
      const t = uid('live');
      const { client, inbox } = await open();
      await client.subscribeAsync(`${t}/#`, { qos: 1 });
      const publisher = await connect();
      await publisher.publishAsync(`${t}/x`, 'retained', { qos: 1, retain: true });
      await publisher.publishAsync(`${t}/x`, 'plain', { qos: 0 });
      await inbox.count(2);
      expect(inbox.messages.map((m) => [m.payload.toString(), m.retain])).toEqual([
        ['retained', false],
        ['plain', false],
      ]);
    });
  });

  describe('topic filters', () => {
    it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] `+` matches one level and `#` any number, including the parent level (`a/#` matches `a`)', async () => {
      const t = uid('wild');
      const plus = await open();
      await plus.client.subscribeAsync(`${t}/+/c`, { qos: 1 });
      const hash = await open();
      await hash.client.subscribeAsync(`${t}/a/#`, { qos: 1 });
      const publisher = await connect();
      for (const topic of [`${t}/a/c`, `${t}/b/c`, `${t}/a`, `${t}/a/b/c`, `${t}/b`, `${t}/ab/c/d`]) {
        await publisher.publishAsync(topic, topic, { qos: 1 });
      }
      await fence(publisher, `${t}/a/fence`, hash.inbox);
      await fence(publisher, `${t}/fence/c`, plus.inbox);
      expect(plus.inbox.messages.map((m) => m.topic)).toEqual([`${t}/a/c`, `${t}/b/c`]);
      expect(hash.inbox.messages.map((m) => m.topic)).toEqual([`${t}/a/c`, `${t}/a`, `${t}/a/b/c`]);
    });

    it('[MQTT-4.7.2-1] a topic starting with `$` is not matched by `#` or `+/x`, but is by `$app/#`', async () => {
      const app = uid('$app');
      const plain = uid('plain');
      // `x` stands for a level no other test publishes to (other tests' retained messages live on this router).
      const x = uid('x');
      const all = await open();
      await all.client.subscribeAsync('#', { qos: 1 });
      const plusX = await open();
      await plusX.client.subscribeAsync(`+/${x}`, { qos: 1 });
      const dollar = await open();
      await dollar.client.subscribeAsync(`${app}/#`, { qos: 1 });
      const publisher = await connect();
      await publisher.publishAsync(`${app}/${x}`, 'dollar', { qos: 1, retain: true });
      await publisher.publishAsync(`${plain}/${x}`, 'plain', { qos: 1 });
      await fence(publisher, `${app}/fence`, dollar.inbox);
      expect(dollar.inbox.texts()).toEqual(['dollar']);
      // `plain/x` was sent after `$app/x`: once it is in, `$app/x` would have been too.
      await all.inbox.until(() => all.inbox.texts().includes('plain'), '# to see plain/x');
      await plusX.inbox.until(() => plusX.inbox.texts().includes('plain'), '+/x to see plain/x');
      expect(all.inbox.messages.filter((m) => m.topic.startsWith('$'))).toEqual([]);
      expect(plusX.inbox.messages.map((m) => m.topic)).toEqual([`${plain}/${x}`]);
      // Nor do the retained `$` messages reach a new `#` subscription.
      const late = await open();
      await late.client.subscribeAsync('#', { qos: 1 });
      await fence(publisher, `${plain}/fence`, late.inbox);
      expect(late.inbox.messages.filter((m) => m.topic.startsWith('$'))).toEqual([]);
    });

    it('[MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4] overlapping subscriptions: one copy at the highest granted QoS (5.0: carrying every subscription identifier)', async () => {
      const t = uid('over');
      const { client, inbox } = await open();
      await client.subscribeAsync(`${t}/#`, { qos: 1, ...(version === 5 ? { properties: { subscriptionIdentifier: 1 } } : {}) });
      await client.subscribeAsync(`${t}/+`, { qos: 2, ...(version === 5 ? { properties: { subscriptionIdentifier: 2 } } : {}) });
      const publisher = await connect();
      await publisher.publishAsync(`${t}/x`, 'both', { qos: 2 });
      await publisher.publishAsync(`${t}/x/y`, 'one', { qos: 2 });
      await publisher.publishAsync(`${t}/x`, 'both at 0', { qos: 0 });
      await fence(publisher, `${t}/x/fence`, inbox);
      expect(inbox.messages.map((m) => [m.payload.toString(), m.qos])).toEqual([
        ['both', 2],
        ['one', 1],
        ['both at 0', 0],
      ]);
      if (version === 5) {
        expect(ids(inbox.messages[0]!.properties)).toEqual([1, 2]);
        expect(ids(inbox.messages[1]!.properties)).toEqual([1]);
        expect(ids(inbox.messages[2]!.properties)).toEqual([1, 2]);
      } else {
        expect(inbox.messages[0]!.properties.subscriptionIdentifier).toBeUndefined();
      }
    });

    it('[MQTT-3.10.4-2] UNSUBSCRIBE stops delivery', async () => {
      const t = uid('unsub');
      const { client, inbox } = await open();
      await client.subscribeAsync([`${t}/data/#`, `${t}/fence`], { qos: 1 });
      const publisher = await connect();
      await publisher.publishAsync(`${t}/data/1`, 'before', { qos: 1 });
      await inbox.count(1);
      await client.unsubscribeAsync(`${t}/data/#`);
      await publisher.publishAsync(`${t}/data/1`, 'after', { qos: 1 });
      await publisher.publishAsync(`${t}/data/2`, 'after', { qos: 0 });
      await fence(publisher, `${t}/fence`, inbox);
      expect(inbox.texts()).toEqual(['before']);
    });
  });

  describe('shared subscriptions (4.8.2)', () => {
    it('messages on `$share/g/jobs/#` are spread round robin over the members: none lost, none twice', async () => {
      const t = uid('share');
      const members = [await open(), await open()];
      for (const { client } of members) await client.subscribeAsync(`$share/g/${t}/jobs/#`, { qos: 1 });
      const publisher = await connect();
      const sent = Array.from({ length: 20 }, (_, i) => `job${i}`);
      for (const job of sent) await publisher.publishAsync(`${t}/jobs/${job}`, job, { qos: 1 });
      await members[0]!.inbox.until(() => members[0]!.inbox.messages.length + members[1]!.inbox.messages.length >= 20, '20 jobs in all');
      const got = members.map((m) => m.inbox.texts());
      expect([...got[0]!, ...got[1]!].sort()).toEqual([...sent].sort());
      // About half each (round robin over two available members gives exactly half).
      for (const list of got) expect(list.length).toBeGreaterThanOrEqual(7);
    });

    it('a member whose connection is gone is skipped: its share goes to the other member', async () => {
      const t = uid('share');
      const stays = await open();
      await stays.client.subscribeAsync([`$share/g/${t}/jobs/#`, `${t}/fence`], { qos: 1 });
      const clientId = uid('leaver');
      const leaver = await open(persistent(clientId));
      await leaver.client.subscribeAsync(`$share/g/${t}/jobs/#`, { qos: 1 });
      await leaver.client.endAsync();
      await routerSawClose(router, clientId);
      const publisher = await connect();
      for (let i = 0; i < 6; i++) await publisher.publishAsync(`${t}/jobs/${i}`, `job${i}`, { qos: 1 });
      await fence(publisher, `${t}/fence`, stays.inbox);
      expect(stays.inbox.texts()).toEqual(['job0', 'job1', 'job2', 'job3', 'job4', 'job5']);
    });

    it('retained messages are not sent to a new shared subscription', async () => {
      const t = uid('share');
      const publisher = await connect();
      await publisher.publishAsync(`${t}/jobs/old`, 'retained', { qos: 1, retain: true });
      const member = await open();
      await member.client.subscribeAsync(`$share/g/${t}/jobs/#`, { qos: 1 });
      await publisher.publishAsync(`${t}/jobs/new`, 'live', { qos: 1 });
      await member.inbox.count(1);
      expect(member.inbox.texts()).toEqual(['live']);
    });
  });

  describe('across to WAMP', () => {
    it('MQTT `a/b/c` is WAMP `a.b.c`: an MQTT publish reaches WAMP exact, prefix and wildcard subscribers', async () => {
      const t = uid('x');
      const wamp = await wampSession(router);
      const exact = await wampSubscribe(wamp, `${t}.b.c`);
      const prefix = await wampSubscribe(wamp, `${t}.b`, 'prefix');
      const wildcard = await wampSubscribe(wamp, `${t}..c`, 'wildcard');
      const publisher = await connect();
      await publisher.publishAsync(`${t}/b/c`, 'hello', { qos: 1 });
      const events = [await wampEvent(wamp), await wampEvent(wamp), await wampEvent(wamp)];
      const bySubscription = new Map(events.map((e) => [e.subscription, e]));
      expect([...bySubscription.keys()].sort()).toEqual([exact, prefix, wildcard].sort());
      for (const event of events) expect(event.args).toEqual(['hello']);
      expect(bySubscription.get(exact)!.details.topic).toBeUndefined();
      expect(bySubscription.get(prefix)!.details.topic).toBe(`${t}.b.c`);
      expect(bySubscription.get(wildcard)!.details.topic).toBe(`${t}.b.c`);
      // A 3.1.1 message (or a 5.0 one without them) brings no MQTT metadata along.
      expect(bySubscription.get(exact)!.details).toEqual({});
    });

    it('a WAMP publish reaches MQTT `+` and `#` subscribers', async () => {
      const t = uid('x');
      const plus = await open();
      await plus.client.subscribeAsync(`${t}/+/c`, { qos: 1 });
      const hash = await open();
      await hash.client.subscribeAsync(`${t}/#`, { qos: 1 });
      const wamp = await wampSession(router);
      await wampPublish(wamp, `${t}.b.c`, ['from wamp']);
      for (const { inbox } of [plus, hash]) {
        await inbox.count(1);
        expect(inbox.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([[`${t}/b/c`, 'from wamp']]);
      }
    });

    it('a topic level that has no spelling on the other side does not cross (WAMP `a.b/c`, MQTT `a/b.c`)', async () => {
      const t = uid('x');
      const mqttSide = await open();
      await mqttSide.client.subscribeAsync(`${t}/#`, { qos: 1 });
      const wamp = await wampSession(router);
      const prefix = await wampSubscribe(wamp, t, 'prefix');
      const wildcard = await wampSubscribe(wamp, `${t}.`, 'wildcard');
      const wampPublisher = await wampSession(router);
      await wampPublish(wampPublisher, `${t}.b/c`, ['slash']);
      await wampPublish(wampPublisher, `${t}.ok`, ['ok']);
      await mqttSide.inbox.count(1);
      expect(mqttSide.inbox.messages.map((m) => m.topic)).toEqual([`${t}/ok`]);

      // The WAMP subscriber got both WAMP publications on both subscriptions (`t.b/c` is a fine WAMP URI).
      const own = [await wampEvent(wamp), await wampEvent(wamp), await wampEvent(wamp), await wampEvent(wamp)];
      expect(own.map((e) => e.details.topic).sort()).toEqual([`${t}.b/c`, `${t}.b/c`, `${t}.ok`, `${t}.ok`].sort());
      const publisher = await connect();
      await publisher.publishAsync(`${t}/b.c`, 'dot', { qos: 1 });
      await publisher.publishAsync(`${t}/fine`, 'fine', { qos: 1 });
      const events = [await wampEvent(wamp), await wampEvent(wamp)];
      expect(events.map((e) => [e.subscription, e.details.topic, e.args]).sort()).toEqual(
        [
          [prefix, `${t}.fine`, ['fine']],
          [wildcard, `${t}.fine`, ['fine']],
        ].sort(),
      );
    });

    describe.each(['json', 'cbor'] as const)('WAMP %s', (serialization) => {
      it('payload MQTT -> WAMP: JSON is args=[value], the envelope is args/kwargs, text is a string, other bytes are bytes', async () => {
        const t = uid('pl');
        const wamp = await wampSession(router, serialization);
        await wampSubscribe(wamp, `${t}.in`);
        const publisher = await connect();
        const cases: Array<[string | Buffer, unknown[] | undefined, Props | undefined]> = [
          ['{"a": [1, {"b": null}]}', [{ a: [1, { b: null }] }], undefined],
          ['42', [42], undefined],
          ['"quoted"', ['quoted'], undefined],
          ['hello, wörld', ['hello, wörld'], undefined],
          ['{"args":[1,"two"],"kwargs":{"k":true}}', [1, 'two'], { k: true }],
          ['{"kwargs":{"only":1}}', [], { only: 1 }],
          ['{"args":[1],"extra":2}', [{ args: [1], extra: 2 }], undefined],
          ['', [''], undefined],
        ];
        for (const [payload, args, kwargs] of cases) {
          await publisher.publishAsync(`${t}/in`, payload, { qos: 1 });
          const event = await wampEvent(wamp);
          expect([event.args, event.kwargs], `payload ${JSON.stringify(payload.toString())}`).toEqual([args, kwargs]);
        }
        await publisher.publishAsync(`${t}/in`, BINARY, { qos: 1 });
        const event = await wampEvent(wamp);
        expect(event.args).toHaveLength(1);
        if (serialization === 'json') expect(event.args![0]).toBe(`\u0000${BINARY.toString('base64')}`);
        else expect(bytesOf(event.args![0]).equals(BINARY)).toBe(true);
        expect(event.kwargs).toBeUndefined();
      });

      it('payload WAMP -> MQTT: one argument is sent as itself, anything else as the envelope', async () => {
        const t = uid('pl');
        const { client, inbox } = await open();
        await client.subscribeAsync(`${t}/out`, { qos: 1 });
        const wamp = await wampSession(router, serialization);
        const binary = serialization === 'json' ? `\u0000${BINARY.toString('base64')}` : BINARY;
        const cases: Array<[unknown[] | undefined, Props | undefined, string | Buffer]> = [
          [['text'], undefined, 'text'],
          [['x'], {}, 'x'],
          [[{ a: 1 }], undefined, '{"a":1}'],
          [[42], undefined, '42'],
          [[null], undefined, 'null'],
          [[1, 'two'], undefined, '{"args":[1,"two"]}'],
          [[1], { k: true }, '{"args":[1],"kwargs":{"k":true}}'],
          [[], { k: 1 }, '{"args":[],"kwargs":{"k":1}}'],
          [[{ args: [1] }], undefined, '{"args":[{"args":[1]}]}'],
          [undefined, undefined, '{"args":[]}'],
          [[binary], undefined, BINARY],
        ];
        for (const [args, kwargs, expected] of cases) await wampPublish(wamp, `${t}.out`, args, kwargs);
        await inbox.count(cases.length);
        cases.forEach(([args, kwargs, expected], i) => {
          const got = inbox.messages[i]!.payload;
          const what = `args ${JSON.stringify(args)} kwargs ${JSON.stringify(kwargs)}`;
          if (Buffer.isBuffer(expected)) expect(got.equals(expected), what).toBe(true);
          else if (expected.startsWith('{')) expect(JSON.parse(got.toString()), what).toEqual(JSON.parse(expected));
          else expect(got.toString(), what).toBe(expected);
        });
      });

      it('round trip MQTT -> WAMP -> MQTT keeps JSON values, text and bytes', async () => {
        const t = uid('rt');
        const { client, inbox } = await open();
        await client.subscribeAsync(`${t}/back`, { qos: 1 });
        const echo = await wampSession(router, serialization);
        await wampSubscribe(echo, `${t}.there`);
        const publisher = await connect();
        // [sent, what comes back]: JSON text comes back re-serialized (README, "Payloads").
        const cases: Array<[string | Buffer, string | Buffer]> = [
          ['{"a": [1, {"b": null}], "c": "d"}', '{"a":[1,{"b":null}],"c":"d"}'],
          ['[1, "x", false]', '[1,"x",false]'],
          ['42', '42'],
          ['null', 'null'],
          ['{"args":[1,"two"],"kwargs":{"k":true}}', '{"args":[1,"two"],"kwargs":{"k":true}}'],
          ['hello, wörld', 'hello, wörld'],
          ['"hello"', 'hello'],
          [BINARY, BINARY],
        ];
        for (const [sent, expected] of cases) {
          const before = inbox.messages.length;
          await publisher.publishAsync(`${t}/there`, sent, { qos: 1 });
          // The WAMP client republishes exactly what it received.
          const event = await wampEvent(echo);
          await wampPublish(echo, `${t}.back`, event.args, event.kwargs);
          await inbox.count(before + 1);
          const got = inbox.messages[before]!.payload;
          expect(got.equals(Buffer.isBuffer(expected) ? expected : Buffer.from(expected)), `${JSON.stringify(sent.toString())} came back as ${JSON.stringify(got.toString())}`).toBe(true);
        }
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Raw client over TCP: exact packets

describe.each([4, 5] as const)('MQTT %s, raw packets over TCP', (version) => {
  let router: TestRouter;

  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
  });
  afterAll(async () => {
    await router?.close();
  });
  afterEach(cleanup);

  it('[MQTT-4.3.3-10] [MQTT-4.3.3-11] [MQTT-4.3.3-12] QoS 2 from a client: a resent PUBLISH before PUBREL gets PUBREC again and is delivered once', async () => {
    const t = uid('q2');
    const { client, inbox } = await openWithInbox(urlOf(router, 'tcp'), version);
    await client.subscribeAsync(`${t}/#`, { qos: 2 });
    const raw = await rawConnect(router, version, uid('q2pub'));
    const publish = { cmd: 'publish', topic: `${t}/x`, payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false };
    raw.send({ ...publish, dup: false });
    expect((await rawNext(raw, 'pubrec')).messageId).toBe(7);
    raw.send({ ...publish, dup: true });
    expect((await rawNext(raw, 'pubrec')).messageId).toBe(7);
    raw.send({ cmd: 'pubrel', messageId: 7 });
    const pubcomp = await rawNext(raw, 'pubcomp');
    expect([pubcomp.messageId, pubcomp.reasonCode ?? 0]).toEqual([7, 0]);

    // After PUBCOMP the same id is a new message.
    raw.send({ ...publish, payload: Buffer.from('again'), dup: false });
    expect((await rawNext(raw, 'pubrec')).messageId).toBe(7);
    raw.send({ cmd: 'pubrel', messageId: 7 });
    await rawNext(raw, 'pubcomp');
    raw.send({ cmd: 'publish', topic: `${t}/fence`, payload: Buffer.from(`${FENCE}q2`), qos: 0, retain: false, dup: false });
    await inbox.until((all) => all.some((m) => m.topic === `${t}/fence`), 'fence');
    expect(inbox.texts()).toEqual(['once', 'again']);
    expect(inbox.messages.every((m) => m.qos === 2)).toBe(true);
  });

  it(`[MQTT-4.3.3-3] [MQTT-4.3.3-5] QoS 2 to a client: PUBLISH, PUBREC -> PUBREL, PUBCOMP${version === 5 ? '; with Receive Maximum 1 only PUBCOMP frees the slot [MQTT-3.3.4-9]' : ''}`, async () => {
    const t = uid('q2out');
    const raw = await rawConnect(router, version, uid('q2sub'), version === 5 ? { receiveMaximum: 1 } : undefined);
    expect(await rawSubscribe(raw, [{ topic: `${t}/#`, qos: 2 }])).toEqual([2]);
    const publisher = await connectClient(urlOf(router, 'tcp'), version);
    await publisher.publishAsync(`${t}/m`, 'first', { qos: 2 });
    await publisher.publishAsync(`${t}/m`, 'second', { qos: 2 });
    const first = await rawNext(raw, 'publish');
    expect([first.payload.toString(), first.qos, first.dup]).toEqual(['first', 2, false]);
    let second: Packet & Props;
    if (version === 4) {
      second = await rawNext(raw, 'publish');
      expect(second.messageId).not.toBe(first.messageId);
    }
    raw.send({ cmd: 'pubrec', messageId: first.messageId });
    expect((await rawNext(raw, 'pubrel')).messageId).toBe(first.messageId);
    if (version === 5) {
      // PUBREC does not free the slot: a QoS 0 marker overtakes the held second message.
      await publisher.publishAsync(`${t}/fence`, 'fence', { qos: 0 });
      expect((await rawNext(raw, 'publish')).payload.toString()).toBe('fence');
    }
    raw.send({ cmd: 'pubcomp', messageId: first.messageId });
    if (version === 5) second = await rawNext(raw, 'publish');
    expect([second!.payload.toString(), second!.qos]).toEqual(['second', 2]);
    raw.send({ cmd: 'pubrec', messageId: second!.messageId });
    expect((await rawNext(raw, 'pubrel')).messageId).toBe(second!.messageId);
    raw.send({ cmd: 'pubcomp', messageId: second!.messageId });
    // Nothing is resent once complete: the next packet is the next message.
    await publisher.publishAsync(`${t}/fence`, 'end', { qos: 0 });
    expect((await rawNext(raw, 'publish')).payload.toString()).toBe('end');
  });

  it(`a PUBREL for an unknown packet id gets PUBCOMP${version === 5 ? ' with 0x92 (Packet Identifier not found)' : ''}`, async () => {
    const raw = await rawConnect(router, version, uid('relunknown'));
    raw.send({ cmd: 'pubrel', messageId: 99 });
    const pubcomp = await rawNext(raw, 'pubcomp');
    expect(pubcomp.messageId).toBe(99);
    if (version === 5) expect(pubcomp.reasonCode).toBe(0x92);
  });

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] an invalid filter fails alone in SUBACK while the others in the same SUBSCRIBE are granted', async () => {
    const t = uid('bad');
    const raw = await rawConnect(router, version, uid('badsub'));
    const granted = await rawSubscribe(raw, [
      { topic: `${t}/#/b`, qos: 1 },
      { topic: `${t}/ok`, qos: 1 },
      { topic: `${t}+`, qos: 0 },
      { topic: `${t}/a#`, qos: 2 },
      { topic: `${t}/+/c`, qos: 2 },
    ]);
    const failure = version === 5 ? 0x8f : 0x80;
    expect(granted).toEqual([failure, 1, failure, failure, 2]);
    const publisher = await connectClient(urlOf(router, 'tcp'), version);
    await publisher.publishAsync(`${t}/ok`, 'granted', { qos: 1 });
    const publish = await rawNext(raw, 'publish');
    expect([publish.topic, publish.payload.toString(), publish.qos]).toEqual([`${t}/ok`, 'granted', 1]);
  });

  it('[MQTT-2.2.1-4] [MQTT-3.3.4-9] QoS 1 deliveries use packet ids in 1..65535, distinct while unacknowledged; a window of mqtt.maxInflight=3', async () => {
    const small = await startTestRouter({ mqtt: { maxInflight: 3 } }, { tcp: true });
    try {
      const t = uid('pid');
      const raw = await rawConnect(small, version, uid('pidsub'));
      expect(await rawSubscribe(raw, [{ topic: `${t}/#`, qos: 1 }])).toEqual([1]);
      const publisher = await connectClient(urlOf(small, 'tcp'), version);
      for (let i = 0; i < 8; i++) await publisher.publishAsync(`${t}/m`, `m${i}`, { qos: 1 });
      // QoS 0 is never held back by the window: once it is in, the router has sent all it will send for now.
      await publisher.publishAsync(`${t}/fence`, 'fence', { qos: 0 });
      const unacked = new Map<number, string>();
      const order: string[] = [];
      const take = async () => {
        const publish = await rawNext(raw, 'publish');
        if (publish.qos === 0) return 'fence';
        const id = publish.messageId as number;
        expect(id).toBeGreaterThanOrEqual(1);
        expect(id).toBeLessThanOrEqual(65535);
        expect(unacked.has(id), `packet id ${id} is still unacknowledged`).toBe(false);
        unacked.set(id, publish.payload.toString());
        order.push(publish.payload.toString());
        return 'publish';
      };
      for (let i = 0; i < 3; i++) expect(await take()).toBe('publish');
      expect(await take()).toBe('fence');
      expect(order).toEqual(['m0', 'm1', 'm2']);
      // Nothing more until a PUBACK: the fence was the last packet in.
      expect(raw.packets.length).toBe(1 + 1 + 4);
      // Each PUBACK lets exactly one more in.
      while (order.length < 8) {
        const [oldest] = unacked.keys();
        unacked.delete(oldest!);
        raw.send({ cmd: 'puback', messageId: oldest });
        expect(await take()).toBe('publish');
        expect(unacked.size).toBe(3);
      }
      expect(order).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    } finally {
      await cleanup();
      await small.close();
    }
  });

  if (version === 5) {
    it('[MQTT-3.3.4-9] Receive Maximum, router to client: a client announcing 2 has at most 2 QoS 1 messages in flight', async () => {
      const t = uid('rm');
      const raw = await rawConnect(router, 5, uid('rmsub'), { receiveMaximum: 2 });
      await rawSubscribe(raw, [{ topic: `${t}/#`, qos: 1 }]);
      const publisher = await connectClient(urlOf(router, 'tcp'), 5);
      for (let i = 0; i < 4; i++) await publisher.publishAsync(`${t}/m`, `m${i}`, { qos: 1 });
      await publisher.publishAsync(`${t}/fence`, 'fence', { qos: 0 });
      const first = [await rawNext(raw, 'publish'), await rawNext(raw, 'publish'), await rawNext(raw, 'publish')];
      expect(first.map((p) => [p.payload.toString(), p.qos])).toEqual([
        ['m0', 1],
        ['m1', 1],
        ['fence', 0],
      ]);
      raw.send({ cmd: 'puback', messageId: first[0]!.messageId });
      const third = await rawNext(raw, 'publish');
      expect(third.payload.toString()).toBe('m2');
      expect(third.messageId).not.toBe(first[1]!.messageId);
    });

    it('[MQTT-3.3.4-7] a client past the router\'s Receive Maximum (mqtt.maxInflight=2, three QoS 2 PUBLISH without PUBREL) gets DISCONNECT 0x93', async () => {
      const small = await startTestRouter({ mqtt: { maxInflight: 2 } }, { tcp: true });
      try {
        const raw = await RawMqtt.connect(small.mqttPort!, 5);
        raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: uid('rmx'), clean: true, keepalive: 0 });
        const connack = await rawNext(raw, 'connack');
        expect(connack.properties?.receiveMaximum).toBe(2);
        for (const id of [1, 2, 3]) {
          raw.send({ cmd: 'publish', topic: 'rmx/t', payload: Buffer.from(`m${id}`), qos: 2, messageId: id, retain: false, dup: false });
        }
        expect((await rawNext(raw, 'pubrec')).messageId).toBe(1);
        expect((await rawNext(raw, 'pubrec')).messageId).toBe(2);
        expect((await rawNext(raw, 'disconnect')).reasonCode).toBe(0x93);
        expect(await raw.waitClosed()).toBe(true);
      } finally {
        await cleanup();
        await small.close();
      }
    });

    it('[MQTT-3.2.2-17] [MQTT-3.3.2-9] a topic alias above the announced Topic Alias Maximum gets DISCONNECT 0x94', async () => {
      const raw = await RawMqtt.connect(router.mqttPort!, 5);
      raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: uid('alias'), clean: true, keepalive: 0 });
      const connack = await rawNext(raw, 'connack');
      const maximum = connack.properties?.topicAliasMaximum as number;
      expect(maximum).toBeGreaterThan(0);
      raw.send({ cmd: 'publish', topic: 'alias/ok', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: maximum } });
      await rawNext(raw, 'puback');
      raw.send({ cmd: 'publish', topic: 'alias/x', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: maximum + 1 } });
      expect((await rawNext(raw, 'disconnect')).reasonCode).toBe(0x94);
      expect(await raw.waitClosed()).toBe(true);
    });

    it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] an oversized message queued behind the Receive Maximum window is discarded and the next one still comes', async () => {
      const t = uid('mps');
      const raw = await rawConnect(router, 5, uid('mpsq'), { receiveMaximum: 1, maximumPacketSize: 100 });
      await rawSubscribe(raw, [{ topic: `${t}/#`, qos: 1 }]);
      const publisher = await connectClient(urlOf(router, 'tcp'), 5);
      await publisher.publishAsync(`${t}/m`, 'small 1', { qos: 1 });
      await publisher.publishAsync(`${t}/m`, 'x'.repeat(300), { qos: 1 });
      await publisher.publishAsync(`${t}/m`, 'small 2', { qos: 1 });
      const first = await rawNext(raw, 'publish');
      expect(first.payload.toString()).toBe('small 1');
      raw.send({ cmd: 'puback', messageId: first.messageId });
      const next = (await raw.next()) as Packet & Props;
      expect(next.cmd, `the router answered the PUBACK with ${JSON.stringify({ ...next, payload: undefined })}`).toBe('publish');
      expect(next.payload.toString()).toBe('small 2');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// MQTT 5.0 only

describe.each(['ws', 'tcp'] as const)('MQTT 5.0 over %s', (transport) => {
  let router: TestRouter;
  const url = () => urlOf(router, transport);
  const connect = (options: IClientOptions = {}) => connectClient(url(), 5, options);
  const open = (options: IClientOptions = {}) => openWithInbox(url(), 5, options);

  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
  });
  afterAll(async () => {
    await router?.close();
  });
  afterEach(cleanup);

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] message properties pass through unchanged', async () => {
    const t = uid('props');
    const { client, inbox } = await open();
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    const properties = {
      payloadFormatIndicator: true,
      contentType: 'application/json; charset=utf-8',
      responseTopic: `${t}/reply/ünïcode`,
      correlationData: Buffer.from([0, 1, 2, 0xff]),
      userProperties: { a: '1', b: ['x', 'y'], 'ü ': 'ß' },
    };
    await publisher.publishAsync(`${t}/x`, '{"v":1}', { qos: 1, properties });
    await publisher.publishAsync(`${t}/plain`, 'plain', { qos: 1 });
    await inbox.count(2);
    const got = inbox.messages[0]!.properties;
    expect(got.payloadFormatIndicator).toBe(true);
    expect(got.contentType).toBe(properties.contentType);
    expect(got.responseTopic).toBe(properties.responseTopic);
    expect(Buffer.from(got.correlationData).equals(properties.correlationData)).toBe(true);
    expect(got.userProperties).toEqual(properties.userProperties);
    expect(got.messageExpiryInterval).toBeUndefined();
    expect(inbox.messages[1]!.properties).toEqual({});
  });

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] Message Expiry Interval counts down while queued, and an expired message is not delivered', async () => {
    const t = uid('exp');
    const clientId = uid('expsub');
    const session = { clientId, properties: { sessionExpiryInterval: 60 } };
    const first = await open({ ...session, clean: true });
    await first.client.subscribeAsync(`${t}/#`, { qos: 1 });
    await first.client.endAsync();
    await routerSawClose(router, clientId);
    const publisher = await connect();
    await publisher.publishAsync(`${t}/short`, 'expires after 1 s', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await publisher.publishAsync(`${t}/long`, 'expires after 3 s', { qos: 1, properties: { messageExpiryInterval: 3 } });
    await publisher.publishAsync(`${t}/live`, 'expires after 60 s', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await sleep(1300);
    const again = await open({ ...session, clean: false });
    // The queue is sent right after CONNACK; a marker published now comes after it.
    await fence(publisher, `${t}/fence`, again.inbox);
    expect(again.inbox.messages.map((m) => m.topic)).toEqual([`${t}/long`, `${t}/live`]);
    const long = again.inbox.messages[0]!.properties.messageExpiryInterval as number;
    expect(long).toBeGreaterThanOrEqual(1);
    expect(long).toBeLessThanOrEqual(2);
    expect(again.inbox.messages[1]!.properties.messageExpiryInterval).toBeLessThanOrEqual(59);
  });

  it('[MQTT-3.3.2-12] topic alias, client to router: set with a topic, then used with an empty topic', async () => {
    const t = uid('alias');
    const { client, inbox } = await open();
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    await publisher.publishAsync(`${t}/aliased`, 'one', { qos: 1, properties: { topicAlias: 1 } });
    await publisher.publishAsync('', 'two', { qos: 1, properties: { topicAlias: 1 } });
    await publisher.publishAsync(`${t}/other`, 'three', { qos: 1, properties: { topicAlias: 1 } });
    await publisher.publishAsync('', 'four', { qos: 1, properties: { topicAlias: 1 } });
    await inbox.count(4);
    expect(inbox.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([
      [`${t}/aliased`, 'one'],
      [`${t}/aliased`, 'two'],
      [`${t}/other`, 'three'],
      [`${t}/other`, 'four'],
    ]);
  });

  it('[MQTT-3.3.2-11] topic alias, router to client: within the client\'s Topic Alias Maximum, the second delivery on a topic uses the alias', async () => {
    const t = uid('alias');
    const { client, inbox } = await open({ properties: { topicAliasMaximum: 5 } });
    const wire: Array<{ topic: string; alias: number | undefined }> = [];
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') wire.push({ topic: packet.topic, alias: (packet as IPublishPacket).properties?.topicAlias });
    });
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    await publisher.publishAsync(`${t}/a`, 'a1', { qos: 1 });
    await publisher.publishAsync(`${t}/a`, 'a2', { qos: 0 });
    await publisher.publishAsync(`${t}/b`, 'b1', { qos: 1 });
    await publisher.publishAsync(`${t}/a`, 'a3', { qos: 1 });
    await inbox.count(4);
    expect(inbox.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([
      [`${t}/a`, 'a1'],
      [`${t}/a`, 'a2'],
      [`${t}/b`, 'b1'],
      [`${t}/a`, 'a3'],
    ]);
    const [a1, a2, b1, a3] = wire;
    expect(a1!.topic).toBe(`${t}/a`);
    expect(a1!.alias).toBeGreaterThanOrEqual(1);
    expect(a1!.alias).toBeLessThanOrEqual(5);
    expect(a2).toEqual({ topic: '', alias: a1!.alias });
    expect(b1!.alias).not.toBe(a1!.alias);
    expect(a3).toEqual({ topic: '', alias: a1!.alias });
  });

  it('[MQTT-3.3.2-11] a client without a Topic Alias Maximum never gets an alias', async () => {
    const t = uid('alias');
    const { client, inbox } = await open();
    const aliases: unknown[] = [];
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') aliases.push((packet as IPublishPacket).properties?.topicAlias);
    });
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    for (let i = 0; i < 3; i++) await publisher.publishAsync(`${t}/a`, `a${i}`, { qos: 1 });
    await inbox.count(3);
    expect(aliases).toEqual([undefined, undefined, undefined]);
  });

  it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] a client with Maximum Packet Size 100 never receives a larger PUBLISH; a small one after it still arrives', async () => {
    const t = uid('mps');
    const { client, inbox } = await open({ properties: { maximumPacketSize: 100 } });
    const sizes: number[] = [];
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') sizes.push((packet as IPublishPacket & { length: number }).length);
    });
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    await publisher.publishAsync(`${t}/big`, 'x'.repeat(200), { qos: 1 });
    await publisher.publishAsync(`${t}/big`, 'y'.repeat(200), { qos: 0 });
    await publisher.publishAsync(`${t}/small`, 'small', { qos: 1 });
    await publisher.publishAsync(`${t}/big`, 'z'.repeat(200), { qos: 2 });
    await publisher.publishAsync(`${t}/small`, 'small 2', { qos: 2 });
    await inbox.count(2);
    expect(inbox.texts()).toEqual(['small', 'small 2']);
  });

  it('[MQTT-3.1.2-25] [3.3.2.3.4] a discarded oversized PUBLISH leaves no topic alias the client never saw', async () => {
    const t = uid('mpsalias');
    const { client, inbox } = await open({ properties: { maximumPacketSize: 100, topicAliasMaximum: 5 } });
    const wire: Array<{ topic: string; alias: number | undefined }> = [];
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') wire.push({ topic: packet.topic, alias: (packet as IPublishPacket).properties?.topicAlias });
    });
    const failed = new Promise<string>((resolve) => {
      client.on('error', (error) => resolve(`client error: ${error.message}`));
      client.on('close', () => resolve('connection closed'));
    });
    await client.subscribeAsync(`${t}/#`, { qos: 1 });
    const publisher = await connect();
    await publisher.publishAsync(`${t}/a`, 'x'.repeat(200), { qos: 1 });
    await publisher.publishAsync(`${t}/a`, 'small', { qos: 1 });
    const outcome = await Promise.race([inbox.count(1, 'the small message on the same topic').then(() => 'received'), failed]);
    expect(outcome, `first PUBLISH on the wire: ${JSON.stringify(wire[0])}`).toBe('received');
    expect(wire[0]!.topic).toBe(`${t}/a`);
    expect(inbox.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([[`${t}/a`, 'small']]);
  });

  it('[MQTT-3.8.3-3] No Local: the subscriber does not get its own publications; others do', async () => {
    const t = uid('nl');
    const self = await open();
    await self.client.subscribeAsync(`${t}/data`, { qos: 1, nl: true });
    await self.client.subscribeAsync(`${t}/fence`, { qos: 1 });
    const other = await open();
    await other.client.subscribeAsync(`${t}/#`, { qos: 1, nl: true });
    await self.client.publishAsync(`${t}/data`, 'own', { qos: 1 });
    await fence(self.client, `${t}/fence`, self.inbox, other.inbox);
    expect(self.inbox.texts()).toEqual([]);
    expect(other.inbox.texts()).toEqual(['own']);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps RETAIN on live deliveries', async () => {
    const t = uid('rap');
    const rap = await open();
    await rap.client.subscribeAsync(`${t}/#`, { qos: 1, rap: true });
    const plain = await open();
    await plain.client.subscribeAsync(`${t}/#`, { qos: 1, rap: false });
    const publisher = await connect();
    await publisher.publishAsync(`${t}/x`, 'retained', { qos: 1, retain: true });
    await publisher.publishAsync(`${t}/x`, 'not', { qos: 1, retain: false });
    await rap.inbox.count(2);
    await plain.inbox.count(2);
    expect(rap.inbox.messages.map((m) => m.retain)).toEqual([true, false]);
    expect(plain.inbox.messages.map((m) => m.retain)).toEqual([false, false]);
  });

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 sends on every subscribe, 1 only for a new subscription, 2 never', async () => {
    const t = uid('rh');
    const publisher = await connect();
    await publisher.publishAsync(`${t}/x`, 'kept', { qos: 1, retain: true });
    const retainedCount = async (inbox: Inbox) => {
      await fence(publisher, `${t}/fence`, inbox);
      return inbox.messages.filter((m) => m.retain).length;
    };
    const counts: Record<number, number[]> = {};
    for (const rh of [0, 1, 2] as const) {
      const { client, inbox } = await open();
      await client.subscribeAsync(`${t}/#`, { qos: 1, rh });
      const afterFirst = await retainedCount(inbox);
      const granted = await client.subscribeAsync({ [`${t}/#`]: { qos: 1, rh }, resubscribe: true } as never);
      expect(granted.map((g) => g.qos), 'the resubscription was sent').toEqual([1]);
      const afterSecond = await retainedCount(inbox);
      counts[rh] = [afterFirst, afterSecond];
    }
    expect(counts).toEqual({ 0: [1, 2], 1: [1, 1], 2: [0, 0] });
  });

  it('[MQTT-3.3.4-3] Subscription Identifiers come with live and retained deliveries of that subscription only', async () => {
    const t = uid('sid');
    const publisher = await connect();
    await publisher.publishAsync(`${t}/a/r`, 'retained', { qos: 1, retain: true });
    const { client, inbox } = await open();
    await client.subscribeAsync(`${t}/a/#`, { qos: 1, properties: { subscriptionIdentifier: 268435455 } });
    await client.subscribeAsync(`${t}/b/#`, { qos: 1 });
    await inbox.count(1);
    await publisher.publishAsync(`${t}/a/x`, 'a', { qos: 1 });
    await publisher.publishAsync(`${t}/b/x`, 'b', { qos: 1 });
    await inbox.count(3);
    expect(inbox.messages.map((m) => [m.payload.toString(), ids(m.properties)])).toEqual([
      ['retained', [268435455]],
      ['a', [268435455]],
      ['b', []],
    ]);
  });

  it('[MQTT-3.11.3-1] UNSUBACK has one reason code per filter: 0x00, or 0x11 for a filter never subscribed', async () => {
    const t = uid('unsuback');
    const { client } = await open();
    await client.subscribeAsync(`${t}/a`, { qos: 1 });
    const unsuback = (await client.unsubscribeAsync([`${t}/a`, `${t}/never`, `${t}/a`])) as Props | undefined;
    expect(unsuback?.cmd).toBe('unsuback');
    expect(unsuback?.granted ?? unsuback?.reasonCode).toEqual([0x00, 0x11, 0x11]);
  });

  it('MQTT 5.0 Content Type and User Properties appear in the WAMP EVENT details as content_type and user_properties', async () => {
    const t = uid('md');
    const wamp = await wampSession(router);
    const exact = await wampSubscribe(wamp, `${t}.x`);
    const publisher = await connect();
    await publisher.publishAsync(`${t}/x`, '{"v":1}', {
      qos: 1,
      properties: { contentType: 'application/json', userProperties: { a: '1', b: ['x', 'y'] } },
    });
    const event = await wampEvent(wamp);
    expect(event.subscription).toBe(exact);
    expect(event.details).toEqual({ content_type: 'application/json', user_properties: { a: '1', b: ['x', 'y'] } });
    expect(event.args).toEqual([{ v: 1 }]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// $SYS

describe('$SYS/broker topics (mqtt.sysInterval 1)', () => {
  let router: TestRouter;

  beforeAll(async () => {
    router = await startTestRouter({ mqtt: { sysInterval: 1 } }, { tcp: true });
  });
  afterAll(async () => {
    await router?.close();
  });
  afterEach(cleanup);

  const TOPICS = [
    '$SYS/broker/uptime',
    '$SYS/broker/clients/connected',
    '$SYS/broker/messages/received',
    '$SYS/broker/messages/sent',
    '$SYS/broker/bytes/received',
    '$SYS/broker/bytes/sent',
    '$SYS/broker/load/messages/received/persecond',
    '$SYS/broker/load/messages/sent/persecond',
    '$SYS/broker/load/bytes/received/persecond',
    '$SYS/broker/load/bytes/sent/persecond',
  ];

  it.each([
    [4, 'ws'],
    [5, 'tcp'],
  ] as const)('MQTT %s over %s: `$SYS/broker/#` yields the retained counters as decimal numbers; `#` does not see them [MQTT-4.7.2-1]', async (version, transport) => {
    const all = await openWithInbox(urlOf(router, transport), version);
    await all.client.subscribeAsync('#', { qos: 0 });
    const sys = await openWithInbox(urlOf(router, transport), version);
    await sys.client.subscribeAsync('$SYS/broker/#', { qos: 0 });
    const complete = (from: number) => () => TOPICS.every((topic) => sys.inbox.all.slice(from).some((m) => m.topic === topic));
    await sys.inbox.until(complete(0), 'every $SYS/broker topic', 4000);
    // A later round, sent live while `#` was subscribed.
    const mark = sys.inbox.all.length;
    await sys.inbox.until(complete(mark), 'a second round of $SYS/broker topics', 4000);
    expect([...new Set(sys.inbox.all.map((m) => m.topic))].sort()).toEqual([...TOPICS].sort());
    for (const message of sys.inbox.all) {
      const text = message.payload.toString();
      expect(text, message.topic).toMatch(/^\d+$/);
      expect(Number.isFinite(Number(text))).toBe(true);
    }
    const connected = sys.inbox.all.filter((m) => m.topic === '$SYS/broker/clients/connected').at(-1)!;
    expect(Number(connected.payload.toString())).toBeGreaterThanOrEqual(2);
    expect(all.inbox.all.filter((m) => m.topic.startsWith('$'))).toEqual([]);

    // A new subscriber gets the retained values at once, with RETAIN set.
    const late = await openWithInbox(urlOf(router, transport), version);
    await late.client.subscribeAsync('$SYS/broker/#', { qos: 0 });
    await late.inbox.until(() => TOPICS.every((topic) => late.inbox.all.some((m) => m.topic === topic && m.retain)), 'retained $SYS topics');
  });
});
