/**
 * MQTT sessions, black-box, over the matrix protocol version (3.1.1, 5.0) x transport (WebSocket, TCP): CONNECT
 * checks, client identifiers, takeover, keepalive, persistent sessions and their queues, in-flight resends,
 * session expiry, wills, JWT login, limits and bad input. Clients are mqtt.js, or raw clients (the RawMqtt
 * helper, over TCP or WebSocket) where exact packets matter. Test names carry the spec clause ids: MQTT
 * 3.1.1 (OASIS Standard, 2014) and MQTT 5.0 (OASIS Standard, 2019).
 *
 * Every suite is concurrent (the timing tests wait seconds): each test opens its clients in a scope of its own,
 * with its own client ids and topics, and closes them when it ends. Each suite ends with a sequential check that
 * its router still serves.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endAll, RawMqtt, urlOf, type Transport, type Version } from '../helpers/mqtt.js';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

// ---------------------------------------------------------------------------------------------------------------
// Clients

interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

interface Dialed {
  client: MqttClient;
  connack: IConnackPacket;
  /** Every PUBLISH the client received, from the moment it was created. */
  messages: Received[];
  /** DISCONNECT packets from the router (MQTT 5). */
  disconnects: IDisconnectPacket[];
  /** Resolves when the network connection is gone. */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** What a test opened, closed after it. Tests run concurrently, each in its own scope. */
class Scope {
  readonly clients: MqttClient[] = [];
  readonly wires: RawMqtt[] = [];
  readonly routers: TestRouter[] = [];
  async close(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
    for (const w of this.wires.splice(0)) w.destroy();
    await Promise.all(this.routers.splice(0).map((router) => router.close()));
  }
}
const scopes = new AsyncLocalStorage<Scope>();

function scope(): Scope {
  const current = scopes.getStore();
  if (current === undefined) throw new Error('clients are opened inside test() bodies only');
  return current;
}

/** Runs a test body in a scope of its own, closed when it ends; tests run concurrently. */
async function isolated(body: () => Promise<void>): Promise<void> {
  const own = new Scope();
  try {
    await scopes.run(own, body);
  } finally {
    await own.close();
  }
}

function test(name: string, body: () => Promise<void>): void {
  it(name, () => isolated(body));
}

/** A test that starts once every test before it in its suite has finished (the suite's other tests are concurrent). */
function lastTest(name: string, body: () => Promise<void>): void {
  it.sequential(name, () => isolated(body));
}

function eachTest<Row extends unknown[]>(rows: Row[], name: string, body: (...row: Row) => Promise<void>): void {
  it.each(rows)(name, (...row: unknown[]) => isolated(() => body(...(row as Row))));
}

// RawMqtt instances are destroyed with their scope; endAll also forgets them.
afterAll(() => endAll());

function create(url: string, version: Version, options: IClientOptions) {
  const client = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  scope().clients.push(client);
  const messages: Received[] = [];
  const disconnects: IDisconnectPacket[] = [];
  let connack: IConnackPacket | undefined;
  let isClosed = false;
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), packet }));
  client.on('disconnect', (packet) => disconnects.push(packet));
  client.on('packetreceive', (packet) => {
    if (packet.cmd === 'connack' && connack === undefined) connack = packet;
  });
  client.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    client.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  return { client, messages, disconnects, closed, isClosed: () => isClosed, connack: () => connack };
}

/** Connects an mqtt.js client and waits for a successful CONNACK. */
async function dial(url: string, version: Version, options: IClientOptions = {}): Promise<Dialed> {
  const made = create(url, version, options);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    made.client.once('connect', (packet) => resolve(packet));
    made.client.once('error', (error) => reject(error));
    void made.closed.then(() => reject(new Error('closed before CONNACK')));
  });
  return { ...made, connack };
}

/** Connects an mqtt.js client that the router is expected to refuse; returns the CONNACK and waits for the close. */
async function refused(url: string, version: Version, options: IClientOptions = {}): Promise<IConnackPacket> {
  const made = create(url, version, options);
  const outcome = await Promise.race([
    new Promise<'connected'>((resolve) => made.client.once('connect', () => resolve('connected'))),
    made.closed.then(() => 'closed' as const),
    sleep(5000).then(() => 'timeout' as const),
  ]);
  expect(outcome, 'the router admitted a client it should have refused').toBe('closed');
  const connack = made.connack();
  expect(connack, 'no CONNACK before the close').toBeDefined();
  return connack!;
}

async function wire(router: TestRouter, transport: Transport, version: Version): Promise<RawMqtt> {
  const made = transport === 'tcp' ? await RawMqtt.connect(router.mqttPort!, version) : await RawMqtt.connectWebSocket(router.url, version);
  scope().wires.push(made);
  return made;
}

/** A raw client that has sent CONNECT and got a successful CONNACK. */
async function rawSession(
  router: TestRouter,
  transport: Transport,
  version: Version,
  connect: Record<string, unknown>,
): Promise<{ wire: RawMqtt; connack: IConnackPacket }> {
  const w = await wire(router, transport, version);
  w.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, ...connect });
  const connack = (await w.next()) as IConnackPacket;
  expect(connack.cmd).toBe('connack');
  expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
  return { wire: w, connack };
}

/** A CONNECT built by hand: protocol name "MQTT", the given level, clean session, keepalive 60, no properties. */
function connectBytes(level: number, clientId = 'bad-level'): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x3c]),
    // An empty property list where a parser would read the level as 5 (0x05, or 0x85 with the "bridge" bit).
    Buffer.from((level & 0x7f) === 5 ? [0x00] : []),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * CONNECT with an empty client id and CleanSession/Clean Start 0, which mqtt-packet refuses to generate: generated
 * with the clean flag set, then the flag cleared (the connect flags byte follows "MQTT" and the level).
 */
