// The client half of .ci/docker-smoke.sh: real clients on the host talk to the router in the container, the way
// a user's browser and devices would, through the published ports and the mounted examples/compose-config.json.
//
//   node .ci/docker-smoke-clients.mjs exchange      MQTT -> WAMP and WAMP -> MQTT, one message each way
//   node .ci/docker-smoke-clients.mjs retain        a device publishes a retained MQTT message
//   node .ci/docker-smoke-clients.mjs retained      a fresh WAMP subscriber gets that retained message
//
// Environment: SMOKE_WS_URL (ws:// or wss://127.0.0.1:PORT/), SMOKE_MQTT_URL (mqtt:// or mqtts://127.0.0.1:PORT),
// SMOKE_JWT_SECRET (the secret the container was started with); for TLS, NODE_EXTRA_CA_CERTS names the router's
// test certificate, which the clients then verify like any other. Exits non-zero, saying why, on any failure.
import { SignJWT } from 'jose';
import mqtt from 'mqtt';

const wsUrl = required('SMOKE_WS_URL');
const mqttUrl = required('SMOKE_MQTT_URL');
const secret = new TextEncoder().encode(required('SMOKE_JWT_SECRET'));
const TIMEOUT_MS = 5000;

// autobahn-js warns on every close, deliberate ones included, and those lines would read like trouble here. It
// binds console.warn when it loads, so the filter goes in first and autobahn is imported after it.
const warn = console.warn;
console.warn = (first, ...rest) => {
  if (typeof first === 'string' && /^(connection closed|auto-reconnect disabled)/.test(first)) return;
  warn(first, ...rest);
};
const { default: autobahn } = await import('autobahn');
const started = performance.now();

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function log(line) {
  console.log(`  [clients ${((performance.now() - started) / 1000).toFixed(2)}s] ${line}`);
}

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The roles are the ones examples/compose-config.json gives rules to, so the rules are exercised too.
function token(sub, role) {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(secret);
}

async function openWamp(authid) {
  const ticket = await token(authid, 'user');
  const connection = new autobahn.Connection({
    url: wsUrl,
    realm: 'realm1',
    serializers: [new autobahn.serializer.JSONSerializer()],
    authmethods: ['ticket'],
    authid,
    onchallenge: () => ticket,
    max_retries: 0,
  });
  let closed;
  const done = new Promise((resolve) => (closed = resolve));
  const { session, details } = await within(
    new Promise((resolve, reject) => {
      connection.onopen = (opened, welcome) => resolve({ session: opened, details: welcome });
      connection.onclose = (reason, info) => {
        closed();
        reject(new Error(`WAMP connection closed: ${reason} ${JSON.stringify(info)}`));
        return true;
      };
      connection.open();
    }),
    'WAMP WELCOME',
  );
  const protocol = connection.transport.info.protocol;
  if (protocol !== 'wamp.2.json') throw new Error(`WAMP negotiated ${protocol}, expected wamp.2.json`);
  const login = `${details.authid}/${details.authrole}/${details.authmethod}`;
  if (login !== `${authid}/user/ticket`) throw new Error(`WAMP logged in as ${login}, expected ${authid}/user/ticket`);
  log(`WAMP ${wsUrl} (${protocol}) joined realm1 as authid ${details.authid}, role ${details.authrole}, by ${details.authmethod}`);
  return {
    session,
    close: () => {
      connection.close();
      return done;
    },
  };
}

// mqtt.js opens a ws:// URL with the `mqtt` subprotocol, so this is MQTT over the router's WebSocket port.
async function openMqtt(url, clientId) {
  const password = await token(clientId, 'device');
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId,
    username: clientId,
    password,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
  });
  await within(
    new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    }),
    `MQTT CONNACK from ${url}`,
  );
  log(`MQTT ${url} connected as ${clientId}`);
  return client;
}

function nextMqttMessage(client, topic) {
  return within(
    new Promise((resolve) => {
      const onMessage = (received, payload, packet) => {
        if (received !== topic) return;
        client.off('message', onMessage);
        resolve({ payload: payload.toString('utf8'), retain: packet.retain });
      };
      client.on('message', onMessage);
    }),
    `MQTT message on ${topic}`,
  );
}

