// A simulated device on MQTT 5: it implements the procedure `devices.<id>.led.set` through the `$rpc/` prefix
// and publishes a temperature reading every second. Run: node examples/calling-devices/device.mjs [id] [url]
// With JWT login, put a token in SWITCHBOARD_TOKEN (see examples/mint-token.mjs).
import mqtt from 'mqtt';

const id = process.argv[2] ?? 'd1';
const url = process.argv[3] ?? 'ws://127.0.0.1:8080/';
const token = process.env.SWITCHBOARD_TOKEN;
const client = mqtt.connect(url, {
  protocolVersion: 5,
  clientId: `device-${id}`,
  ...(token ? { username: id, password: token } : {}),
});

let led = 'off';

client.on('connect', async () => {
  // Subscribing to $rpc/... registers the procedure devices.<id>.led.set with the router.
  await client.subscribeAsync(`$rpc/devices/${id}/led/set`, { qos: 1 });
  console.log(`device ${id}: registered devices.${id}.led.set`);
  setInterval(() => {
    const reading = { celsius: Math.round((20 + Math.random() * 5) * 10) / 10, at: new Date().toISOString() };
    client.publish(`devices/${id}/temperature`, JSON.stringify(reading), { qos: 0 });
  }, 1000).unref();
});

// Every invocation arrives as a PUBLISH on the procedure's $rpc topic, with a Response Topic and Correlation
// Data to answer with. A single string argument arrives as plain text.
client.on('message', (topic, payload, packet) => {
  const { responseTopic, correlationData } = packet.properties ?? {};
  if (!topic.startsWith('$rpc/') || responseTopic === undefined) return;
  const wanted = payload.toString();
  if (wanted !== 'on' && wanted !== 'off') {
    // An error: the user property wamp_error carries the URI; the payload carries its arguments.
    client.publish(responseTopic, JSON.stringify({ args: [`cannot set the LED to '${wanted}'`] }), {
      qos: 1,
      properties: { correlationData, userProperties: { wamp_error: 'com.example.error.bad_state' } },
    });
    return;
  }
  led = wanted;
  console.log(`device ${id}: LED ${led}`);
  client.publish(responseTopic, JSON.stringify({ led }), { qos: 1, properties: { correlationData } });
});

process.on('SIGINT', () => client.end(() => process.exit(0)));
