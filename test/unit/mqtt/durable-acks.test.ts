/**
 * Acknowledgements that promise durability wait for the store: PUBACK, PUBREC, PUBCOMP and SUBACK leave only once
 * the writes made before them are durable, in the order they were asked for [MQTT-4.6.0-2]; a store failure
 * withholds them. A gated store makes "durable" a step the test takes by hand.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { mqttHarness, tick, type MqttHarness } from '../../helpers/fake-connection.js';

/** A memory store whose writes become durable only when the test opens the gate (or fail when it says so). */
class GatedStore extends MemoryStore {
  private gate: { promise: Promise<void>; open: () => void; fail: (error: Error) => void } | undefined;
  writes = 0;

  constructor() {
    super();
    const counted = <A extends unknown[]>(write: (...args: A) => void) => (...args: A) => {
      this.writes++;
      this.pending();
      write(...args);
    };
    const sessions = this.sessions;
    sessions.save = counted(sessions.save.bind(sessions));
    sessions.putEntry = counted(sessions.putEntry.bind(sessions));
    sessions.deleteEntry = counted(sessions.deleteEntry.bind(sessions));
    sessions.markReceived = counted(sessions.markReceived.bind(sessions));
    sessions.clearReceived = counted(sessions.clearReceived.bind(sessions));
  }

  private pending(): void {
    if (this.gate !== undefined) return;
    let open!: () => void;
    let fail!: (error: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    this.gate = { promise, open, fail };
  }

  override barrier(): undefined {
    return this.gate?.promise as undefined;
  }

  open(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  fail(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.fail(new Error('disk full'));
  }
}

let h: MqttHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function persistentSubscriber(harness: MqttHarness, store: GatedStore): Promise<void> {
  const sub = await harness.connected({ clientId: 'sub', version: 5, clean: false, properties: { sessionExpiryInterval: 600 } });
  sub.deliver({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'd/#', qos: 2 }] });
  await tick();
  store.open();
  expect((await sub.next()).cmd).toBe('suback');
  sub.drop();
  await tick();
  store.open();
}

describe('acknowledgements wait for durable writes', () => {
  it('PUBACK and PUBREC go only after the store says the message is durable, in order', async () => {
    const store = new GatedStore();
    h = mqttHarness({ persistence: store });
    await persistentSubscriber(h, store);
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver({ cmd: 'publish', topic: 'd/1', payload: Buffer.from('a'), qos: 1, messageId: 10 });
    pub.deliver({ cmd: 'publish', topic: 'd/2', payload: Buffer.from('b'), qos: 2, messageId: 11 });
    pub.deliver({ cmd: 'publish', topic: 'elsewhere', payload: Buffer.from('c'), qos: 1, messageId: 12 });
    expect(await pub.drain()).toEqual([]);
    expect(store.writes).toBeGreaterThan(0);
    store.open();
    const acks = await pub.drain();
    // The third wrote nothing, yet it waits behind the first two [MQTT-4.6.0-2].
    expect(acks.map((p) => [p.cmd, (p as { messageId?: number }).messageId])).toEqual([
      ['puback', 10],
      ['pubrec', 11],
      ['puback', 12],
    ]);
  });

  it('without a persistent subscriber nothing is written and the PUBACK goes at once', async () => {
    const store = new GatedStore();
    h = mqttHarness({ persistence: store });
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    const before = store.writes;
    pub.deliver({ cmd: 'publish', topic: 'nobody/listens', payload: Buffer.from('x'), qos: 1, messageId: 3 });
    expect((await pub.next()).cmd).toBe('puback');
    expect(store.writes).toBe(before);
  });

  it('a failed store write withholds the acknowledgement and disconnects the publisher', async () => {
    const store = new GatedStore();
    h = mqttHarness({ persistence: store });
    await persistentSubscriber(h, store);
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver({ cmd: 'publish', topic: 'd/1', payload: Buffer.from('a'), qos: 1, messageId: 10 });
    await tick();
    store.fail();
    const packets = await pub.drain();
    expect(packets.map((p) => p.cmd)).toEqual(['disconnect']);
    expect((packets[0] as { reasonCode?: number }).reasonCode).toBe(0x80);
  });

  it('PUBCOMP waits until the released packet id is forgotten durably', async () => {
    const store = new GatedStore();
    h = mqttHarness({ persistence: store });
    const pub = await h.connected({ clientId: 'pub2', version: 5, clean: false, properties: { sessionExpiryInterval: 60 } });
    store.open();
    await tick();
    pub.deliver({ cmd: 'publish', topic: 'x', payload: Buffer.from('a'), qos: 2, messageId: 7 });
    await tick();
    store.open();
    expect((await pub.next()).cmd).toBe('pubrec');
    pub.deliver({ cmd: 'pubrel', messageId: 7 });
    expect(await pub.drain()).toEqual([]);
    store.open();
    expect((await pub.next()).cmd).toBe('pubcomp');
  });
});
