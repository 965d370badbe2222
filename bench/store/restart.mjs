#!/usr/bin/env node
/**
 * Restart time with a backlog: one persistent MQTT session (offline) is owed N QoS 1 messages; the router is
 * killed with SIGKILL and started again over the same data directory. Reports the time from spawn to listening,
 * and until the returning subscriber has received all N.
 *
 *   node bench/store/restart.mjs [queued=100000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';

const QUEUED = Number(process.argv[2] ?? 100_000);
const MAIN = join(import.meta.dirname, '../../dist/src/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sb-restart-'));
/** MQTT over TCP needs a port of its own (0 would turn it off). */
const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
const args = ['--host', '127.0.0.1', '--port', '0', '--mqtt-port', String(await freePort()), '--store', 'lmdb', '--data-dir', dir, '--mqtt-max-queued', String(QUEUED + 10), '--mqtt-sys-interval', '0'];

function startRouter() {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let buffer = '';
    let restored;
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (let i; (i = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(i + 1)) {
        const line = JSON.parse(buffer.slice(0, i));
        if (line.msg === 'mqtt sessions restored from the store') restored = line;
        if (line.msg === 'switchboard listening') resolve({ child, mqttPort: line.mqttPort, ms: Number(process.hrtime.bigint() - started) / 1e6, restored });
      }
    });
    child.once('exit', (code) => reject(new Error(`router exited ${code}`)));
  });
}

/** A raw MQTT 3.1.1 client over TCP: resolves after CONNACK; `onPacket` sees every later packet. */
function client(port, clientId, clean, onPacket) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let connected = false;
    parser.on('packet', (packet) => {
      if (!connected && packet.cmd === 'connack') {
        connected = true;
        resolve({ socket, sessionPresent: packet.sessionPresent });
      } else onPacket?.(packet, socket);
    });
    socket.on('data', (data) => parser.parse(data));
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean, clientId, keepalive: 0 }));
  });
}

let router = await startRouter();
const sub = await client(router.mqttPort, 'backlog', false, () => undefined);
sub.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'backlog/#', qos: 1 }] }));
await new Promise((resolve) => setTimeout(resolve, 200));
sub.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));

let acked = 0;
let allAcked;
const done = new Promise((resolve) => (allAcked = resolve));
const pub = await client(router.mqttPort, 'filler', true, (packet) => {
  if (packet.cmd === 'puback' && ++acked === QUEUED) allAcked();
});
const fillStarted = Date.now();
const payload = Buffer.alloc(64, 'b');
for (let n = 0; n < QUEUED; n++) {
  pub.socket.write(mqttPacket.generate({ cmd: 'publish', topic: `backlog/${n % 10}`, payload, qos: 1, messageId: (n % 65535) + 1 }));
  if (n % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
}
await done;
console.log(`filled: ${QUEUED} acknowledged QoS 1 messages queued in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s; store ${(statSync(join(dir, 'data.mdb')).size / 1e6).toFixed(1)} MB`);
router.child.kill('SIGKILL');
await new Promise((resolve) => router.child.once('exit', resolve));

router = await startRouter();
console.log(`restart: listening after ${router.ms.toFixed(0)} ms (${JSON.stringify(router.restored)})`);
const resumed = process.hrtime.bigint();
let received = 0;
let allReceived;
const drained = new Promise((resolve) => (allReceived = resolve));
const back = await client(router.mqttPort, 'backlog', false, (packet, socket) => {
  if (packet.cmd !== 'publish') return;
  socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId }));
  if (++received === QUEUED) allReceived();
});
await drained;
console.log(`sessionPresent=${back.sessionPresent}; all ${received} delivered ${(Number(process.hrtime.bigint() - resumed) / 1e6).toFixed(0)} ms after reconnecting`);
back.socket.destroy();
pub.socket.destroy();
router.child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
