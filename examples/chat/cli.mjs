// A command-line chat client on MQTT (mqtt.js over WebSocket): every line typed is published to chat/<room>,
// and every message in the room is printed as "<from>: <text>". Browsers in the same room use WAMP topic
// chat.<room> (README, "Topics and payloads across protocols"): the router carries messages both ways.
//
// Run: node examples/chat/cli.mjs [name] [ws-url] [room]    (run.mjs starts one for you)
// Plain MQTT tools can join too: with the router's TCP port open (run.mjs --mqtt-port 1883),
//   mosquitto_sub -p 1883 -t chat/lobby   and   mosquitto_pub -p 1883 -t chat/lobby -m '{"from":"sh","text":"hi"}'
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';

/** Connects, joins the room, and relays between `input` lines and `output`. Resolves once subscribed. */
export async function startCli({ name, url, room = 'lobby', input = process.stdin, output = process.stdout }) {
  const topic = `chat/${room}`;
  const client = mqtt.connect(url, {
    protocolVersion: 5,
    clientId: `chat-${name}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 1000,
  });
  const say = (line) => output.write(`${line}\n`);

  client.on('message', (_topic, payload) => {
    const message = parse(payload.toString());
    say(`${message.from}: ${message.text}`);
  });
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  // No Local: the terminal already shows what was typed, so the router need not echo it back.
  await client.subscribeAsync(topic, { qos: 1, nl: true });
  say(`joined ${topic} as ${name} (browsers: WAMP topic chat.${room}); type a line and press Enter`);

  const lines = createInterface({ input });
  lines.on('line', (line) => {
    const text = line.trim();
    if (text === '') return;
    // The same shape the page publishes: one JSON object, which WAMP subscribers get as args[0].
    client.publish(topic, JSON.stringify({ from: name, text, at: new Date().toISOString() }), { qos: 1 });
  });
  return {
    async stop() {
      lines.close();
      await client.endAsync();
    },
  };
}

/** A chat message from anyone: the JSON object the clients send, or plain text from a tool like mosquitto_pub. */
function parse(text) {
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === 'object' && typeof value.text === 'string') {
      return { from: String(value.from ?? '?'), text: value.text };
    }
  } catch {
    // not JSON: plain text
  }
  return { from: '(mqtt)', text };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cli = await startCli({
    name: process.argv[2] ?? process.env.USER ?? 'terminal',
    url: process.argv[3] ?? 'ws://127.0.0.1:8080/',
    room: process.argv[4] ?? 'lobby',
  });
  const stop = () => cli.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
}
