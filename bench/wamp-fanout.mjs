// Quick WAMP fan-out measurement: 1 publisher to N subscribers over wamp.2.json or wamp.2.cbor, against the
// built router running as its own process. Load clients are raw `ws` sockets sending pre-encoded messages,
// so the clients are not the bottleneck. Prints deliveries per second.
// Usage: node bench/wamp-fanout.mjs [subscribers=100] [messages=20000] [json|cbor]
import { Decoder, Encoder } from 'cbor-x';
import WebSocket from 'ws';
import { startRouter } from './router-process.mjs';

const subscribers = Number(process.argv[2] ?? 100);
const messages = Number(process.argv[3] ?? 20000);
const serialization = process.argv[4] ?? 'json';
const WINDOW = 2000; // messages the publisher may run ahead of the slowest subscriber

const cbor = { enc: new Encoder({ useRecords: false }), dec: new Decoder({ useRecords: false, int64AsNumber: true }) };
const encode = (m) => (serialization === 'cbor' ? cbor.enc.encode(m) : JSON.stringify(m));
const decode = (d) => (serialization === 'cbor' ? cbor.dec.decode(d) : JSON.parse(d.toString()));

const { port, child: router } = await startRouter([]);

function client(onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [`wamp.2.${serialization}`]);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(encode([1, 'realm1', { roles: { publisher: {}, subscriber: {} } }]));
      ws.once('message', () => {
        ws.on('message', onMessage);
        resolve(ws);
      });
    });
  });
}

let delivered = 0;
const counts = new Array(subscribers).fill(0);
const subs = [];
for (let i = 0; i < subscribers; i++) {
  let subscribed;
  const ready = new Promise((resolve) => (subscribed = resolve));
  const ws = await client((data) => {
    if (counts[i] === 0 && subscribed) {
      const msg = decode(data);
      if (msg[0] === 33) {
        subscribed();
        subscribed = undefined;
        return;
      }
    }
    counts[i]++;
    delivered++;
  });
  ws.send(encode([32, 1, {}, 'bench.topic']));
  await ready;
  subs.push(ws);
}
const publisher = await client(() => undefined);
const frame = encode([16, 1, {}, 'bench.topic', ['x'.repeat(48)]]); // ~64-byte payload message

const started = process.hrtime.bigint();
let sent = 0;
await new Promise((resolve) => {
  const pump = () => {
    const slowest = Math.min(...counts);
    while (sent < messages && sent - slowest < WINDOW) {
      publisher.send(frame);
      sent++;
    }
    if (slowest >= messages) resolve();
    else setImmediate(pump);
  };
  pump();
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const rate = Math.round(delivered / seconds);
console.log(
  `wamp.2.${serialization} fan-out 1->${subscribers}: ${messages} publications, ${delivered} deliveries in ${seconds.toFixed(2)} s = ${rate.toLocaleString('en')} deliveries/s (${Math.round(messages / seconds).toLocaleString('en')} publications/s)`,
);
for (const ws of [...subs, publisher]) ws.terminate();
router.kill('SIGKILL');
