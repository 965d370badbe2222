/**
 * The session meta API and token expiry, black-box, across protocols:
 * - `wamp.session.on_join` / `on_leave` events, and the same as JSON on `$SYS/realm/{realm}/sessions/joined` and
 *   `.../left`, for MQTT 3.1.1, MQTT 5.0 and WAMP (JSON, CBOR) sessions;
 * - `wamp.session.count`, `list`, `get` and `kill` (admin only) through autobahn-js;
 * - the end of a session when its token expires (WAMP GOODBYE `wamp.close.token_expired`, MQTT 5 DISCONNECT 0x87,
 *   MQTT 3.1.1 close) and MQTT 5 re-authentication with AUTH 0x19.
 *
 * The meta suites start a router per test (exact session counts); the expiry suites share one router and run
 * concurrently (each test waits seconds), each test with its own client ids and authids. Every client a test
 * opens is closed when it ends.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import autobahn from 'autobahn';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type IAuthPacket, type IConnackPacket, type IDisconnectPacket, type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

// ---------------------------------------------------------------------------------------------------------------
// Scopes: what one test opened, closed when it ends (tests in the expiry suites run concurrently).

class Scope {
  readonly closers: Array<() => Promise<void> | void> = [];
  async close(): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    for (const close of closers) {
      try {
        await close();
      } catch {
        // already gone
      }
    }
  }
}
const scopes = new AsyncLocalStorage<Scope>();

function scope(): Scope {
  const current = scopes.getStore();
  if (current === undefined) throw new Error('clients are opened inside test bodies only');
  return current;
}

function test(name: string, body: () => Promise<void>, timeout?: number): void {
  it(
    name,
    async () => {
      const own = new Scope();
      try {
        await scopes.run(own, body);
      } finally {
        await own.close();
      }
    },
    timeout,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` gives a value other than undefined/false, or fails with `what` after `ms`. */
async function until<T>(what: string, check: () => T | undefined | false, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function router(patch: ConfigPatch): Promise<TestRouter> {
  const started = await startTestRouter(patch, { tcp: true });
  scope().closers.push(() => started.close());
  return started;
}

const mqttUrl = (r: TestRouter, transport: 'ws' | 'tcp') => (transport === 'ws' ? r.url : `mqtt://127.0.0.1:${r.mqttPort}`);

// ---------------------------------------------------------------------------------------------------------------
// WAMP clients

interface Wamp {
  session: any;
  connection: any;
  id: number;
  /** Every event received, by topic. */
  events: Map<string, unknown[][]>;
  /** Set when the connection closed: autobahn's reason and details (details.reason is the GOODBYE reason). */
  closedWith: { reason: string; details: Record<string, any> } | undefined;
  closed: Promise<void>;
  close(): Promise<void>;
}

/** Opens an autobahn-js session; `token` logs in with ticket, else anonymously (with `authid` if given). */
function wamp(url: string, serializer: 'json' | 'cbor', options: { authid?: string; token?: string } = {}): Promise<Wamp> {
  const serializers =
    serializer === 'cbor' ? [new autobahn.serializer.CBORSerializer()] : [new autobahn.serializer.JSONSerializer()];
  const auth =
    options.token !== undefined
      ? { authmethods: ['ticket'], authid: options.authid ?? 'ticket-user', onchallenge: () => options.token }
      : options.authid !== undefined
        ? { authid: options.authid }
        : {};
  const connection = new autobahn.Connection({ url, realm: 'realm1', serializers, max_retries: 0, ...auth });
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const client: Wamp = {
    session: undefined,
    connection,
    id: 0,
    events: new Map(),
    closedWith: undefined,
    closed,
    close: async () => {
      if (connection.isOpen) connection.close();
      await Promise.race([closed, sleep(2000)]);
    },
  };
  scope().closers.push(() => client.close());
  return new Promise((resolve, reject) => {
    connection.onopen = (session: any) => {
      client.session = session;
      client.id = session.id;
      resolve(client);
    };
    connection.onclose = (reason: string, details: Record<string, any>) => {
      client.closedWith = { reason, details };
      markClosed();
      reject(new Error(`connection closed: ${reason} ${JSON.stringify(details)}`));
      return true;
    };
    connection.open();
  });
}

async function listen(client: Wamp, topic: string): Promise<void> {
  const received: unknown[][] = [];
  client.events.set(topic, received);
  await client.session.subscribe(topic, (args: unknown[]) => received.push(args));
}

/** HELLO(ticket) + AUTHENTICATE with a raw client; returns the client once WELCOME came. */
async function rawTicket(url: string, token: string, authid: string): Promise<{ client: RawWamp; id: number }> {
  const client = await RawWamp.connect(url, 'json');
  scope().closers.push(() => client.close());
  client.send([1, 'realm1', { roles: { caller: {}, subscriber: {} }, authmethods: ['ticket'], authid }]);
  expect(await client.next()).toEqual([4, 'ticket', {}]);
  client.send([5, token, {}]);
  const welcome = await client.next();
  expect(welcome[0], `WELCOME expected, got ${JSON.stringify(welcome)}`).toBe(2);
  return { client, id: welcome[1] as number };
}

/** An anonymous raw WAMP session. */
async function rawAnonymous(url: string, authid: string): Promise<{ client: RawWamp; id: number }> {
  const [client, welcome] = await RawWamp.session(url, 'json', { authid });
  scope().closers.push(() => client.close());
  expect(welcome[0]).toBe(2);
  return { client, id: welcome[1] as number };
}

// ---------------------------------------------------------------------------------------------------------------
// MQTT clients

interface Mqtt {
  client: MqttClient;
  connack: IConnackPacket;
  packets: Packet[];
  messages: Array<{ topic: string; payload: string }>;
  disconnects: IDisconnectPacket[];
  closedAt: number | undefined;
  closed: Promise<void>;
}

async function dial(url: string, version: 4 | 5, options: IClientOptions): Promise<Mqtt> {
  const client = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  scope().closers.push(() => client.endAsync(true).catch(() => undefined));
  const made: Mqtt = { client, connack: undefined as never, packets: [], messages: [], disconnects: [], closedAt: undefined, closed: undefined as never };
  client.on('packetreceive', (packet) => made.packets.push(packet));
  client.on('message', (topic, payload) => made.messages.push({ topic, payload: payload.toString() }));
  client.on('disconnect', (packet) => made.disconnects.push(packet));
  client.on('error', () => undefined);
  made.closed = new Promise<void>((resolve) =>
    client.once('close', () => {
      made.closedAt ??= Date.now();
      resolve();
    }),
  );
  made.connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', (packet) => resolve(packet));
    void made.closed.then(() => reject(new Error('closed before CONNACK')));
  });
  return made;
}

