/**
 * DISCONNECT from the client (protocols/mqtt/handlers/disconnect.ts): what it does to the will, and the Session
 * Expiry Interval a 5.0 client may change on the way out.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  messages,
  mqttHarness,
  publishPacket,
  subscribe,
  type ConnectOptions,
  type FakeConnection,
  type MqttHarness,
  type MqttVersion,
} from '../../../helpers/fake-connection.js';

let h: MqttHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  vi.useRealTimers();
});

function harness(options: Parameters<typeof mqttHarness>[0] = {}): MqttHarness {
  h = mqttHarness(options);
  return h;
}

async function watcher(h: MqttHarness, filter = 'will/#'): Promise<FakeConnection> {
  const fake = await h.connected({ clientId: 'watcher', version: 5 });
  await subscribe(fake, { topic: filter, qos: 1 });
  return fake;
}

function withWill(clientId: string, version: MqttVersion, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return { clientId, version, will: { topic: `will/${clientId}`, payload: 'gone', qos: 1 }, ...extra };
}

describe('the will', () => {
  it('[MQTT-3.14.4-3] (5.0) DISCONNECT 0x00 discards the will', async () => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill('w5', 5));
    client.deliver({ cmd: 'disconnect', reasonCode: 0x00 });
    await client.waitGone();
    expect(client.closedByModule).toBe(true);
    expect(await watch.drain()).toEqual([]);
  });

  it('[MQTT-3.1.2-10] (3.1.1) DISCONNECT discards the will', async () => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill('w4', 4));
    client.deliver({ cmd: 'disconnect' });
    await client.waitGone();
    expect(await watch.drain()).toEqual([]);
  });

  it('(5.0) DISCONNECT 0x04 (disconnect with will message) publishes the will', async () => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill('w5', 5));
    client.deliver({ cmd: 'disconnect', reasonCode: 0x04 });
    await client.waitGone();
    expect(messages(await watch.drain())).toEqual([{ topic: 'will/w5', payload: 'gone', qos: 1, retain: false }]);
  });

  it.each([
    ['0x80 (unspecified error)', 0x80],
    ['0x83 (implementation specific error)', 0x83],
    ['0x93 (receive maximum exceeded)', 0x93],
  ])('[MQTT-3.1.2-8] (5.0) DISCONNECT %s publishes the will: only 0x00 deletes it', async (_name, reasonCode) => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill('err', 5));
    client.deliver({ cmd: 'disconnect', reasonCode });
    await client.waitGone();
    expect(messages(await watch.drain()).map((m) => m.topic)).toEqual(['will/err']);
  });

  it.each([4, 5] as const)('[MQTT-3.1.2-8] the network connection lost without DISCONNECT publishes the will (v%i)', async (version) => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill(`lost${version}`, version));
    client.drop();
    await client.waitGone();
    expect(messages(await watch.drain()).map((m) => m.topic)).toEqual([`will/lost${version}`]);
  });

  it('[MQTT-3.1.2-8] the router closing the connection for a protocol error publishes the will', async () => {
    const h = harness();
    const watch = await watcher(h);
    const client = await h.connected(withWill('bad', 5));
    client.deliver(publishPacket('a/+', 'wildcard in a topic name'));
    expect((await client.expect('disconnect')).reasonCode).toBe(0x90);
    await client.waitGone();
    expect(messages(await watch.drain()).map((m) => m.topic)).toEqual(['will/bad']);
  });

  it('[MQTT-3.1.2-15] (5.0) a retained will is stored as a retained message when published', async () => {
    const h = harness();
    const client = await h.connected({ clientId: 'rw', version: 5, will: { topic: 'will/rw', payload: 'kept', qos: 0, retain: true } });
    client.deliver({ cmd: 'disconnect', reasonCode: 0x04 });
    await client.waitGone();
    const late = await h.connected({ clientId: 'late', version: 5 });
    await subscribe(late, { topic: 'will/#', qos: 0 });
    expect(messages(await late.drain())).toEqual([{ topic: 'will/rw', payload: 'kept', qos: 0, retain: true }]);
  });

  it('packets after DISCONNECT in the same frame are not processed', async () => {
    const h = harness();
    const watch = await watcher(h, 'after/#');
    const client = await h.connected({ clientId: 'after', version: 5 });
    client.deliverAll([{ cmd: 'disconnect', reasonCode: 0 }, publishPacket('after/t', 'too late'), { cmd: 'pingreq' }]);
    await client.waitGone();
    expect(client.unread).toEqual([]);
    expect(await watch.drain()).toEqual([]);
  });

  describe('with a Will Delay Interval (5.0)', () => {
    it('[MQTT-3.1.3-9] DISCONNECT 0x04 publishes the will after its delay, unless the client reconnects first', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const h = harness();
      const watch = await watcher(h);
      const options = withWill('wd', 5, {
        clean: false,
        properties: { sessionExpiryInterval: 300 },
        will: { topic: 'will/wd', payload: 'late', qos: 1, properties: { willDelayInterval: 10 } },
      });
      const first = await h.connected(options);
      first.deliver({ cmd: 'disconnect', reasonCode: 0x04 });
      await first.waitGone();
      vi.advanceTimersByTime(9_000);
      expect(await watch.drain()).toEqual([]);
      // Back within the delay: the will is not sent [MQTT-3.1.3-9].
      const second = await h.connected(options);
      vi.advanceTimersByTime(60_000);
      expect(await watch.drain()).toEqual([]);
      second.deliver({ cmd: 'disconnect', reasonCode: 0x04 });
      await second.waitGone();
      vi.advanceTimersByTime(10_000);
      expect(messages(await watch.drain()).map((m) => m.payload)).toEqual(['late']);
    });
  });
});

describe('Session Expiry Interval on DISCONNECT (5.0)', () => {
  it.each([
    ['absent', undefined],
    ['0', 0],
  ])('(5.0 section 3.14.2.2.2) CONNECT expiry %s, then DISCONNECT with a non-zero expiry: DISCONNECT 0x82 from the router', async (_name, connectExpiry) => {
    const h = harness();
    const properties = connectExpiry === undefined ? undefined : { sessionExpiryInterval: connectExpiry };
    const client = await h.connected({ clientId: 'sx', version: 5, clean: false, ...(properties ? { properties } : {}) });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const disconnect = await client.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x82);
    // [MQTT-3.14.2-2]: the router never sends a Session Expiry Interval on DISCONNECT.
    expect(disconnect.properties?.sessionExpiryInterval).toBeUndefined();
    await client.waitGone();
    expect(client.sentAfterClose).toEqual([]);
    // The session kept its expiry of 0: it ended with the connection.
    const again = await h.connect({ clientId: 'sx', version: 5, clean: false });
    expect(again.connack.sessionPresent).toBe(false);
  });

  it('CONNECT expiry 0, then DISCONNECT with expiry 0 is no change, and accepted', async () => {
    const h = harness();
    const client = await h.connected({ clientId: 'sx', version: 5 });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await client.waitGone();
    expect(client.unread).toEqual([]);
  });

  it('a non-zero expiry lowered to 0 on DISCONNECT ends the session with the connection', async () => {
    const h = harness();
    const client = await h.connected({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await client.waitGone();
    expect(client.unread).toEqual([]);
    expect(h.session('sx')).toBeUndefined();
    const again = await h.connect({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(again.connack.sessionPresent).toBe(false);
  });

  it('a non-zero expiry raised on DISCONNECT is accepted and keeps the session', async () => {
    const h = harness();
    const client = await h.connected({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    await subscribe(client, { topic: 'sx/t', qos: 1 });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 3600 } });
    await client.waitGone();
    expect(client.unread).toEqual([]);
    expect(h.session('sx')?.expirySec).toBe(3600);
    const again = await h.connect({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(again.connack.sessionPresent).toBe(true);
  });

  it('the expiry set on DISCONNECT is capped by mqtt.maxSessionExpiry', async () => {
    const h = harness({ mqtt: { maxSessionExpiry: 100 } });
    const client = await h.connected({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 3600 } });
    await client.waitGone();
    expect(h.session('sx')?.expirySec).toBe(100);
  });

  it('the raised expiry is the one that runs: the session outlives the CONNECT expiry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const h = harness();
    const client = await h.connected({ clientId: 'sx', version: 5, clean: false, properties: { sessionExpiryInterval: 10 } });
    client.deliver({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 100 } });
    await client.waitGone();
    vi.advanceTimersByTime(50_000);
    expect(h.session('sx')).toBeDefined();
    vi.advanceTimersByTime(50_000);
    expect(h.session('sx')).toBeUndefined();
  });
});
