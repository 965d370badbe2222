/**
 * A client that stops reading: past `limits.slowConsumerBytes` its QoS 0 messages and WAMP events are dropped
 * and counted, past `limits.maxBufferedBytes` it is disconnected with a reason, and the router's memory stays
 * bounded while a fast client next to it keeps getting everything.
 */
import { connect as netConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { endAll } from '../helpers/mqtt.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter | undefined;
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await endAll();
  await router?.close();
  router = undefined;
});

const limits = { slowConsumerBytes: 64 * 1024, maxBufferedBytes: 1024 * 1024 };
const PAYLOAD = 'x'.repeat(8 * 1024);
const COUNT = 4000; // 32 MB offered: far past the kernel's socket buffers and the hard limit

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return check();
}

describe('slow consumers', () => {
  it('a WAMP subscriber that stops reading loses its events (counted) while a fast one gets them all', async () => {
    router = await startTestRouter({ limits });
    const [slow] = await RawWamp.session(router.url, 'json');
    cleanups.push(() => slow.close());
    slow.send([32, 1, {}, 'com.flood']);
    await slow.next();
    const [fast] = await RawWamp.session(router.url, 'json');
    cleanups.push(() => fast.close());
    fast.send([32, 1, {}, 'com.flood']);
    await fast.next();
    // Stop reading: the router's writes pile up behind the kernel's buffers.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const [publisher] = await RawWamp.session(router.url, 'json');
    cleanups.push(() => publisher.close());
    // Paced to the fast subscriber, so that only the stalled one falls behind.
    for (let i = 0; i < COUNT; i++) {
      publisher.send([16, i + 1, {}, 'com.flood', [PAYLOAD]]);
      if (i % 20 === 19) await waitFor(() => fast.received.length >= 2 + i - 20, 5000);
    }
    expect(await waitFor(() => fast.received.length >= 2 + COUNT, 20_000)).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text();
    expect(text).toMatch(/switchboard_dropped_messages_total\{reason="slow_consumer"\} [1-9]/);
  }, 40_000);

  it('a WAMP callee that stops reading while invocations pile up is disconnected at the hard limit; callers hear canceled', async () => {
    router = await startTestRouter({ limits });
    const [callee] = await RawWamp.session(router.url, 'json');
    cleanups.push(() => callee.close());
    callee.send([64, 1, {}, 'com.slow']);
    expect((await callee.next())[0]).toBe(65);
    (callee.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const [caller] = await RawWamp.session(router.url, 'json');
    cleanups.push(() => caller.close());
    for (let i = 0; i < 1000; i++) {
      caller.send([48, i + 1, {}, 'com.slow', [PAYLOAD]]);
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await waitFor(() => router!.logs.some((line) => line.msg === 'slow consumer: disconnected'), 10_000)).toBe(true);
    expect(await waitFor(() => caller.received.some((m) => m[0] === 8 && m[4] === 'wamp.error.canceled'), 5000)).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text();
    expect(text).toMatch(/switchboard_limit_hits_total\{limit="slow_consumer"\} 1/);
  }, 40_000);

  it('an MQTT subscriber that stops reading loses QoS 0 and is disconnected past the hard limit by QoS 1; a fast one keeps receiving', async () => {
    router = await startTestRouter({ limits, mqtt: { maxInflight: 2000 } }, { tcp: true });
    const port = router.mqttPort!;
    const connect = (clientId: string) =>
      new Promise<import('node:net').Socket>((resolve) => {
        const socket = netConnect(port, '127.0.0.1', () => {
          socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0 } as never));
          socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 1 }] } as never));
          resolve(socket);
        });
        socket.on('error', () => undefined);
        cleanups.push(() => socket.destroy());
      });
    const slow = await connect('slow');
    let fastBytes = 0;
    const fast = await connect('fast');
    fast.on('data', (chunk: Buffer) => (fastBytes += chunk.length));
    await new Promise((resolve) => setTimeout(resolve, 200));
    slow.pause();
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    const publisher = await connect('publisher');
    const frame = mqttPacket.generate({ cmd: 'publish', topic: 'flood/x', payload: Buffer.from(PAYLOAD), qos: 0 } as never);
    // Paced to the fast subscriber, so that only the stalled one falls behind.
    for (let i = 0; i < COUNT; i++) {
      publisher.write(frame);
      if (i % 20 === 19) await waitFor(() => fastBytes >= (i - 20) * PAYLOAD.length, 5000);
    }
    expect(await waitFor(() => fastBytes >= COUNT * PAYLOAD.length, 20_000)).toBe(true);
    // QoS 0 only ever costs drops; QoS 1 messages (not droppable) then push the stalled client past the hard limit.
    const qos1 = mqttPacket.generate({ cmd: 'publish', topic: 'flood/y', payload: Buffer.from(PAYLOAD), qos: 1, messageId: 1 } as never);
    for (let i = 0; i < 400; i++) {
      publisher.write(qos1);
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await waitFor(() => router!.logs.some((line) => line.msg === 'slow consumer: disconnected'), 10_000)).toBe(true);
    slow.resume();
    expect(await waitFor(() => slowClosed, 5000)).toBe(true);
  }, 40_000);
});
