// Quick MQTT fan-out measurement over WebSocket: 1 publisher to N subscribers, QoS 0 or 1, 64-byte payloads,
// against the built router running as its own process. Clients are raw `ws` sockets with pre-encoded packets
// (MQTT 3.1.1); QoS 1 subscribers acknowledge every message. Prints deliveries per second.
// Usage: node bench/mqtt-fanout.mjs [subscribers=100] [messages=20000] [qos=0]
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { startRouter } from './router-process.mjs';

const subscribers = Number(process.argv[2] ?? 100);
const messages = Number(process.argv[3] ?? 20000);
const qos = Number(process.argv[4] ?? 0);
// How far the publisher may run ahead of the slowest subscriber: below the router's per-client window plus
// queue, so that nothing is dropped for being offered faster than it can be delivered.
const WINDOW = 500;
const STALL_MS = 3000;

const { port, child: router } = await startRouter(['--mqtt-max-inflight', '1000']);

const encode = (packet) => mqttPacket.generate(packet);
let nextClient = 0;
function client(onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `bench-${nextClient++}`, keepalive: 0 }));
      ws.once('message', () => {
        ws.on('message', (data) => onMessage(ws, data));
        resolve(ws);
      });
    });
  });
}

/** The packet id of a QoS 1 PUBLISH frame, read straight from its bytes. */
function packetIdOf(data) {
  let offset = 1;
  while (data[offset] & 0x80) offset++;
  offset++;
  const topicLength = data.readUInt16BE(offset);
  return data.readUInt16BE(offset + 2 + topicLength);
}

let delivered = 0;
const counts = new Array(subscribers).fill(0);
const subs = [];
for (let i = 0; i < subscribers; i++) {
  let subscribed;
  const ready = new Promise((resolve) => (subscribed = resolve));
  const ws = await client((socket, data) => {
    const type = data[0] >> 4;
    if (type === 9) return subscribed(); // SUBACK
    if (type !== 3) return;
    counts[i]++;
    delivered++;
    if (qos === 1) {
      const id = packetIdOf(data);
      socket.send(Buffer.from([0x40, 0x02, id >> 8, id & 0xff]));
    }
  });
  ws.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/topic', qos }] }));
  await ready;
  subs.push(ws);
}

let acked = 0;
const publisher = await client((_socket, data) => {
  if (data[0] >> 4 === 4) acked++; // PUBACK
});
const payload = Buffer.alloc(64, 'x');
const frames = [];
for (let id = 1; id <= 65535 && id <= messages; id++) {
  frames.push(encode({ cmd: 'publish', topic: 'bench/topic', payload, qos, messageId: qos ? id : undefined }));
}

const started = process.hrtime.bigint();
let sent = 0;
let lastProgress = Date.now();
let lastDelivered = 0;
await new Promise((resolve) => {
  const pump = () => {
    let slowest = counts[0];
    for (let i = 1; i < counts.length; i++) if (counts[i] < slowest) slowest = counts[i];
    const confirmed = qos ? Math.min(slowest, acked) : slowest;
    while (sent < messages && sent - confirmed < WINDOW) {
      publisher.send(frames[sent % frames.length]);
      sent++;
    }
    if (delivered !== lastDelivered) {
      lastDelivered = delivered;
      lastProgress = Date.now();
    }
    if (slowest >= messages || Date.now() - lastProgress > STALL_MS) resolve();
    else setImmediate(pump);
  };
  pump();
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9 - (delivered < messages * subscribers ? STALL_MS / 1000 : 0);
const lost = messages * subscribers - delivered;
if (lost > 0) console.log(`lost: ${lost} deliveries never arrived`);
console.log(
  `mqtt/ws QoS ${qos} fan-out 1->${subscribers}: ${messages} publications, ${delivered} deliveries in ${seconds.toFixed(2)} s = ${Math.round(delivered / seconds).toLocaleString('en')} deliveries/s`,
);
for (const ws of [...subs, publisher]) ws.terminate();
router.kill('SIGKILL');
