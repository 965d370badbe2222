// A WAMP client (the same code runs in a browser with autobahn-browser) that watches a device's readings and
// calls the procedure the device implements over MQTT.
// Run: node examples/calling-devices/call-device.mjs [id] [on|off] [url]
import autobahn from 'autobahn';

const id = process.argv[2] ?? 'd1';
const state = process.argv[3] ?? 'on';
const url = process.argv[4] ?? 'ws://127.0.0.1:8080/';
const token = process.env.SWITCHBOARD_TOKEN;

const connection = new autobahn.Connection({
  url,
  realm: 'realm1',
  max_retries: 0,
  ...(token ? { authmethods: ['ticket'], onchallenge: () => token } : {}),
});

connection.onopen = async (session) => {
  // The device publishes to MQTT topic devices/<id>/temperature: WAMP topic devices.<id>.temperature.
  await session.subscribe(`devices.${id}.temperature`, ([reading]) => console.log('reading:', reading));
  try {
    const result = await session.call(`devices.${id}.led.set`, [state], {}, { timeout: 5000 });
    console.log('the device answered:', result);
  } catch (error) {
    console.error('the call failed:', error.error, error.args);
  }
  setTimeout(() => connection.close(), 2500);
};

connection.open();
