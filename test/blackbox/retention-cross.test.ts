/**
 * The retained store is one for both protocols: WAMP event retention (`retain` / `get_retained`) and MQTT
 * retained messages see each other. An acknowledged WAMP publish is QoS 1 for MQTT subscribers.
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter;
const wamp: RawWamp[] = [];

beforeEach(async () => {
  router = await startTestRouter();
});

afterEach(async () => {
  for (const client of wamp.splice(0)) client.close();
  await endAll();
  await router.close();
});

async function session(serialization: 'json' | 'cbor' = 'json') {
  const [client, welcome] = await RawWamp.session(router.url, serialization);
  wamp.push(client);
  expect((welcome[2] as any).roles.broker.features.event_retention).toBe(true);
  return client;
}

describe('WAMP event retention', () => {
  it('get_retained delivers the retained event after SUBSCRIBED, with details.retained', async () => {
    const publisher = await session();
    publisher.send([16, 1, { retain: true, acknowledge: true }, 'com.sensor.temp', [21.5], { unit: 'C' }]);
    expect((await publisher.next())[0]).toBe(17);
    const late = await session('cbor');
    late.send([32, 2, { get_retained: true }, 'com.sensor.temp']);
    const subscribed = await late.next();
    expect(subscribed[0]).toBe(33);
    const event = await late.next();
    expect(event[0]).toBe(36);
    expect(event[1]).toBe(subscribed[2]);
    expect(event[3]).toEqual({ retained: true });
    expect(event[4]).toEqual([21.5]);
    expect(event[5]).toEqual({ unit: 'C' });
  });

  it('without get_retained no retained event is sent', async () => {
    const publisher = await session();
    publisher.send([16, 1, { retain: true, acknowledge: true }, 'com.quiet', ['x']]);
    await publisher.next();
    const late = await session();
    late.send([32, 2, {}, 'com.quiet']);
    expect((await late.next())[0]).toBe(33);
    expect(await late.silentFor(150)).toBe(true);
  });

  it('a pattern subscription gets every matching retained event with its topic', async () => {
    const publisher = await session();
    publisher.send([16, 1, { retain: true, acknowledge: true }, 'home.kitchen.temp', [20]]);
    publisher.send([16, 2, { retain: true, acknowledge: true }, 'home.hall.temp', [18]]);
    await publisher.next();
    await publisher.next();
    const late = await session();
    late.send([32, 3, { match: 'wildcard', get_retained: true }, 'home..temp']);
    await late.next();
    const events = [await late.next(), await late.next()];
    const byTopic = Object.fromEntries(events.map((e) => [(e[3] as any).topic, e[4]]));
    expect(byTopic).toEqual({ 'home.kitchen.temp': [20], 'home.hall.temp': [18] });
  });
});

describe('retained messages across protocols', () => {
  it("an MQTT device's retained reading reaches a WAMP subscriber with get_retained", async () => {
    const device = await connectClient(router.url, 5);
    await device.publishAsync('devices/d1/state', JSON.stringify({ on: true }), { qos: 1, retain: true, properties: { contentType: 'application/json' } });
    const browser = await session();
    browser.send([32, 1, { get_retained: true }, 'devices.d1.state']);
    await browser.next();
    const event = await browser.next();
    expect(event[3]).toEqual({ retained: true, content_type: 'application/json' });
    expect(event[4]).toEqual([{ on: true }]);
  });

  it('a WAMP retained event reaches a late MQTT subscriber with RETAIN set', async () => {
    const browser = await session();
    browser.send([16, 1, { retain: true, acknowledge: true }, 'devices.d2.command', ['on']]);
    await browser.next();
    const device = await connectClient(router.url, 4);
    const got = new Promise<[string, string, boolean]>((resolve) =>
      device.once('message', (topic, payload, packet) => resolve([topic, payload.toString(), packet.retain])),
    );
    await device.subscribeAsync('devices/d2/#', { qos: 1 });
    expect(await got).toEqual(['devices/d2/command', 'on', true]);
  });

  it('an acknowledged WAMP publish is queued as QoS 1 for an offline persistent MQTT subscriber; a plain one is not', async () => {
    const first = await connectClient(router.url, 5, { clientId: 'persistent-1', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.subscribeAsync('alerts/#', { qos: 1 });
    await first.endAsync();
    const browser = await session();
    browser.send([16, 1, {}, 'alerts.fire', ['fire and forget']]);
    browser.send([16, 2, { acknowledge: true }, 'alerts.flood', ['acknowledged']]);
    expect((await browser.next())[0]).toBe(17);
    const received: Array<[string, number]> = [];
    // The queue is sent right after CONNACK, so the listener must be there before the connection opens.
    const again = mqtt.connect(router.url, { protocolVersion: 5, clientId: 'persistent-1', clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 60 } });
    again.on('message', (_topic, payload, packet) => received.push([payload.toString(), packet.qos]));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await again.endAsync();
    expect(received).toEqual([['acknowledged', 1]]);
  });
});
