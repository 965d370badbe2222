// A simulated sensor board on MQTT 5. It publishes a reading (temperature, humidity, LED state) to
// devices/<id>/telemetry every second, retained so that a dashboard opened later sees the last one at once, and
// implements the procedure devices.<id>.led.set through the router's `$rpc/` convention (README, "Calling
// devices from the browser").
//
// Run on its own:   SWITCHBOARD_TOKEN=<device token> node examples/dashboard/device.mjs [id] [ws-url]
// run.mjs starts it in-process, and the browser test imports startDevice to watch what it does.
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';

/**
 * Connects a device and starts publishing. Resolves once its procedure is registered, so that a caller can rely
 * on it. The returned object records every reading sent and every call answered.
 */
export async function startDevice({ url, id = 'd1', token, intervalMs = 1000, log = () => {} }) {
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId: `dashboard-device-${id}`,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
    ...(token ? { username: id, password: token } : {}),
  });
  const device = { id, led: 'off', readings: [], calls: [], stop };
  // A random walk looks like a real room more than independent random numbers do.
  let temperature = 20 + Math.random() * 3;
  let humidity = 40 + Math.random() * 10;
  let timer;

  function publishReading() {
    temperature = clamp(temperature + (Math.random() - 0.5) * 0.6, 15, 30);
    humidity = clamp(humidity + (Math.random() - 0.5) * 1.5, 20, 80);
    const reading = { temperature: round1(temperature), humidity: round1(humidity), led: device.led, at: new Date().toISOString() };
    device.readings.push(reading);
    client.publish(`devices/${id}/telemetry`, JSON.stringify(reading), { qos: 0, retain: true });
  }

  // Each invocation is a PUBLISH on the procedure's $rpc topic, carrying a Response Topic and Correlation Data
  // to answer with. The call's single string argument arrives as plain text.
  client.on('message', (topic, payload, packet) => {
    const { responseTopic, correlationData } = packet.properties ?? {};
    if (topic !== `$rpc/devices/${id}/led/set` || responseTopic === undefined) return;
    const wanted = payload.toString();
    device.calls.push(wanted);
    if (wanted !== 'on' && wanted !== 'off') {
      // An error reaches the caller as the URI in the user property wamp_error, with the payload as its args.
      client.publish(responseTopic, JSON.stringify({ args: [`the LED can be 'on' or 'off', not '${wanted}'`] }), {
        qos: 1,
        properties: { correlationData, userProperties: { wamp_error: 'com.example.error.bad_state' } },
      });
      return;
    }
    device.led = wanted;
    log(`device ${id}: LED ${wanted}`);
    client.publish(responseTopic, JSON.stringify({ device: id, led: wanted, at: new Date().toISOString() }), {
      qos: 1,
      properties: { correlationData },
    });
    // Show the new state on dashboards now rather than at the next tick.
    publishReading();
  });

  try {
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
  } catch (error) {
    // A refused login would otherwise be retried forever by mqtt.js.
    client.end(true);
    throw new Error(`device ${id}: cannot connect: ${error.message}`);
  }
  // Subscribing to $rpc/... is how an MQTT device registers a procedure with the router.
  const [granted] = await client.subscribeAsync(`$rpc/devices/${id}/led/set`, { qos: 1 });
  if (granted === undefined || granted.qos > 2) throw new Error(`device ${id}: registration refused (reason ${granted?.qos})`);
  log(`device ${id}: connected, procedure devices.${id}.led.set registered`);
  publishReading();
  timer = setInterval(publishReading, intervalMs);

  async function stop() {
    clearInterval(timer);
    await client.endAsync();
  }
  return device;
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

function round1(value) {
  return Math.round(value * 10) / 10;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const id = process.argv[2] ?? 'd1';
  const url = process.argv[3] ?? 'ws://127.0.0.1:8080/';
  const device = await startDevice({ url, id, token: process.env.SWITCHBOARD_TOKEN, log: console.log });
  process.on('SIGINT', () => device.stop().then(() => process.exit(0)));
}