function nextWampEvent(session, uri) {
  return within(
    new Promise((resolve, reject) => {
      session.subscribe(uri, (args, kwargs, details) => resolve({ args, details })).catch(reject);
    }),
    `WAMP event on ${uri}`,
  );
}

/** `ws`, `wss`, `mqtt` or `mqtts`: which of the router's listeners a client used. */
function scheme(url) {
  return new URL(url).protocol.slice(0, -1);
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
  log(`ok: ${what}: ${JSON.stringify(actual)}`);
}

async function exchange() {
  const wamp = await openWamp('smoke-browser');
  const wsDevice = await openMqtt(wsUrl, 'smoke-ws-device');
  const tcpDevice = await openMqtt(mqttUrl, 'smoke-tcp-device');
  try {
    // MQTT (over the WebSocket port) -> WAMP
    const telemetry = { temperature: 21.5 };
    const event = nextWampEvent(wamp.session, 'devices.smoke-ws-device.telemetry');
    // Subscribing is a round trip; publishing before it completes could race the subscription.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await wsDevice.publishAsync('devices/smoke-ws-device/telemetry', JSON.stringify(telemetry), { qos: 1 });
    expectEqual((await event).args, [telemetry], `MQTT publish over ${scheme(wsUrl)} reached the WAMP subscriber`);

    // WAMP -> MQTT, to a device on the WebSocket port and one on an MQTT port (1883, or 8883 with TLS).
    await wsDevice.subscribeAsync('devices/+/commands', { qos: 1 });
    await tcpDevice.subscribeAsync('devices/+/commands', { qos: 1 });
    const overWs = nextMqttMessage(wsDevice, 'devices/smoke-ws-device/commands');
    const overTcp = nextMqttMessage(tcpDevice, 'devices/smoke-ws-device/commands');
    await wamp.session.publish('devices.smoke-ws-device.commands', ['blink'], {}, { acknowledge: true });
    expectEqual((await overWs).payload, 'blink', `WAMP publish reached the MQTT subscriber over ${scheme(wsUrl)}`);
    expectEqual((await overTcp).payload, 'blink', `WAMP publish reached the MQTT subscriber over ${scheme(mqttUrl)}`);
  } finally {
    await Promise.all([wamp.close(), wsDevice.endAsync(), tcpDevice.endAsync()]);
  }
}

const RETAINED_TOPIC = 'devices/smoke-tcp-device/status';
const RETAINED_VALUE = { state: 'online', firmware: '1.2.3' };

async function retain() {
  const device = await openMqtt(mqttUrl, 'smoke-tcp-device');
  try {
    await device.publishAsync(RETAINED_TOPIC, JSON.stringify(RETAINED_VALUE), { qos: 1, retain: true });
    log(`published a retained message on ${RETAINED_TOPIC}`);
  } finally {
    await device.endAsync();
  }
}

async function retained() {
  const wamp = await openWamp('smoke-late-browser');
  try {
    const event = await within(
      new Promise((resolve, reject) => {
        wamp.session
          .subscribe(RETAINED_TOPIC.replaceAll('/', '.'), (args, kwargs, details) => resolve({ args, details }), {
            get_retained: true,
          })
          .catch(reject);
      }),
      `the retained event on ${RETAINED_TOPIC}`,
    );
    expectEqual(event.args, [RETAINED_VALUE], 'a later WAMP subscriber got the retained MQTT message');
    expectEqual(event.details.retained === true, true, 'the event is marked retained');
  } finally {
    await wamp.close();
  }
}

const phases = { exchange, retain, retained };
const phase = phases[process.argv[2] ?? 'exchange'];
if (!phase) {
  console.error(`unknown phase ${process.argv[2]}; one of ${Object.keys(phases).join(', ')}`);
  process.exit(2);
}
try {
  await phase();
  process.exit(0);
} catch (error) {
  console.error(`  [clients] FAILED: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