function emptyIdPersistentConnect(version: Version, properties?: Record<string, unknown>): Buffer {
  const bytes = Buffer.from(
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: '', properties } as Packet),
  );
  const flagsAt = 2 + 6 + 1; // short fixed header, protocol name, level
  expect(bytes[flagsAt]).toBe(0x02);
  bytes[flagsAt] = 0x00;
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Utilities

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function start(patch: ConfigPatch = {}): Promise<TestRouter> {
  const router = await startTestRouter(patch, { tcp: true });
  scope().routers.push(router);
  return router;
}

function persistent(version: Version, expiry = 300): IClientOptions {
  return version === 5 ? { clean: false, properties: { sessionExpiryInterval: expiry } } : { clean: false };
}

/** Checks that the router still admits a client and routes a message through it. */
async function stillServes(router: TestRouter, transport: Transport, version: Version, tag: string): Promise<void> {
  const url = urlOf(router, transport);
  const sub = await dial(url, version, { clientId: `${tag}-alive-sub` });
  await sub.client.subscribeAsync(`alive/${tag}`, { qos: 1 });
  const pub = await dial(url, version, { clientId: `${tag}-alive-pub` });
  await pub.client.publishAsync(`alive/${tag}`, 'still here', { qos: 1 });
  await waitFor('a message through the router', () => sub.messages.some((m) => m.payload === 'still here'));
}

const MATRIX: Array<[Version, Transport]> = [
  [4, 'ws'],
  [4, 'tcp'],
  [5, 'ws'],
  [5, 'tcp'],
];
const TRANSPORTS: Transport[] = ['ws', 'tcp'];

// ---------------------------------------------------------------------------------------------------------------
// CONNECT checks that do not depend on the client's version

