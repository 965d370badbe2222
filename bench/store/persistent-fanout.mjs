#!/usr/bin/env node
/**
 * What durability costs: MQTT QoS 1 fan-out, 1 publisher to N persistent subscribers (clean session 0) over
 * WebSocket, 64-byte payloads, with the router on the memory store and then on the embedded store under each
 * fsync policy, in one run. Raw `ws` clients with pre-encoded packets; subscribers acknowledge every message.
 *
 *   node bench/store/persistent-fanout.mjs [subscribers=100] [messages=20000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';

const SUBSCRIBERS = Number(process.argv[2] ?? 100);
const MESSAGES = Number(process.argv[3] ?? 20000);
const WINDOW = 500;
const STALL_MS = 5000;
const MAIN = join(import.meta.dirname, '../../dist/src/main.js');

function startRouter(args) {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), MAIN, '--host', '127.0.0.1', '--port', '0', '--mqtt-port', '0', '--mqtt-sys-interval', '0', '--mqtt-max-inflight', '1000', '--mqtt-max-queued', '100000', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(i + 1)) {
        const line = JSON.parse(buffer.slice(0, i));
        if (line.msg === 'switchboard listening') resolve({ child, port: line.port });
      }
    });
    child.once('exit', (code) => reject(new Error(`router exited ${code}`)));
  });
}

const encode = (packet) => mqttPacket.generate(packet);

function packetIdOf(data) {
  let offset = 1;
  while (data[offset] & 0x80) offset++;
  offset++;
  const topicLength = data.readUInt16BE(offset);
  return data.readUInt16BE(offset + 2 + topicLength);
}

async function run(label, args) {
  const { child, port } = await startRouter(args);
  let nextClient = 0;
  const client = (clean, onMessage) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(encode({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId: `persist-${nextClient++}`, keepalive: 0 }));
        ws.once('message', () => {
          ws.on('message', (data) => onMessage(ws, data));
          resolve(ws);
        });
      });
    });
  let delivered = 0;
  const counts = new Array(SUBSCRIBERS).fill(0);
  const sockets = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    let subscribed;
    const ready = new Promise((resolve) => (subscribed = resolve));
    const ws = await client(false, (socket, data) => {
      const type = data[0] >> 4;
      if (type === 9) return subscribed();
      if (type !== 3) return;
      counts[i]++;
      delivered++;
      const id = packetIdOf(data);
      socket.send(Buffer.from([0x40, 0x02, id >> 8, id & 0xff]));
    });
    ws.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'bench/persist', qos: 1 }] }));
    await ready;
    sockets.push(ws);
  }
  let acked = 0;
  const publisher = await client(true, (_socket, data) => {
    if (data[0] >> 4 === 4) acked++;
  });
  sockets.push(publisher);
  const payload = Buffer.alloc(64, 'x');
  const frames = [];
  for (let id = 1; id <= 65535 && id <= MESSAGES; id++) frames.push(encode({ cmd: 'publish', topic: 'bench/persist', payload, qos: 1, messageId: id }));

  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let sent = 0;
  let lastProgress = Date.now();
  let lastDelivered = 0;
  await new Promise((resolve) => {
    const pump = () => {
      let slowest = counts[0];
      for (let i = 1; i < counts.length; i++) if (counts[i] < slowest) slowest = counts[i];
      const confirmed = Math.min(slowest, acked);
      while (sent < MESSAGES && sent - confirmed < WINDOW) {
        publisher.send(frames[sent % frames.length]);
        sent++;
      }
      if (delivered !== lastDelivered) {
        lastDelivered = delivered;
        lastProgress = Date.now();
      }
      if ((slowest >= MESSAGES && acked >= MESSAGES) || Date.now() - lastProgress > STALL_MS) resolve();
      else setImmediate(pump);
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const lost = MESSAGES * SUBSCRIBERS - delivered;
  for (const ws of sockets) ws.terminate();
  // SIGTERM, so that a profiling run (BENCH_NODE_ARGS=--cpu-prof) gets to write its profile.
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  const perSec = Math.round(delivered / seconds);
  console.log(`${label}: ${delivered} deliveries in ${seconds.toFixed(2)} s = ${perSec.toLocaleString('en')}/s${lost > 0 ? `, LOST ${lost}` : ''} (generator cpu ${(process.cpuUsage(cpuBefore).user / 1e6).toFixed(1)} s)`);
  return perSec;
}

const results = [];
const memory = await run('memory', ['--store', 'memory']);
results.push(['memory', memory]);
for (const fsync of ['always', 'batch', 'os']) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-store-'));
  try {
    results.push([`lmdb, fsync ${fsync}`, await run(`lmdb fsync=${fsync}`, ['--store', 'lmdb', '--data-dir', dir, '--fsync', fsync])]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\nQoS 1 fan-out 1->${SUBSCRIBERS} persistent subscribers over WebSocket, ${MESSAGES} publications`);
console.log('| store | deliveries/s | vs memory |');
console.log('|---|---|---|');
for (const [label, perSec] of results) console.log(`| ${label} | ${perSec.toLocaleString('en')} | ${((perSec / memory) * 100).toFixed(0)}% |`);