/** Writes an AUTH packet (MQTT 5) straight onto the client's stream: mqtt.js has no public API for it. */
function sendAuth(c: Mqtt, reasonCode: number, properties: IAuthPacket['properties']): void {
  const bytes = mqttPacket.generate({ cmd: 'auth', reasonCode, properties } as Packet, { protocolVersion: 5 });
  c.client.stream.write(bytes);
}

/** Waits until the router has closed the client, up to `ms`. */
async function closedWithin(c: Mqtt, ms: number): Promise<boolean> {
  return Promise.race([c.closed.then(() => true), sleep(ms).then(() => false)]);
}

/** An `exp` (seconds since epoch) between `seconds` and `seconds + 1` from now. */
function expIn(seconds: number): number {
  return Math.ceil(Date.now() / 1000) + seconds;
}

// ---------------------------------------------------------------------------------------------------------------
// Meta events

const ANON = { authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' };

describe('session meta events for every protocol', () => {
  test('on_join / on_leave (WAMP) and $SYS sessions/joined / left (MQTT) for MQTT 3.1.1, MQTT 5.0, WAMP JSON and CBOR', async () => {
    const r = await router({ jwt: { secret: SECRET }, allowAnonymous: true });
    const watcher = await wamp(r.url, 'json', { authid: 'watcher' });
    await listen(watcher, 'wamp.session.on_join');
    await listen(watcher, 'wamp.session.on_leave');
    const joins = watcher.events.get('wamp.session.on_join')!;
    const leaves = watcher.events.get('wamp.session.on_leave')!;
    const sys = await dial(r.url, 5, { clientId: 'sys-watcher' });
    await sys.client.subscribeAsync('$SYS/realm/realm1/sessions/+', { qos: 0 });
    const sysOf = (what: 'joined' | 'left', authid: string) =>
      sys.messages
        .filter((m) => m.topic === `$SYS/realm/realm1/sessions/${what}`)
        .map((m) => JSON.parse(m.payload) as Record<string, any>)
        .find((details) => details.authid === authid);
    const joinOf = (authid: string) => joins.find((args) => (args[0] as Record<string, any>).authid === authid)?.[0] as Record<string, any> | undefined;
    const leaveOf = (authid: string) => leaves.find((args) => args[1] === authid);

    // The MQTT watcher's own join reached the WAMP watcher.
    expect(await until('on_join of the MQTT watcher', () => joinOf('sys-watcher'))).toMatchObject({ authid: 'sys-watcher', transport: { protocol: 'mqtt' } });

    const adminToken = await hs256({ sub: 'root', claims: { role: 'admin' } });
    const deviceToken = await hs256({ sub: 'jwt-device', claims: { role: 'device' } });
    type Case = {
      authid: string;
      protocol: string;
      type: string;
      identity: Record<string, string>;
      open: () => Promise<{ id?: number; close: () => Promise<void> }>;
    };
    const cases: Case[] = [
      {
        authid: 'dev-v4',
        protocol: 'mqtt',
        type: 'tcp',
        identity: ANON,
        open: async () => {
          const c = await dial(mqttUrl(r, 'tcp'), 4, { clientId: 'dev-v4', clean: true });
          return { close: () => c.client.endAsync() };
        },
      },
      {
        authid: 'dev-v5',
        protocol: 'mqtt',
        type: 'websocket',
        identity: ANON,
        open: async () => {
          const c = await dial(r.url, 5, { clientId: 'dev-v5', clean: true });
          return { close: () => c.client.endAsync() };
        },
      },
      {
        authid: 'jwt-device',
        protocol: 'mqtt',
        type: 'tcp',
        identity: { authrole: 'device', authmethod: 'jwt', authprovider: 'jwt' },
        open: async () => {
          const c = await dial(mqttUrl(r, 'tcp'), 5, { clientId: 'jwt-device-client', username: 'jwt-device', password: deviceToken, clean: true });
          return { close: () => c.client.endAsync() };
        },
      },
      {
        authid: 'app-json',
        protocol: 'wamp.2.json',
        type: 'websocket',
        identity: ANON,
        open: async () => {
          const w = await wamp(r.url, 'json', { authid: 'app-json' });
          return { id: w.id, close: () => w.close() };
        },
      },
      {
        authid: 'app-cbor',
        protocol: 'wamp.2.cbor',
        type: 'websocket',
        identity: ANON,
        open: async () => {
          const w = await wamp(r.url, 'cbor', { authid: 'app-cbor' });
          return { id: w.id, close: () => w.close() };
        },
      },
      {
        authid: 'root',
        protocol: 'wamp.2.json',
        type: 'websocket',
        identity: { authrole: 'admin', authmethod: 'ticket', authprovider: 'jwt' },
        open: async () => {
          const w = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
          return { id: w.id, close: () => w.close() };
        },
      },
    ];

    const ids = new Set<number>();
    for (const { authid, protocol, type, identity, open } of cases) {
      const opened = await open();
      const joined = await until(`on_join of ${authid}`, () => joinOf(authid));
      expect(joined, authid).toMatchObject({ authid, ...identity, transport: { protocol, type } });
      expect(typeof joined.session).toBe('number');
      if (opened.id !== undefined) expect(joined.session, `${authid}: on_join carries the WELCOME session id`).toBe(opened.id);
      expect(ids.has(joined.session), 'session ids are unique').toBe(false);
      ids.add(joined.session);
      // The MQTT side sees the same details, as JSON.
      expect(await until(`$SYS joined of ${authid}`, () => sysOf('joined', authid)), authid).toEqual(joined);
      expect(leaveOf(authid), `${authid} has not left yet`).toBeUndefined();

      await opened.close();
      expect(await until(`on_leave of ${authid}`, () => leaveOf(authid)), authid).toEqual([joined.session, authid, identity.authrole]);
      expect(await until(`$SYS left of ${authid}`, () => sysOf('left', authid)), authid).toEqual({
        session: joined.session,
        authid,
        authrole: identity.authrole,
      });
    }
    // One join and one leave per session, no duplicates.
    for (const { authid } of cases) {
      expect(joins.filter((args) => (args[0] as Record<string, any>).authid === authid), authid).toHaveLength(1);
      expect(leaves.filter((args) => args[1] === authid), authid).toHaveLength(1);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Meta procedures

const call = (client: Wamp, procedure: string, args?: unknown[], kwargs?: Record<string, unknown>) =>
  client.session.call(procedure, args, kwargs) as Promise<any>;

async function expectCallError(promise: Promise<unknown>, uri: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { error?: string },
  );
  expect(error, `the call should fail with ${uri}`).toBeDefined();
  expect(error!.error).toBe(uri);
}

describe('session meta procedures', () => {
  const patch: ConfigPatch = { jwt: { secret: SECRET }, allowAnonymous: true };
  let adminToken: string;
  beforeAll(async () => {
    adminToken = await hs256({ sub: 'root', claims: { role: 'admin' } });
  });

  test('wamp.session.count, wamp.session.list (with authrole filters) and wamp.session.get', async () => {
    const r = await router(patch);
    const admin = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
    const anon = await wamp(r.url, 'cbor', { authid: 'anon-caller' });
    await dial(r.url, 5, { clientId: 'dev-five' });
    await dial(mqttUrl(r, 'tcp'), 4, { clientId: 'dev-four' });

    expect(await call(anon, 'wamp.session.count')).toBe(4);
    expect(await call(admin, 'wamp.session.count', [['admin']])).toBe(1);
    expect(await call(admin, 'wamp.session.count', [['anonymous']])).toBe(3);
    expect(await call(admin, 'wamp.session.count', [['anonymous', 'admin']])).toBe(4);
    expect(await call(admin, 'wamp.session.count', [['nobody']])).toBe(0);

    const all = (await call(anon, 'wamp.session.list')) as number[];
    expect(all).toHaveLength(4);
    expect(new Set(all).size).toBe(4);
    expect(all).toContain(admin.id);
    expect(all).toContain(anon.id);
    expect(await call(anon, 'wamp.session.list', [['admin']])).toEqual([admin.id]);
    const anonymous = (await call(anon, 'wamp.session.list', [['anonymous']])) as number[];
    expect([...anonymous].sort()).toEqual(all.filter((id) => id !== admin.id).sort());
    expect(await call(anon, 'wamp.session.list', [['nobody']])).toEqual([]);

    expect(await call(anon, 'wamp.session.get', [admin.id])).toMatchObject({
      session: admin.id,
      authid: 'root',
      authrole: 'admin',
      authmethod: 'ticket',
      authprovider: 'jwt',
      transport: { protocol: 'wamp.2.json', type: 'websocket' },
    });
    expect(await call(admin, 'wamp.session.get', [anon.id])).toMatchObject({
      session: anon.id,
      authid: 'anon-caller',
      ...ANON,
      transport: { protocol: 'wamp.2.cbor' },
    });
    const mqttDetails = await Promise.all(all.filter((id) => id !== admin.id && id !== anon.id).map((id) => call(admin, 'wamp.session.get', [id])));
    const byAuthid = Object.fromEntries(mqttDetails.map((details) => [details.authid, details]));
    expect(byAuthid['dev-five']).toMatchObject({ ...ANON, transport: { protocol: 'mqtt', type: 'websocket' } });
    expect(byAuthid['dev-four']).toMatchObject({ ...ANON, transport: { protocol: 'mqtt', type: 'tcp' } });

    await expectCallError(call(anon, 'wamp.session.get', [987654321]), 'wamp.error.no_such_session');
    await expectCallError(call(anon, 'wamp.session.get', []), 'wamp.error.no_such_session');

    // A session that left is no longer counted, listed or found.
    await anon.close();
    await untilAsync('anon-caller to leave', async () => (((await call(admin, 'wamp.session.list')) as number[]).includes(anon.id) ? undefined : true));
    expect(await call(admin, 'wamp.session.count')).toBe(3);
    await expectCallError(call(admin, 'wamp.session.get', [anon.id]), 'wamp.error.no_such_session');
  });

  test('wamp.session.kill is refused with wamp.error.not_authorized for a caller whose authrole is not admin', async () => {
    const r = await router(patch);
    const admin = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
    const user = await wamp(r.url, 'json', { authid: 'plain-user', token: await hs256({ sub: 'plain-user' }) });
    const anon = await wamp(r.url, 'cbor', { authid: 'anon' });
    const device = await dial(r.url, 5, { clientId: 'kill-me-not' });
    const deviceId = ((await call(admin, 'wamp.session.list', [['anonymous']])) as number[]).find((id) => id !== anon.id)!;

    await expectCallError(call(anon, 'wamp.session.kill', [admin.id]), 'wamp.error.not_authorized');
    await expectCallError(call(anon, 'wamp.session.kill', [deviceId]), 'wamp.error.not_authorized');
    await expectCallError(call(user, 'wamp.session.kill', [anon.id]), 'wamp.error.not_authorized');
    await expectCallError(call(user, 'wamp.session.kill', [deviceId], { reason: 'wamp.close.killed' }), 'wamp.error.not_authorized');
    // Nobody was killed.
    await sleep(200);
    expect(await call(admin, 'wamp.session.count')).toBe(4);
    expect(device.disconnects).toEqual([]);
    expect(device.client.connected).toBe(true);
    expect(admin.connection.isOpen && user.connection.isOpen && anon.connection.isOpen).toBe(true);
  });

  test('an admin kills a WAMP session: GOODBYE wamp.close.killed (kwargs reason/message override it); killing itself or an unknown id is no_such_session', async () => {
    const r = await router(patch);
    const admin = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
    await listen(admin, 'wamp.session.on_leave');
    const leaves = admin.events.get('wamp.session.on_leave')!;

    // A raw client: the exact GOODBYE, then the close once it answers GOODBYE.
    const victim = await rawAnonymous(r.url, 'victim');
    await call(admin, 'wamp.session.kill', [victim.id]);
    expect(await victim.client.next()).toEqual([6, { message: expect.any(String) }, 'wamp.close.killed']);
    expect(await until('on_leave of the killed session', () => leaves.find((args) => args[0] === victim.id))).toEqual([victim.id, 'victim', 'anonymous']);
    victim.client.send([6, {}, 'wamp.close.goodbye_and_out']);
    expect((await victim.client.waitClosed(3000)).code).toBe(1000);

    // reason and message from kwargs.
    const second = await rawAnonymous(r.url, 'second');
    await call(admin, 'wamp.session.kill', [second.id], { reason: 'com.example.maintenance', message: 'down for maintenance' });
    expect(await second.client.next()).toEqual([6, { message: 'down for maintenance' }, 'com.example.maintenance']);
    second.client.send([6, {}, 'wamp.close.goodbye_and_out']);
    await second.client.waitClosed(3000);

    // An autobahn-js session hears the reason in its close details.
    const app = await wamp(r.url, 'cbor', { authid: 'app' });
    await call(admin, 'wamp.session.kill', [app.id]);
    await within(app.closed, 3000, 'the killed autobahn session to close');
    // (autobahn-js reports 'lost', not 'closed': it closes its WebSocket without a code right after GOODBYE.)
    expect(app.closedWith?.details).toMatchObject({ reason: 'wamp.close.killed', message: 'killed by an administrator' });

    // Not itself, not an unknown id; the admin is still there.
    await expectCallError(call(admin, 'wamp.session.kill', [admin.id]), 'wamp.error.no_such_session');
    await expectCallError(call(admin, 'wamp.session.kill', [987654321]), 'wamp.error.no_such_session');
    expect(admin.connection.isOpen).toBe(true);
    expect(await call(admin, 'wamp.session.list')).toEqual([admin.id]);
  });

  test('an admin kills MQTT sessions: 5.0 gets DISCONNECT 0x98 with a Reason String, 3.1.1 is closed; both leave the realm', async () => {
    const r = await router(patch);
    const admin = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
    const v5 = await dial(r.url, 5, { clientId: 'kill-v5' });
    const v4 = await dial(mqttUrl(r, 'tcp'), 4, { clientId: 'kill-v4' });
    const sessions = await Promise.all(((await call(admin, 'wamp.session.list', [['anonymous']])) as number[]).map((id) => call(admin, 'wamp.session.get', [id])));
    const idOf = (authid: string) => sessions.find((details) => details.authid === authid)!.session as number;

    await call(admin, 'wamp.session.kill', [idOf('kill-v5')]);
    expect(await closedWithin(v5, 3000), 'the killed 5.0 client is closed').toBe(true);
    expect(v5.disconnects.map((d) => d.reasonCode)).toEqual([0x98]);
    expect(typeof v5.disconnects[0]!.properties?.reasonString).toBe('string');

    await call(admin, 'wamp.session.kill', [idOf('kill-v4')]);
    expect(await closedWithin(v4, 3000), 'the killed 3.1.1 client is closed').toBe(true);
    expect(v4.packets.map((p) => p.cmd)).toEqual(['connack']);

    expect(await untilAsync('both MQTT sessions gone', async () => ((await call(admin, 'wamp.session.count')) === 1 ? true : undefined))).toBe(true);
  });

  /** A persistent MQTT 5.0 session (expiry 300 s), its meta session id, and an admin watching on_leave. */
  async function persistent(clientId: string) {
    const r = await router(patch);
    const admin = await wamp(r.url, 'json', { authid: 'root', token: adminToken });
    await listen(admin, 'wamp.session.on_leave');
    const options = { clientId, clean: false, properties: { sessionExpiryInterval: 300 } };
    const c = await dial(r.url, 5, options);
    const [id] = (await call(admin, 'wamp.session.list', [['anonymous']])) as number[];
    expect(await call(admin, 'wamp.session.get', [id])).toMatchObject({ authid: clientId, transport: { protocol: 'mqtt' } });
    return { r, admin, c, id: id!, options, leaves: admin.events.get('wamp.session.on_leave')! };
  }

  test('killing a connected persistent MQTT 5.0 session: DISCONNECT 0x98, and the session ends (leaves the realm, is not resumed)', async () => {
    const { r, admin, c, id, options, leaves } = await persistent('persistent-online');
    await call(admin, 'wamp.session.kill', [id]);
    expect(await closedWithin(c, 3000)).toBe(true);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x98]);
    await sleep(300);
    expect(leaves, 'on_leave of the killed session').toEqual([[id, 'persistent-online', 'anonymous']]);
    expect(await call(admin, 'wamp.session.list', [['anonymous']]), 'a killed session is not listed').toEqual([]);
    const again = await dial(r.url, 5, options);
    expect(again.connack.sessionPresent, 'a killed session is not resumed').toBe(false);
  });

  test('killing an offline persistent MQTT 5.0 session ends it (the kill must not succeed without effect)', async () => {
    const { r, admin, c, id, options, leaves } = await persistent('persistent-offline');
    await c.client.endAsync();
    await sleep(100);
    expect(await call(admin, 'wamp.session.list', [['anonymous']]), 'the offline session is still a session of the realm').toEqual([id]);
    await call(admin, 'wamp.session.kill', [id]);
    await sleep(300);
    expect(leaves, 'on_leave of the killed session').toEqual([[id, 'persistent-offline', 'anonymous']]);
    expect(await call(admin, 'wamp.session.list', [['anonymous']]), 'a killed session is not listed').toEqual([]);
    const again = await dial(r.url, 5, options);
    expect(again.connack.sessionPresent, 'a killed session is not resumed').toBe(false);
  });
});

async function untilAsync<T>(what: string, check: () => Promise<T | undefined>, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out waiting for ${what}`)))]);
}

// ---------------------------------------------------------------------------------------------------------------
// Token expiry and MQTT 5 re-authentication (one router, concurrent tests, own authids each)

let auth: TestRouter;
beforeAll(async () => {
  auth = await startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: false }, { tcp: true });
});
afterAll(async () => {
  await auth?.close();
});

/** Asserts the router ended the session at its token's `exp`: not before (timer slack aside), and promptly after. */
function expectAtExpiry(at: number, exp: number, start: number): void {
  expect(at - start, 'ended at least ~1.5 s after login').toBeGreaterThanOrEqual(1500);
  expect(at, 'not before exp').toBeGreaterThanOrEqual(exp * 1000 - 100);
  expect(at, 'within 2 s after exp').toBeLessThanOrEqual(exp * 1000 + 2000);
  expect(at - start, 'within ~5 s').toBeLessThanOrEqual(5500);
}

describe.concurrent('token expiry ends the session', () => {
  test('WAMP (ticket): GOODBYE wamp.close.token_expired at exp; on_leave at once; the transport closes even without a GOODBYE reply', async () => {
    const observer = await wamp(auth.url, 'json', { authid: 'observer', token: await hs256({ sub: 'observer' }) });
    await listen(observer, 'wamp.session.on_leave');
    const leaves = observer.events.get('wamp.session.on_leave')!;
    const start = Date.now();
    const exp = expIn(2);
    const { client, id } = await rawTicket(auth.url, await hs256({ sub: 'short-wamp', expiresIn: exp }), 'short-wamp');
    // The session works until then.
    client.send([48, 1, {}, 'wamp.session.count']);
    expect((await client.next()).slice(0, 2)).toEqual([50, 1]);

    const goodbye = await client.next(exp * 1000 + 3000 - Date.now());
    const at = Date.now();
    expect(goodbye).toEqual([6, { message: expect.any(String) }, 'wamp.close.token_expired']);
    expectAtExpiry(at, exp, start);
    expect(await until('on_leave of the expired session', () => leaves.find((args) => args[0] === id), 1000)).toEqual([id, 'short-wamp', 'user']);
    // No GOODBYE reply from this client: the router closes the transport itself.
    expect((await client.waitClosed(4000)).code).toBe(1000);
    // Other sessions are untouched.
    expect(observer.connection.isOpen).toBe(true);
  });

  test('WAMP (autobahn-js, CBOR, ticket): the connection closes with reason wamp.close.token_expired', async () => {
    const start = Date.now();
    const exp = expIn(2);
    const app = await wamp(auth.url, 'cbor', { authid: 'short-autobahn', token: await hs256({ sub: 'short-autobahn', expiresIn: exp }) });
    expect(await app.session.call('wamp.session.count')).toBeGreaterThanOrEqual(1);
    await within(app.closed, exp * 1000 + 3000 - Date.now(), 'the close at token expiry');
    expectAtExpiry(Date.now(), exp, start);
    expect(app.closedWith?.details).toMatchObject({ reason: 'wamp.close.token_expired' });
  });

  test('MQTT 5.0 (token as password): DISCONNECT 0x87 with a Reason String at exp, then the close; the session leaves', async () => {
    const observer = await wamp(auth.url, 'json', { authid: 'observer-5', token: await hs256({ sub: 'observer-5' }) });
    await listen(observer, 'wamp.session.on_leave');
    const leaves = observer.events.get('wamp.session.on_leave')!;
    const start = Date.now();
    const exp = expIn(2);
    const c = await dial(auth.url, 5, { clientId: 'short-v5', username: 'short-v5', password: await hs256({ sub: 'short-v5', expiresIn: exp }) });
    expect(await closedWithin(c, exp * 1000 + 3000 - Date.now()), 'closed at token expiry').toBe(true);
    expectAtExpiry(c.closedAt!, exp, start);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
    const reasonString = c.disconnects[0]!.properties?.reasonString;
    expect(typeof reasonString).toBe('string');
    expect(reasonString!.length).toBeGreaterThan(0);
    expect(await until('on_leave of the expired MQTT session', () => leaves.find((args) => args[1] === 'short-v5'), 1500)).toMatchObject([expect.any(Number), 'short-v5', 'user']);
  });

  test('MQTT 3.1.1 (token as password): the connection is closed at exp, with no packet', async () => {
    const start = Date.now();
    const exp = expIn(2);
    const c = await dial(mqttUrl(auth, 'tcp'), 4, { clientId: 'short-v4', username: 'short-v4', password: await hs256({ sub: 'short-v4', expiresIn: exp }) });
    expect(await closedWithin(c, exp * 1000 + 3000 - Date.now()), 'closed at token expiry').toBe(true);
    expectAtExpiry(c.closedAt!, exp, start);
    expect(c.packets.map((p) => p.cmd)).toEqual(['connack']);
  });

  test('MQTT 5.0: a persistent session resumed with a fresh token is not cut at the old token\'s exp', async () => {
    const exp = expIn(2);
    const options = { clientId: 'resume-fresh', username: 'resume-fresh', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-fresh', expiresIn: exp }) });
    await first.client.endAsync();
    const second = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-fresh', expiresIn: '5m' }) });
    expect(second.connack.sessionPresent).toBe(true);
    await sleep(exp * 1000 + 1500 - Date.now());
    expect(second.disconnects.map((d) => d.reasonCode), 'no DISCONNECT: the current token is valid for minutes').toEqual([]);
    expect(second.closedAt).toBeUndefined();
    // Clean up the persistent session.
    await second.client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  });

  test('MQTT 5.0: a persistent session resumed with a new token takes that token\'s role (as the meta API shows)', async () => {
    const admin = await wamp(auth.url, 'json', { authid: 'root', token: await hs256({ sub: 'root', claims: { role: 'admin' } }) });
    const options = { clientId: 'resume-role', username: 'resume-role', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-role', claims: { role: 'operator' } }) });
    const find = async () => {
      const ids = (await call(admin, 'wamp.session.list')) as number[];
      const all = await Promise.all(ids.map((id) => call(admin, 'wamp.session.get', [id]).catch(() => undefined)));
      return all.find((details) => details?.authid === 'resume-role');
    };
    expect(await find()).toMatchObject({ authrole: 'operator' });
    await first.client.endAsync();
    const second = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-role', claims: { role: 'viewer' } }) });
    expect(second.connack.sessionPresent).toBe(true);
    expect(await find(), 'the session acts with the role of the token it connected with now').toMatchObject({ authrole: 'viewer' });
    await second.client.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
  });

  test('MQTT 5.0: a persistent session resumed with a short-lived token is cut at that token\'s exp (0x87)', async () => {
    const options = { clientId: 'resume-short', username: 'resume-short', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-short', expiresIn: '5m' }) });
    await first.client.endAsync();
    const start = Date.now();
    const exp = expIn(2);
    const second = await dial(auth.url, 5, { ...options, password: await hs256({ sub: 'resume-short', expiresIn: exp }) });
    expect(second.connack.sessionPresent).toBe(true);
    expect(await closedWithin(second, exp * 1000 + 3000 - Date.now()), 'closed at the expiry of the token it connected with').toBe(true);
    expectAtExpiry(second.closedAt!, exp, start);
    expect(second.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
  });
});

describe.concurrent('MQTT 5.0 re-authentication (AUTH 0x19, method JWT)', () => {
  const jwtLogin = (token: string) => ({ properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(token) } });
  const reauth = (c: Mqtt, token: string) => sendAuth(c, 0x19, { authenticationMethod: 'JWT', authenticationData: Buffer.from(token) });

  test('a fresh token for the same subject is answered with AUTH 0x00; the session outlives the first token', async () => {
    const exp = expIn(2);
    const c = await dial(mqttUrl(auth, 'tcp'), 5, { clientId: 'reauth-ok', ...jwtLogin(await hs256({ sub: 'reauth-ok', expiresIn: exp })) });
    expect(c.connack.properties?.authenticationMethod, 'CONNACK echoes the method').toBe('JWT');
    await c.client.subscribeAsync('reauth/ok', { qos: 1 });
    reauth(c, await hs256({ sub: 'reauth-ok', expiresIn: '5m' }));
    const answer = (await until('AUTH from the router', () => c.packets.find((p) => p.cmd === 'auth'))) as IAuthPacket;
    expect(answer.reasonCode).toBe(0x00);
    expect(answer.properties?.authenticationMethod).toBe('JWT');

    await sleep(exp * 1000 + 1500 - Date.now());
    expect(c.disconnects, 'no DISCONNECT after the first token expired').toEqual([]);
    expect(c.closedAt).toBeUndefined();
    await c.client.publishAsync('reauth/ok', 'still here', { qos: 1 });
    expect(await until('the message', () => c.messages.find((m) => m.payload === 'still here'))).toBeDefined();
  });

  test('a re-authentication that is itself short-lived moves the expiry to the new token', async () => {
    const c = await dial(auth.url, 5, { clientId: 'reauth-short', ...jwtLogin(await hs256({ sub: 'reauth-short', expiresIn: '5m' })) });
    const start = Date.now();
    const exp = expIn(2);
    reauth(c, await hs256({ sub: 'reauth-short', expiresIn: exp }));
    expect(((await until('AUTH from the router', () => c.packets.find((p) => p.cmd === 'auth'))) as IAuthPacket).reasonCode).toBe(0x00);
    expect(await closedWithin(c, exp * 1000 + 3000 - Date.now()), 'closed at the new exp').toBe(true);
    expectAtExpiry(c.closedAt!, exp, start);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
  });

  test('a bad token (wrong signature) gets DISCONNECT 0x87', async () => {
    const c = await dial(auth.url, 5, { clientId: 'reauth-bad', ...jwtLogin(await hs256({ sub: 'reauth-bad' })) });
    reauth(c, await hs256({ sub: 'reauth-bad' }, 'another-secret-that-is-long-enough-for-hs256'));
    expect(await closedWithin(c, 3000)).toBe(true);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
    expect(typeof c.disconnects[0]!.properties?.reasonString).toBe('string');
    expect(c.packets.some((p) => p.cmd === 'auth'), 'no AUTH success').toBe(false);
  });

  test('an expired token or garbage gets DISCONNECT 0x87', async () => {
    const expired = await dial(auth.url, 5, { clientId: 'reauth-expired', ...jwtLogin(await hs256({ sub: 'reauth-expired' })) });
    const garbage = await dial(mqttUrl(auth, 'tcp'), 5, { clientId: 'reauth-garbage', ...jwtLogin(await hs256({ sub: 'reauth-garbage' })) });
    reauth(expired, await hs256({ sub: 'reauth-expired', expiresIn: Math.floor(Date.now() / 1000) - 60 }));
    reauth(garbage, 'not.a.token');
    for (const c of [expired, garbage]) {
      expect(await closedWithin(c, 3000)).toBe(true);
      expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
    }
  });

  test('a token for another subject gets DISCONNECT 0x87', async () => {
    const c = await dial(auth.url, 5, { clientId: 'reauth-other', ...jwtLogin(await hs256({ sub: 'reauth-other' })) });
    reauth(c, await hs256({ sub: 'mallory' }));
    expect(await closedWithin(c, 3000)).toBe(true);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x87]);
    expect(typeof c.disconnects[0]!.properties?.reasonString).toBe('string');
  });

  test('AUTH from a client that connected with a password (no Authentication Method) is a protocol error: DISCONNECT 0x82', async () => {
    const c = await dial(auth.url, 5, { clientId: 'reauth-password', username: 'reauth-password', password: await hs256({ sub: 'reauth-password' }) });
    reauth(c, await hs256({ sub: 'reauth-password' }));
    expect(await closedWithin(c, 3000)).toBe(true);
    expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x82]);
  });

  test('AUTH with another reason code than 0x19, or another method than JWT, is a protocol error: DISCONNECT 0x82', async () => {
    const token = await hs256({ sub: 'reauth-proto' });
    const continued = await dial(auth.url, 5, { clientId: 'reauth-0x18', ...jwtLogin(token) });
    const otherMethod = await dial(auth.url, 5, { clientId: 'reauth-method', ...jwtLogin(token) });
    sendAuth(continued, 0x18, { authenticationMethod: 'JWT', authenticationData: Buffer.from(token) });
    sendAuth(otherMethod, 0x19, { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from(token) });
    for (const c of [continued, otherMethod]) {
      expect(await closedWithin(c, 3000)).toBe(true);
      expect(c.disconnects.map((d) => d.reasonCode)).toEqual([0x82]);
    }
  });
});