describe.concurrent.each(TRANSPORTS)('CONNECT checks over %s', (transport) => {
  let router: TestRouter;
  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
  });
  afterAll(async () => {
    await router.close();
  });

  eachTest([[0], [1], [2]], '[MQTT-3.1.2-2] protocol level %i gets CONNACK 0x01 in the 3.1.1 shape (20 02 00 01), then the close', async (level: number) => {
    const w = await wire(router, transport, 4);
    w.sendBytes(connectBytes(level));
    expect(await w.waitClosed()).toBe(true);
    expect(w.bytes().toString('hex')).toBe('20020001');
  });

  eachTest([[6], [7], [255]], '[MQTT-3.1.2-2] protocol level %i (above 5) gets CONNACK 0x84 in the 5.0 shape (20 03 00 84 00), then the close', async (level: number) => {
    const w = await wire(router, transport, 5);
    w.sendBytes(connectBytes(level));
    expect(await w.waitClosed()).toBe(true);
    expect(w.bytes().toString('hex')).toBe('2003008400');
  });

  // Levels 0x83/0x84/0x85 are levels 3/4/5 with the top bit set (a non-standard "bridge" flag some brokers
  // accept). This router does not implement bridges; the level is simply one it does not support.
  eachTest<[string, number]>([['0x84', 0x84], ['0x85', 0x85]], '[MQTT-3.1.2-2] protocol level %s (3.1.1/5.0 with the top "bridge" bit set) is refused with CONNACK 0x84, not served', async (_name, level) => {
    const w = await wire(router, transport, 5);
    w.sendBytes(connectBytes(level, `bridge-${level}-${transport}`));
    expect(await w.waitClosed(1000)).toBe(true);
    expect(w.bytes().toString('hex')).toBe('2003008400');
  });

  test('[MQTT-3.1.0-1] a packet before CONNECT closes the connection, with nothing sent back', async () => {
    const w = await wire(router, transport, 4);
    w.sendBytes([0xc0, 0x00]); // PINGREQ
    expect(await w.waitClosed()).toBe(true);
    expect(w.bytes().length).toBe(0);
  });

  test('[MQTT-3.1.0-1] a SUBSCRIBE before CONNECT closes the connection, with no SUBACK', async () => {
    const w = await wire(router, transport, 4);
    w.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `pre/${transport}`, qos: 0 }] });
    expect(await w.waitClosed()).toBe(true);
    expect(w.packets).toEqual([]);
  });

  lastTest('the router keeps serving after all the bad CONNECTs above', async () => {
    await stillServes(router, transport, 4, `connect-${transport}`);
    await stillServes(router, transport, 5, `connect5-${transport}`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The matrix

describe.concurrent.each(MATRIX)('MQTT v%i over %s', (version, transport) => {
  const v5 = version === 5;
  const tag = `${version}${transport}`;
  let router: TestRouter;
  let url: string;
  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
    url = urlOf(router, transport);
  });
  afterAll(async () => {
    await router.close();
  });

  describe('CONNECT', () => {
    test(`[MQTT-3.1.0-2] a second CONNECT closes the connection${v5 ? ', after DISCONNECT 0x82' : ''}`, async () => {
      const { wire: w } = await rawSession(router, transport, version, { clientId: `${tag}-twice` });
      w.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: `${tag}-twice` });
      expect(await w.waitClosed()).toBe(true);
      const after = w.packets.slice(1);
      if (v5) {
        expect(after).toHaveLength(1);
        expect(after[0]).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
      } else {
        expect(after).toEqual([]);
      }
    });

    test('[MQTT-3.1.0-2] a second CONNECT sent by mqtt.js on a live connection closes it', async () => {
      const c = await dial(url, version, { clientId: `${tag}-twice-js` });
      c.client.stream.write(
        mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: `${tag}-twice-js` } as Packet),
      );
      await c.closed;
      if (v5) expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x82]);
    });
  });

  describe('client identifiers', () => {
    test(`[MQTT-3.1.3-6] an empty client id with a clean session is accepted and assigned${v5 ? ' (CONNACK Assigned Client Identifier) [MQTT-3.2.2-16]' : ''}`, async () => {
      const c = await dial(url, version, { clientId: '', clean: true });
      expect(c.connack.sessionPresent).toBe(false);
      if (v5) {
        const assigned = c.connack.properties?.assignedClientIdentifier;
        expect(typeof assigned).toBe('string');
        expect(assigned!.length).toBeGreaterThan(0);
      }
      // The connection works.
      await c.client.subscribeAsync(`ids/${tag}`, { qos: 1 });
      await c.client.publishAsync(`ids/${tag}`, 'x', { qos: 1 });
      await waitFor('own message', () => c.messages.length === 1);
    });

    test('two clients with empty ids get distinct identifiers and do not take each other over', async () => {
      const a = await dial(url, version, { clientId: '' });
      const b = await dial(url, version, { clientId: '' });
      if (v5) expect(a.connack.properties?.assignedClientIdentifier).not.toBe(b.connack.properties?.assignedClientIdentifier);
      await sleep(150);
      expect(a.isClosed()).toBe(false);
      expect(b.isClosed()).toBe(false);
    });

    if (!v5) {
      test('[MQTT-3.1.3-8] an empty client id with CleanSession 0 gets CONNACK 0x02 (identifier rejected), then the close', async () => {
        // mqtt.js will not send this CONNECT, so a raw client does.
        const w = await wire(router, transport, 4);
        w.sendBytes(emptyIdPersistentConnect(4));
        expect(await w.waitClosed()).toBe(true);
        expect(w.packets).toMatchObject([{ cmd: 'connack', returnCode: 0x02, sessionPresent: false }]);
        expect(w.bytes().toString('hex')).toBe('20020002');
      });
    } else {
      test('[MQTT-3.1.3-6] [MQTT-3.2.2-16] 5.0: an empty client id with Clean Start 0 is assigned (a new session)', async () => {
        const w = await wire(router, transport, 5);
        w.sendBytes(emptyIdPersistentConnect(5, { sessionExpiryInterval: 30 }));
        const connack = (await w.next()) as IConnackPacket;
        expect(connack).toMatchObject({ cmd: 'connack', reasonCode: 0, sessionPresent: false });
        expect(connack.properties?.assignedClientIdentifier).toBeTruthy();
      });
    }
  });

  describe('session takeover', () => {
    test(`[MQTT-3.1.4-${v5 ? '3' : '2'}] a second connection with the same client id takes over; the first is closed${v5 ? ' after DISCONNECT 0x8E' : ''}`, async () => {
      const first = await dial(url, version, { clientId: `${tag}-takeover` });
      const second = await dial(url, version, { clientId: `${tag}-takeover` });
      await first.closed;
      if (v5) expect(first.disconnects.map((d) => d.reasonCode)).toEqual([0x8e]);
      expect(second.isClosed()).toBe(false);
      // The new connection is fully usable.
      await second.client.subscribeAsync(`takeover/${tag}`, { qos: 1 });
      await second.client.publishAsync(`takeover/${tag}`, 'mine', { qos: 1 });
      await waitFor('a message on the new connection', () => second.messages.length === 1);
      expect(first.messages).toEqual([]);
    });

    test(`[MQTT-3.1.4-${v5 ? '3' : '2'}] [MQTT-3.1.2-${v5 ? '5' : '4'}] takeover of a persistent session keeps its subscriptions (sessionPresent 1)`, async () => {
      const first = await dial(url, version, { clientId: `${tag}-takeover-p`, ...persistent(version) });
      await first.client.subscribeAsync(`takeover-p/${tag}`, { qos: 1 });
      const second = await dial(url, version, { clientId: `${tag}-takeover-p`, ...persistent(version) });
      expect(second.connack.sessionPresent).toBe(true);
      await first.closed;
      const pub = await dial(url, version, { clientId: `${tag}-takeover-p-pub` });
      await pub.client.publishAsync(`takeover-p/${tag}`, 'kept', { qos: 1 });
      await waitFor('a message on the kept subscription', () => second.messages.length === 1);
    });
  });

  describe('keepalive', () => {
    test(
      v5
        ? '[MQTT-3.2.2-21] mqtt.maxKeepalive: asking for more gets CONNACK Server Keep Alive equal to the cap'
        : 'mqtt.maxKeepalive: a 3.1.1 client asking for more is still served (CONNACK 0)',
      async () => {
        const capped = await start({ mqtt: { maxKeepalive: 2 } });
        const c = await dial(urlOf(capped, transport), version, { clientId: `${tag}-cap`, keepalive: 60 });
        if (v5) {
          expect(c.connack.reasonCode).toBe(0);
          expect(c.connack.properties?.serverKeepAlive).toBe(2);
        } else {
          expect(c.connack.returnCode).toBe(0);
        }
        // A 5.0 client honouring the cap, or a 3.1.1 client with its own keepalive, is served normally.
        await c.client.subscribeAsync(`cap/${tag}`, { qos: 1 });
        await c.client.publishAsync(`cap/${tag}`, 'ok', { qos: 1 });
        await waitFor('a message', () => c.messages.length === 1);
      },
    );

    if (v5) {
      test('[MQTT-3.2.2-22] mqtt.maxKeepalive: a keepalive within the cap is not announced back (the client\'s own applies)', async () => {
        const capped = await start({ mqtt: { maxKeepalive: 30 } });
        const c = await dial(urlOf(capped, transport), 5, { clientId: `${tag}-cap-ok`, keepalive: 10 });
        expect(c.connack.properties?.serverKeepAlive).toBeUndefined();
      });
    }
  });

  describe('persistent sessions', () => {
    const session = v5 ? '[MQTT-3.1.2-5] [MQTT-3.1.2-23] [MQTT-3.2.2-3]' : '[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2]';

    test(`${session} QoS 1 and 2 messages published while offline are queued and arrive on reconnect (sessionPresent 1)`, async () => {
      const id = `${tag}-persist`;
      const topic = `persist/${tag}`;
      const first = await dial(url, version, { clientId: id, ...persistent(version) });
      await first.client.subscribeAsync(topic, { qos: 2 });
      await first.client.endAsync();
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'q1', { qos: 1 });
      await pub.client.publishAsync(topic, 'q2', { qos: 2 });
      const again = await dial(url, version, { clientId: id, ...persistent(version) });
      expect(again.connack.sessionPresent).toBe(true);
      await waitFor('the queued messages', () => again.messages.length >= 2, 1000).catch(() => undefined);
      expect(again.messages.map((m) => [m.payload, m.packet.qos])).toEqual([
        ['q1', 1],
        ['q2', 2],
      ]);
    });

    test('[MQTT-3.1.2-5] QoS 0 messages published while offline are not queued', async () => {
      const id = `${tag}-persist-q0`;
      const topic = `persist-q0/${tag}`;
      const first = await dial(url, version, { clientId: id, ...persistent(version) });
      await first.client.subscribeAsync(topic, { qos: 1 });
      await first.client.endAsync();
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'zero', { qos: 0 });
      const again = await dial(url, version, { clientId: id, ...persistent(version) });
      expect(again.connack.sessionPresent).toBe(true);
      // The subscription survived: a live message arrives; the offline QoS 0 one never does.
      await pub.client.publishAsync(topic, 'live', { qos: 1 });
      await waitFor('the live message', () => again.messages.some((m) => m.payload === 'live'));
      await sleep(100);
      expect(again.messages.map((m) => m.payload)).toEqual(['live']);
    });

    test(`[MQTT-3.1.2-${v5 ? '4' : '6'}] [MQTT-3.2.2-${v5 ? '2' : '1'}] a clean ${v5 ? 'start' : 'session'} reconnect gets sessionPresent 0, no queued messages and no old subscriptions`, async () => {
      const id = `${tag}-persist-clean`;
      const topic = `persist-clean/${tag}`;
      const first = await dial(url, version, { clientId: id, ...persistent(version) });
      await first.client.subscribeAsync(topic, { qos: 1 });
      await first.client.endAsync();
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'stale', { qos: 1 });
      const again = await dial(url, version, { clientId: id, clean: true });
      expect(again.connack.sessionPresent).toBe(false);
      await pub.client.publishAsync(topic, 'after', { qos: 1 });
      await sleep(300);
      expect(again.messages).toEqual([]);
      // And a later persistent reconnect finds no session either (the clean start discarded it).
      await again.client.endAsync();
      const third = await dial(url, version, { clientId: id, ...persistent(version) });
      expect(third.connack.sessionPresent).toBe(false);
    });

    test('mqtt.maxQueued limits the offline queue: the first N messages arrive, the rest are dropped', async () => {
      const limited = await start({ mqtt: { maxQueued: 3 } });
      const lurl = urlOf(limited, transport);
      const id = `${tag}-queue-limit`;
      const topic = `queue-limit/${tag}`;
      const first = await dial(lurl, version, { clientId: id, ...persistent(version) });
      await first.client.subscribeAsync(topic, { qos: 1 });
      await first.client.endAsync();
      const pub = await dial(lurl, version, { clientId: `${id}-pub` });
      for (let i = 1; i <= 6; i++) await pub.client.publishAsync(topic, `m${i}`, { qos: 1 });
      const again = await dial(lurl, version, { clientId: id, ...persistent(version) });
      expect(again.connack.sessionPresent).toBe(true);
      await waitFor('the queued messages', () => again.messages.length >= 3, 1000).catch(() => undefined);
      await sleep(200);
      expect(again.messages.map((m) => m.payload)).toEqual(['m1', 'm2', 'm3']);
    });
  });

  describe('in-flight messages', () => {
    const connect = (clientId: string) => ({
      clientId,
      clean: false,
      ...(v5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
    });

    test('[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged QoS 1 PUBLISH is resent on reconnect with DUP 1 and the same packet id', async () => {
      const id = `${tag}-dup1`;
      const topic = `dup1/${tag}`;
      const { wire: sub } = await rawSession(router, transport, version, connect(id));
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      expect((await sub.next()).cmd).toBe('suback');
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'unacked', { qos: 1 });
      const original = (await sub.next()) as IPublishPacket;
      expect(original).toMatchObject({ cmd: 'publish', qos: 1, dup: false });
      sub.destroy(); // no PUBACK
      await sleep(100);

      const { wire: back, connack } = await rawSession(router, transport, version, connect(id));
      expect(connack.sessionPresent).toBe(true);
      const resent = (await back.next(1000)) as IPublishPacket;
      expect(resent.cmd).toBe('publish');
      expect(resent.dup).toBe(true);
      expect(resent.qos).toBe(1);
      expect(resent.messageId).toBe(original.messageId);
      expect(resent.topic).toBe(topic);
      expect(resent.payload.toString()).toBe('unacked');
      back.send({ cmd: 'puback', messageId: resent.messageId });
    });

    test('[MQTT-4.4.0-1] a QoS 2 flight past PUBREC resends PUBREL (not the PUBLISH) on reconnect, with the same packet id', async () => {
      const id = `${tag}-dup2`;
      const topic = `dup2/${tag}`;
      const { wire: sub } = await rawSession(router, transport, version, connect(id));
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] });
      expect((await sub.next()).cmd).toBe('suback');
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'exactly-once', { qos: 2 });
      const original = (await sub.next()) as IPublishPacket;
      expect(original).toMatchObject({ cmd: 'publish', qos: 2, dup: false });
      sub.send({ cmd: 'pubrec', messageId: original.messageId });
      expect(await sub.next()).toMatchObject({ cmd: 'pubrel', messageId: original.messageId });
      sub.destroy(); // no PUBCOMP
      await sleep(100);

      const { wire: back, connack } = await rawSession(router, transport, version, connect(id));
      expect(connack.sessionPresent).toBe(true);
      const resent = await back.next(1000);
      expect(resent).toMatchObject({ cmd: 'pubrel', messageId: original.messageId });
      back.send({ cmd: 'pubcomp', messageId: original.messageId });
      await sleep(150);
      expect(back.packets.filter((p) => p.cmd === 'publish')).toEqual([]);
    });

    test('[MQTT-4.4.0-1] an acknowledged QoS 1 message is not resent on reconnect', async () => {
      const id = `${tag}-acked`;
      const topic = `acked/${tag}`;
      const { wire: sub } = await rawSession(router, transport, version, connect(id));
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      expect((await sub.next()).cmd).toBe('suback');
      const pub = await dial(url, version, { clientId: `${id}-pub` });
      await pub.client.publishAsync(topic, 'acked', { qos: 1 });
      const original = (await sub.next()) as IPublishPacket;
      sub.send({ cmd: 'puback', messageId: original.messageId });
      await sleep(100);
      sub.destroy();
      await sleep(100);
      const { wire: back, connack } = await rawSession(router, transport, version, connect(id));
      expect(connack.sessionPresent).toBe(true);
      await sleep(200);
      expect(back.packets.slice(1)).toEqual([]);
    });
  });

  if (v5) {
    describe('session expiry', () => {
      test('[MQTT-3.1.2-23] Session Expiry Interval 0 (absent) ends the session at the disconnect', async () => {
        const id = `${tag}-expiry0`;
        const first = await dial(url, 5, { clientId: id, clean: false });
        await first.client.subscribeAsync(`expiry0/${tag}`, { qos: 1 });
        await first.client.endAsync();
        const again = await dial(url, 5, { clientId: id, clean: false });
        expect(again.connack.sessionPresent).toBe(false);
      });
    });
  }

  describe('will messages', () => {
    async function watcher(topic: string): Promise<Dialed> {
      const w = await dial(url, version, { clientId: `${topic.replace(/\//g, '-')}-watch` });
      await w.client.subscribeAsync(topic, { qos: 1 });
      return w;
    }

    test(`[MQTT-3.1.2-8] the will is published when the network connection is lost (stream destroyed)`, async () => {
      const topic = `will-lost/${tag}`;
      const w = await watcher(topic);
      const c = await dial(url, version, { clientId: `${tag}-will-lost`, will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
      c.client.stream.destroy();
      await waitFor('the will', () => w.messages.length === 1);
      expect(w.messages[0]!.payload).toBe('gone');
    });

    test('[MQTT-3.1.2-8] the will is published when a raw client just drops the socket', async () => {
      const topic = `will-raw/${tag}`;
      const w = await watcher(topic);
      const { wire: raw } = await rawSession(router, transport, version, {
        clientId: `${tag}-will-raw`,
        will: { topic, payload: Buffer.from('dropped'), qos: 1, retain: false },
      });
      raw.destroy();
      await waitFor('the will', () => w.messages.length === 1);
      expect(w.messages[0]!.payload).toBe('dropped');
    });

    test(`[MQTT-3.1.2-10] [MQTT-3.14.4-3] the will is not published after a normal DISCONNECT`, async () => {
      const topic = `will-normal/${tag}`;
      const w = await watcher(topic);
      const c = await dial(url, version, { clientId: `${tag}-will-normal`, will: { topic, payload: Buffer.from('no'), qos: 1, retain: false } });
      await c.client.endAsync();
      await sleep(400);
      expect(w.messages).toEqual([]);
    });

    if (v5) {
      test('(5.0 §3.14.2.1) [MQTT-3.1.2-8] DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will', async () => {
        const topic = `will-04/${tag}`;
        const w = await watcher(topic);
        const c = await dial(url, 5, { clientId: `${tag}-will-04`, will: { topic, payload: Buffer.from('asked'), qos: 1, retain: false } });
        await c.client.endAsync(false, { reasonCode: 0x04 });
        await waitFor('the will', () => w.messages.length === 1);
        expect(w.messages[0]!.payload).toBe('asked');
      });
    }
  });

  describe('limits and bad input', () => {
    test(`${v5 ? '[MQTT-3.2.2-15] [MQTT-4.13.1-1] ' : ''}a packet larger than mqtt.maxPacketSize ${v5 ? 'gets DISCONNECT 0x95' : 'closes the connection'} and is not routed`, async () => {
      const small = await start({ mqtt: { maxPacketSize: 2048 } });
      const surl = urlOf(small, transport);
      const w = await dial(surl, version, { clientId: `${tag}-big-watch` });
      await w.client.subscribeAsync(`big/${tag}`, { qos: 0 });
      const c = await dial(surl, version, { clientId: `${tag}-big` });
      if (v5) expect(c.connack.properties?.maximumPacketSize).toBe(2048);
      c.client.publish(`big/${tag}`, Buffer.alloc(4096, 0x61), { qos: 0 });
      await Promise.race([c.closed, sleep(1000)]);
      expect(c.isClosed()).toBe(true);
      if (v5) expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x95]);
      await sleep(100);
      expect(w.messages).toEqual([]);
      await stillServes(small, transport, version, `${tag}-big`);
    });

    test(`${v5 ? '[MQTT-4.13.1-1] ' : ''}a packet larger than mqtt.maxPacketSize ${v5 ? 'gets DISCONNECT 0x95' : 'closes the connection'} as soon as its declared length is read`, async () => {
      const small = await start({ mqtt: { maxPacketSize: 2048 } });
      const { wire: w } = await rawSession(small, transport, version, { clientId: `${tag}-big-raw` });
      const bytes = mqttPacket.generate(
        { cmd: 'publish', topic: `big-raw/${tag}`, payload: Buffer.alloc(4096, 0x62), qos: 0, retain: false, dup: false } as Packet,
        { protocolVersion: version } as never,
      );
      w.sendBytes(bytes.subarray(0, 100));
      expect(await w.waitClosed()).toBe(true);
      if (v5) expect(w.packets.slice(1)).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x95 }]);
    });

    test(`${v5 ? '[MQTT-4.13.1-1] ' : ''}a packet larger than mqtt.maxPacketSize ${v5 ? 'gets DISCONNECT 0x95' : 'closes the connection'} when all its bytes arrive at once, and is not routed`, async () => {
      const small = await start({ mqtt: { maxPacketSize: 2048 } });
      const topic = `big-once/${tag}`;
      const w = await dial(urlOf(small, transport), version, { clientId: `${tag}-big-once-watch` });
      await w.client.subscribeAsync(topic, { qos: 0 });
      const { wire: raw } = await rawSession(small, transport, version, { clientId: `${tag}-big-once` });
      raw.sendBytes(
        mqttPacket.generate(
          { cmd: 'publish', topic, payload: Buffer.alloc(4096, 0x63), qos: 0, retain: false, dup: false } as Packet,
          { protocolVersion: version } as never,
        ),
      );
      expect(await raw.waitClosed(1000)).toBe(true);
      if (v5) expect(raw.packets.slice(1)).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x95 }]);
      await sleep(100);
      expect(w.messages).toEqual([]);
    });

    test(`${v5 ? '[MQTT-3.2.2-15] ' : ''}mqtt.maxPacketSize counts the whole packet: remaining length 2048 (2051 bytes in all) is over a 2048 maximum`, async () => {
      const small = await start({ mqtt: { maxPacketSize: 2048 } });
      const topic = 'edge';
      const w = await dial(urlOf(small, transport), version, { clientId: `${tag}-edge-watch` });
      await w.client.subscribeAsync(topic, { qos: 0 });
      const { wire: raw } = await rawSession(small, transport, version, { clientId: `${tag}-edge` });
      // PUBLISH QoS 0: remaining length 2048 (two length bytes: 80 10) = topic (2 + 4) [+ property length 1] + payload.
      const header = Buffer.from([0x30, 0x80, 0x10, 0x00, 0x04, 0x65, 0x64, 0x67, 0x65, ...(v5 ? [0x00] : [])]);
      const packet = Buffer.concat([header, Buffer.alloc(2048 - (header.length - 3), 0x64)]);
      expect(packet.length).toBe(2051);
      raw.sendBytes(packet);
      expect(await raw.waitClosed(1000)).toBe(true);
      if (v5) expect(raw.packets.slice(1)).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x95 }]);
      expect(w.messages).toEqual([]);
    });

    test(`[MQTT-${v5 ? '4.13.1-1' : '4.8.0-1'}] garbage after CONNACK closes that one connection; others keep publishing and receiving`, async () => {
      const sub = await dial(url, version, { clientId: `${tag}-bystander-sub` });
      await sub.client.subscribeAsync(`bystander/${tag}`, { qos: 1 });
      const pub = await dial(url, version, { clientId: `${tag}-bystander-pub` });
      await pub.client.publishAsync(`bystander/${tag}`, 'before', { qos: 1 });
      await waitFor('the first message', () => sub.messages.length === 1);

      const { wire: bad } = await rawSession(router, transport, version, { clientId: `${tag}-garbage` });
      bad.sendBytes([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]);
      expect(await bad.waitClosed()).toBe(true);
      if (v5) {
        // A DISCONNECT before the close is optional [MQTT-4.13.1-1]; if sent, it carries an error reason (0x81).
        for (const packet of bad.packets.slice(1)) {
          expect(packet.cmd).toBe('disconnect');
          expect((packet as IDisconnectPacket).reasonCode).toBeGreaterThanOrEqual(0x80);
        }
      }

      await pub.client.publishAsync(`bystander/${tag}`, 'after', { qos: 1 });
      await waitFor('a message after the garbage', () => sub.messages.length === 2);
      expect(sub.messages.map((m) => m.payload)).toEqual(['before', 'after']);
      expect(sub.isClosed()).toBe(false);
      expect(pub.isClosed()).toBe(false);
    });

    test('garbage bytes sent by mqtt.js on its own stream close that connection', async () => {
      const c = await dial(url, version, { clientId: `${tag}-garbage-js` });
      c.client.stream.write(Buffer.from([0x00, 0x00, 0x00, 0x00]));
      await Promise.race([c.closed, sleep(1000)]);
      expect(c.isClosed()).toBe(true);
    });

    eachTest<[string, number[]]>(
      [
        ['0xF0 (AUTH in 5.0, reserved in 3.1.1)', [0xf0, 0x00]],
        ['0x00 (reserved)', [0x00, 0x00]],
      ],
      `[MQTT-${v5 ? '4.13.1-1' : '4.8.0-1'}] an unknown or unexpected packet type %s closes the connection`,
      async (_name, bytes) => {
        const { wire: w } = await rawSession(router, transport, version, { clientId: `${tag}-unknown-${bytes[0]}` });
        w.sendBytes(bytes);
        expect(await w.waitClosed()).toBe(true);
        if (v5) {
          for (const packet of w.packets.slice(1)) {
            expect(packet.cmd).toBe('disconnect');
            expect([0x81, 0x82]).toContain((packet as IDisconnectPacket).reasonCode);
          }
        }
      },
    );

    test(`[MQTT-${v5 ? '4.13.1-1' : '4.8.0-1'}] a CONNACK sent by the client (a server-only packet) closes the connection`, async () => {
      const { wire: w } = await rawSession(router, transport, version, { clientId: `${tag}-connack` });
      w.sendBytes(v5 ? [0x20, 0x03, 0x00, 0x00, 0x00] : [0x20, 0x02, 0x00, 0x00]);
      expect(await w.waitClosed()).toBe(true);
      if (v5) expect(w.packets.slice(1)).toMatchObject([{ cmd: 'disconnect', reasonCode: 0x82 }]);
    });

  });

  lastTest('the router still serves after all of the above (no crash, no stuck state)', async () => {
    await stillServes(router, transport, version, `${tag}-end`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Timing: keepalive, session expiry, will delay. Each test waits seconds, so these run concurrently, each with its
// own clients (on one router per version and transport).

describe.concurrent.each(MATRIX)('timing, MQTT v%i over %s', (version, transport) => {
  const v5 = version === 5;
  const tag = `${version}${transport}-t`;
  let router: TestRouter;
  let url: string;
  beforeAll(async () => {
    router = await startTestRouter({}, { tcp: true });
    url = urlOf(router, transport);
  });
  afterAll(async () => {
    await router.close();
  });

  async function watcher(topic: string): Promise<Dialed> {
    const w = await dial(url, version, { clientId: `${topic.replace(/\//g, '-')}-watch` });
    await w.client.subscribeAsync(topic, { qos: 1 });
    return w;
  }

  test(`[MQTT-3.1.2-${v5 ? '22' : '24'}] a client silent for 1.5x its keepalive is disconnected${v5 ? ' (DISCONNECT 0x8D)' : ''}`, async () => {
    const { wire: w } = await rawSession(router, transport, version, { clientId: `${tag}-silent`, keepalive: 1 });
    const since = Date.now();
    expect(await w.waitClosed(4500)).toBe(true);
    const elapsed = Date.now() - since;
    expect(elapsed).toBeGreaterThanOrEqual(1200);
    expect(elapsed).toBeLessThan(4500);
    if (v5) {
      const disconnects = w.packets.filter((p) => p.cmd === 'disconnect') as IDisconnectPacket[];
      expect(disconnects.map((d) => d.reasonCode)).toEqual([0x8d]);
    }
  });

  test('a client that pings within its keepalive is kept', async () => {
    const { wire: w } = await rawSession(router, transport, version, { clientId: `${tag}-pinging`, keepalive: 1 });
    for (let i = 0; i < 4; i++) {
      await sleep(500);
      w.sendBytes([0xc0, 0x00]);
      expect((await w.next()).cmd).toBe('pingresp');
    }
    expect(w.closed).toBe(false);
  });

  if (v5) {
    test('[MQTT-3.1.2-23] a session with Session Expiry Interval 1 survives a quick reconnect and is gone ~2 s after the disconnect', async () => {
      const id = `${tag}-expiry`;
      const options = { clientId: id, clean: false, properties: { sessionExpiryInterval: 1 } };
      const first = await dial(url, 5, options);
      await first.client.subscribeAsync(`expiry/${tag}`, { qos: 1 });
      await first.client.endAsync();
      const quick = await dial(url, 5, options);
      expect(quick.connack.sessionPresent).toBe(true);
      await quick.client.endAsync();
      await sleep(2000);
      const late = await dial(url, 5, options);
      expect(late.connack.sessionPresent).toBe(false);
    });

    test('[MQTT-3.1.3-9] Will Delay Interval 2 s: a reconnect within the delay cancels the will', async () => {
      const topic = `will-delay-cancel/${tag}`;
      const w = await watcher(topic);
      const options: IClientOptions = {
        clientId: `${tag}-will-delay-cancel`,
        clean: false,
        properties: { sessionExpiryInterval: 10 },
        will: { topic, payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      };
      const c = await dial(url, 5, options);
      c.client.stream.destroy();
      await sleep(500);
      const back = await dial(url, 5, { ...options, will: undefined });
      expect(back.connack.sessionPresent).toBe(true);
      await sleep(2600);
      expect(w.messages).toEqual([]);
    });

    test('[MQTT-3.1.3-9] Will Delay Interval 2 s: without a reconnect the will arrives after the delay, not before', async () => {
      const topic = `will-delay/${tag}`;
      const w = await watcher(topic);
      const c = await dial(url, 5, {
        clientId: `${tag}-will-delay`,
        clean: false,
        properties: { sessionExpiryInterval: 10 },
        will: { topic, payload: Buffer.from('delayed'), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
      });
      const lost = Date.now();
      c.client.stream.destroy();
      await waitFor('the delayed will', () => w.messages.length === 1, 4000);
      const elapsed = Date.now() - lost;
      expect(elapsed).toBeGreaterThanOrEqual(1500);
      expect(w.messages[0]!.payload).toBe('delayed');
    });

    test('[MQTT-3.1.3-9] a Will Delay Interval longer than the Session Expiry Interval: the will goes when the session ends', async () => {
      const topic = `will-expiry/${tag}`;
      const w = await watcher(topic);
      const c = await dial(url, 5, {
        clientId: `${tag}-will-expiry`,
        clean: false,
        properties: { sessionExpiryInterval: 1 },
        will: { topic, payload: Buffer.from('session over'), qos: 1, retain: false, properties: { willDelayInterval: 30 } },
      });
      const lost = Date.now();
      c.client.stream.destroy();
      await waitFor('the will at session end', () => w.messages.length === 1, 3500);
      expect(Date.now() - lost).toBeGreaterThanOrEqual(700);
      expect(w.messages[0]!.payload).toBe('session over');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// JWT login

describe.concurrent.each(MATRIX)('JWT login, MQTT v%i over %s', (version, transport) => {
  const v5 = version === 5;
  const tag = `${version}${transport}-jwt`;
  let router: TestRouter;
  let url: string;
  beforeAll(async () => {
    router = await startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: false }, { tcp: true });
    url = urlOf(router, transport);
  });
  afterAll(async () => {
    await router.close();
  });

  function connectedLog(clientId: string): Record<string, unknown> | undefined {
    return router.logs.find((line) => line.msg === 'mqtt session connected' && line.clientId === clientId);
  }

  test('(3.1.3.5 Password) a token as the CONNECT password is accepted; the session carries its subject as authid', async () => {
    const token = await hs256({ sub: 'alice' });
    const c = await dial(url, version, { clientId: `${tag}-pw`, username: 'alice', password: token });
    expect(v5 ? c.connack.reasonCode : c.connack.returnCode).toBe(0);
    await waitFor('the connected log line', () => connectedLog(`${tag}-pw`) !== undefined);
    expect(connectedLog(`${tag}-pw`)).toMatchObject({ authid: 'alice' });
    await c.client.subscribeAsync(`jwt/${tag}`, { qos: 1 });
    await c.client.publishAsync(`jwt/${tag}`, 'hi', { qos: 1 });
    await waitFor('a message', () => c.messages.length === 1);
  });

  test(`[MQTT-3.2.2-${v5 ? '6' : '4'}] [MQTT-3.2.2-${v5 ? '7' : '5'}] a bad token is refused: ${v5 ? 'CONNACK 0x86 with a Reason String' : 'CONNACK 0x04'}`, async () => {
    const forged = await hs256({ sub: 'alice' }, 'another-secret-that-is-long-enough-for-hs256');
    const connack = await refused(url, version, { clientId: `${tag}-bad`, username: 'alice', password: forged });
    if (v5) {
      expect(connack.reasonCode).toBe(0x86);
      expect(typeof connack.properties?.reasonString).toBe('string');
    } else {
      expect(connack.returnCode).toBe(0x04);
    }
    expect(connack.sessionPresent).toBe(false);
  });

  test(`an expired token is refused: ${v5 ? 'CONNACK 0x86' : 'CONNACK 0x04'}`, async () => {
    const expired = await hs256({ sub: 'alice', expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const connack = await refused(url, version, { clientId: `${tag}-expired`, username: 'alice', password: expired });
    expect(v5 ? connack.reasonCode : connack.returnCode).toBe(v5 ? 0x86 : 0x04);
  });

  test(`no credentials are refused: ${v5 ? 'CONNACK 0x87' : 'CONNACK 0x05'}`, async () => {
    const connack = await refused(url, version, { clientId: `${tag}-none` });
    expect(v5 ? connack.reasonCode : connack.returnCode).toBe(v5 ? 0x87 : 0x05);
  });

  test('a username without a password is refused as no credentials', async () => {
    const connack = await refused(url, version, { clientId: `${tag}-useronly`, username: 'alice' });
    expect(v5 ? connack.reasonCode : connack.returnCode).toBe(v5 ? 0x87 : 0x05);
  });

  if (v5) {
    test('(5.0 §4.12) Authentication Method JWT with the token as Authentication Data is accepted', async () => {
      const token = await hs256({ sub: 'dave' });
      const c = await dial(url, 5, {
        clientId: `${tag}-method`,
        properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(token) },
      });
      expect(c.connack.reasonCode).toBe(0);
      await waitFor('the connected log line', () => connectedLog(`${tag}-method`) !== undefined);
      expect(connectedLog(`${tag}-method`)).toMatchObject({ authid: 'dave' });
    });

    test('Authentication Method JWT with a bad token is refused with 0x86', async () => {
      const connack = await refused(url, 5, {
        clientId: `${tag}-method-bad`,
        properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from('not.a.token') },
      });
      expect(connack.reasonCode).toBe(0x86);
    });

    test('[MQTT-4.12.0-1] an unknown Authentication Method gets CONNACK 0x8C (Bad authentication method)', async () => {
      const connack = await refused(url, 5, {
        clientId: `${tag}-method-unknown`,
        properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('x') },
      });
      expect(connack.reasonCode).toBe(0x8c);
    });
  }

  test('mqtt.requireUsernameMatch: a username different from the token subject is refused; the same one is accepted', async () => {
    const strict = await start({ jwt: { secret: SECRET }, allowAnonymous: false, mqtt: { requireUsernameMatch: true } });
    const surl = urlOf(strict, transport);
    const token = await hs256({ sub: 'alice' });
    const connack = await refused(surl, version, { clientId: `${tag}-mismatch`, username: 'mallory', password: token });
    if (v5) expect([0x86, 0x87]).toContain(connack.reasonCode);
    else expect([0x04, 0x05]).toContain(connack.returnCode);
    const ok = await dial(surl, version, { clientId: `${tag}-match`, username: 'alice', password: token });
    expect(v5 ? ok.connack.reasonCode : ok.connack.returnCode).toBe(0);
  });

  test('a client id held by another user cannot be taken over by a different authid', async () => {
    const alice = await dial(url, version, { clientId: `${tag}-owned`, username: 'alice', password: await hs256({ sub: 'alice' }) });
    const connack = await refused(url, version, { clientId: `${tag}-owned`, username: 'eve', password: await hs256({ sub: 'eve' }) });
    expect(v5 ? connack.reasonCode : connack.returnCode).not.toBe(0);
    await sleep(100);
    expect(alice.isClosed()).toBe(false);
  });

  if (transport === 'ws') {
    test('a token in the WebSocket upgrade (Authorization: Bearer) logs in without a password', async () => {
      const token = await hs256({ sub: 'erin' });
      const c = await dial(url, version, { clientId: `${tag}-upgrade`, wsOptions: { headers: { authorization: `Bearer ${token}` } } });
      expect(v5 ? c.connack.reasonCode : c.connack.returnCode).toBe(0);
      await waitFor('the connected log line', () => connectedLog(`${tag}-upgrade`) !== undefined);
      expect(connectedLog(`${tag}-upgrade`)).toMatchObject({ authid: 'erin' });
    });

    test('a bad token in the WebSocket upgrade is refused at CONNECT', async () => {
      const c = await refused(url, version, { clientId: `${tag}-upgrade-bad`, wsOptions: { headers: { authorization: 'Bearer not.a.token' } } });
      expect(v5 ? c.reasonCode : c.returnCode).toBe(v5 ? 0x86 : 0x04);
    });
  }

  lastTest('the router still serves after all the logins and refusals above', async () => {
    const token = await hs256({ sub: 'zoe' });
    const c = await dial(url, version, { clientId: `${tag}-end`, username: 'zoe', password: token });
    await c.client.subscribeAsync(`jwt-end/${tag}`, { qos: 1 });
    await c.client.publishAsync(`jwt-end/${tag}`, 'ok', { qos: 1 });
    await waitFor('a message', () => c.messages.length === 1);
  });
});
