/**
 * Durability against a crash: the real router in a child process over the embedded store, killed with SIGKILL
 * in the middle of a stream and started again over the same data directory. Nothing it acknowledged may be lost.
 */
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession, type OpenSession } from '../helpers/autobahn.js';
import { freePort } from '../helpers/router.js';
import { killAllRouters, runRouterToExit, spawnRouter, type RouterProcess } from '../helpers/router-process.js';

const QOS1_MESSAGES = 10_000;
const QOS2_MESSAGES = 1_000;
const WINDOW = 64;

let dir: string;
const clients: MqttClient[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-crash-'));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.end(true);
  killAllRouters();
  rmSync(dir, { recursive: true, force: true });
});

async function routerArgs(): Promise<string[]> {
  return ['--port', String(await freePort()), '--mqtt-port', String(await freePort()), '--store', 'lmdb', '--data-dir', dir, '--mqtt-max-queued', '50000', '--mqtt-sys-interval', '0'];
}

function client(router: RouterProcess, clientId: string, extra: mqtt.IClientOptions = {}): MqttClient {
  const c = mqtt.connect(`mqtt://127.0.0.1:${router.mqttPort}`, {
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 0,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function connected(c: MqttClient): Promise<boolean> {
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  return connack.sessionPresent;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('after a SIGKILL', () => {
  it('every acknowledged QoS 1 and QoS 2 message reaches the persistent subscriber; QoS 2 exactly once', async () => {
    const args = await routerArgs();
    let router = await spawnRouter(args);

    // A persistent subscriber that is offline while everything is published.
    const subscriber = client(router, 'crash-sub');
    expect(await connected(subscriber)).toBe(false);
    await subscriber.subscribeAsync('crash/#', { qos: 2 });
    await subscriber.endAsync();

    const publisher = client(router, 'crash-pub', { reconnectPeriod: 200 });
    const connacks: boolean[] = [];
    publisher.on('connect', (connack) => connacks.push(connack.sessionPresent));
    await until(() => connacks.length === 1, 10_000, 'the publisher to connect');
    await publisher.publishAsync('crash-retained/a', 'retained a', { qos: 1, retain: true });
    await publisher.publishAsync('crash-retained/b', 'retained b', { qos: 2, retain: true });

    // What the router acknowledged, by payload: PUBACK for QoS 1, PUBREC for QoS 2 (the message is then the
    // router's [MQTT-4.3.3]).
    const sentById = new Map<number, string>();
    const acknowledged = new Set<string>();
    let unacknowledgedAtKill = new Set<string>();
    publisher.on('packetsend', (packet: Packet) => {
      if (packet.cmd === 'publish' && packet.messageId !== undefined) sentById.set(packet.messageId, String(packet.payload));
    });
    publisher.on('packetreceive', (packet: Packet) => {
      if (packet.cmd !== 'puback' && packet.cmd !== 'pubrec') return;
      const payload = sentById.get(packet.messageId!);
      if (payload !== undefined && (packet.reasonCode ?? 0) < 0x80) acknowledged.add(payload);
    });

    const all: string[] = [];
    let outstanding = 0;
    let completed = 0;
    let killed = false;
    for (let n = 0; n < QOS1_MESSAGES + QOS2_MESSAGES; n++) {
      const qos = n % 11 === 10 ? 2 : 1;
      const payload = `${qos}-${n}`;
      all.push(payload);
      await until(() => outstanding < WINDOW, 30_000, 'the publish window');
      outstanding++;
      publisher.publish(`crash/${n % 7}`, payload, { qos }, (error) => {
        outstanding--;
        if (error === undefined || error === null) completed++;
      });
      if (!killed && acknowledged.size >= 5_000) {
        killed = true;
        unacknowledgedAtKill = new Set(all.filter((p) => !acknowledged.has(p)));
        router.child.kill('SIGKILL');
        expect(await router.exited).toBe('SIGKILL');
        router = await spawnRouter(args);
      }
    }
    expect(killed).toBe(true);
    // The publisher resumes its session and finishes every message, QoS 2 handshakes included.
    await until(() => completed === all.length, 60_000, 'every publication to complete');
    expect(connacks).toEqual([false, true]);
    for (const payload of all) expect(acknowledged.has(payload), payload).toBe(true);

    // The subscriber comes back to its session and gets everything.
    const received = new Map<string, number>();
    const resentByPublisher: string[] = [];
    const returning = client(router, 'crash-sub');
    returning.on('message', (_topic: string, payload: Buffer, packet: IPublishPacket) => {
      const text = payload.toString();
      const count = (received.get(text) ?? 0) + 1;
      received.set(text, count);
      // A second copy is allowed for QoS 1 only as the router's resend (DUP), or for a message the publisher had
      // to send again because the crash took its PUBACK.
      if (count > 1 && !packet.dup) resentByPublisher.push(text);
    });
    expect(await connected(returning)).toBe(true);
    await until(() => all.every((p) => received.has(p)), 60_000, 'every acknowledged message at the subscriber');
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const payload of all.filter((p) => p.startsWith('2-'))) expect(received.get(payload), payload).toBe(1);
    for (const payload of resentByPublisher) {
      expect(payload.startsWith('1-'), payload).toBe(true);
      expect(unacknowledgedAtKill.has(payload), payload).toBe(true);
    }

    // Retained messages are there too.
    const late = client(router, 'crash-late', { clean: true, properties: {} });
    await connected(late);
    const retained: string[] = [];
    late.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      if (packet.retain) retained.push(`${topic}=${payload.toString()}`);
    });
    await late.subscribeAsync('crash-retained/#', { qos: 1 });
    await until(() => retained.length === 2, 10_000, 'the retained messages');
    expect(retained.sort()).toEqual(['crash-retained/a=retained a', 'crash-retained/b=retained b']);
  }, 120_000);

  it('a session, its subscriptions and a queue of 20,000 survive; the router serves again within 5 s', async () => {
    const QUEUED = 20_000;
    const args = await routerArgs();
    let router = await spawnRouter(args);
    const subscriber = client(router, 'queued-sub');
    await connected(subscriber);
    await subscriber.subscribeAsync('q/+', { qos: 1 });
    await subscriber.endAsync();
    const publisher = client(router, 'queued-pub', { clean: true, properties: {} });
    await connected(publisher);
    let outstanding = 0;
    for (let n = 0; n < QUEUED; n++) {
      await until(() => outstanding < WINDOW, 30_000, 'the publish window');
      outstanding++;
      publisher.publish(`q/${n % 3}`, `m${n}`, { qos: 1 }, () => outstanding--);
    }
    await until(() => outstanding === 0, 30_000, 'every PUBACK');
    router.child.kill('SIGKILL');
    await router.exited;
    const restarted = Date.now();
    router = await spawnRouter(args);
    expect(Date.now() - restarted).toBeLessThan(5_000);
    expect(router.lines.find((line) => line.msg === 'mqtt sessions restored from the store')).toMatchObject({ sessions: 1, messages: QUEUED });

    const returning = client(router, 'queued-sub');
    const got: string[] = [];
    returning.on('message', (_topic: string, payload: Buffer) => got.push(payload.toString()));
    expect(await connected(returning)).toBe(true);
    await until(() => got.length >= QUEUED, 60_000, 'the queued messages');
    // In the order they were published, since they were queued in that order.
    expect(got.slice(0, QUEUED)).toEqual(Array.from({ length: QUEUED }, (_, n) => `m${n}`));

    // The subscription itself survived: a new publication reaches the session.
    const again = client(router, 'queued-pub2', { clean: true, properties: {} });
    await connected(again);
    await again.publishAsync('q/x', 'after restart', { qos: 1 });
    await until(() => got.includes('after restart'), 10_000, 'a publication after the restart');
  }, 120_000);
});

describe('WAMP over the embedded store', () => {
  it('an acknowledged retained event survives a SIGKILL and reaches a get_retained subscriber; so does an MQTT device queue', async () => {
    const args = await routerArgs();
    let router = await spawnRouter(args);
    // A device's persistent session on a topic a browser publishes to.
    const device = client(router, 'wamp-device');
    await connected(device);
    await device.subscribeAsync('devices/lamp/commands', { qos: 1 });
    await device.endAsync();

    const sessions: OpenSession[] = [];
    try {
      const browser = await openSession(`ws://127.0.0.1:${router.port}/`, 'cbor');
      sessions.push(browser);
      await browser.session.publish('devices.lamp.state', [], { on: true, level: 7 }, { retain: true, acknowledge: true });
      await browser.session.publish('devices.lamp.commands', ['switch off'], {}, { acknowledge: true });
      router.child.kill('SIGKILL');
      await router.exited;
      router = await spawnRouter(args);

      const late = await openSession(`ws://127.0.0.1:${router.port}/`, 'json');
      sessions.push(late);
      const events: Array<{ kwargs: unknown; retained: unknown }> = [];
      await late.session.subscribe('devices.lamp.state', (_args: unknown[], kwargs: unknown, details: { retained?: boolean }) => events.push({ kwargs, retained: details.retained }), { get_retained: true });
      await until(() => events.length === 1, 10_000, 'the retained event');
      expect(events[0]).toEqual({ kwargs: { on: true, level: 7 }, retained: true });
    } finally {
      for (const open of sessions) await open.close().catch(() => undefined);
    }
    const returning = client(router, 'wamp-device');
    const commands: string[] = [];
    returning.on('message', (_topic: string, payload: Buffer) => commands.push(payload.toString()));
    expect(await connected(returning)).toBe(true);
    await until(() => commands.length === 1, 10_000, 'the queued command');
    // A single string argument crosses as its text (README "Topics and payloads across protocols").
    expect(commands).toEqual(['switch off']);
  }, 60_000);
});

describe('a damaged store at start-up', () => {
  it('a truncated store file stops the router with exit code 3 and a message saying what to do', async () => {
    const args = await routerArgs();
    const router = await spawnRouter(args);
    const publisher = client(router, 'filler', { clean: true, properties: {} });
    await connected(publisher);
    for (let n = 0; n < 300; n++) await publisher.publishAsync(`fill/${n}`, Buffer.alloc(200, n), { qos: 1, retain: true });
    await publisher.endAsync();
    router.child.kill('SIGTERM');
    expect(await router.exited).toBe(0);

    const file = join(dir, 'data.mdb');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const size = statSync(file).size;
    const { code, stderr } = await runRouterToExit(args);
    expect(code).toBe(3);
    expect(stderr).toContain(dir);
    expect(stderr).toMatch(/truncated or damaged/);
    expect(stderr).toMatch(/backup/);
    // Never silently started empty: the file is as it was.
    expect(statSync(file).size).toBe(size);
  }, 60_000);
});
