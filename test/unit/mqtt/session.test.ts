/**
 * MqttSession (protocols/mqtt/session.ts) driven directly: a fake Attachment records what the session sends, and
 * the core session comes from a real Router/Realm (src/core), so deliveries and wills go through the real broker.
 */
import { MemorySessionStore } from '../../../src/store/memory/sessions.js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Payload } from '../../../src/core/payload.js';
import type { Realm } from '../../../src/core/realm.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import type { Publication, QoS, SessionSink } from '../../../src/core/types.js';
import { MqttSession, type Attachment, type MqttSubscriberOptions, type Outgoing, type Will } from '../../../protocols/mqtt/session.js';
import { createStats, type MqttStats } from '../../../protocols/mqtt/stats.js';

type Call =
  | { kind: 'publish'; topic: string; payload: string; qos: QoS; retain: boolean; packetId: number; dup: boolean; subscriptionIds: readonly number[] }
  | { kind: 'pubrel'; packetId: number }
  | { kind: 'disconnect'; reason: number; message: string };

class FakeAttachment implements Attachment {
  readonly calls: Call[] = [];
  constructor(public sendWindow = 10) {}
  sendPublish(message: Outgoing, packetId: number, dup: boolean): void {
    this.calls.push({
      kind: 'publish',
      topic: message.topic,
      payload: Buffer.from(message.payload).toString(),
      qos: message.qos,
      retain: message.retain,
      packetId,
      dup,
      subscriptionIds: message.subscriptionIds,
    });
  }
  sendPubrel(packetId: number): void {
    this.calls.push({ kind: 'pubrel', packetId });
  }
  disconnect(reason: number, message: string): void {
    this.calls.push({ kind: 'disconnect', reason, message });
  }
  get publishes(): Array<Extract<Call, { kind: 'publish' }>> {
    return this.calls.filter((c): c is Extract<Call, { kind: 'publish' }> => c.kind === 'publish');
  }
  take(): Call[] {
    return this.calls.splice(0);
  }
}

class RecordingSink implements SessionSink {
  readonly events: Publication[] = [];
  event(publication: Publication): void {
    this.events.push(publication);
  }
  invocation(): void {}
  interrupt(): void {}
  result(): void {}
  callError(): void {}
  close(): void {}
}

const log = pino({ level: 'silent' });
let router: Router;
let realm: Realm;
let stats: MqttStats;
let ended: MqttSession[];
let joins = 0;

function joinCore(sink: SessionSink, authid = 'alice'): Session {
  return realm.join(
    { authid, authrole: 'user', authmethod: 'anonymous', authprovider: 'static' },
    { connectionId: `c${++joins}`, protocol: 'mqtt', transport: 'test', remoteAddress: '127.0.0.1' },
    sink,
    { interrupts: false },
  );
}

function makeSession(maxQueued = 1000, clientId = 'c1'): MqttSession {
  const session = new MqttSession(`realm1\u0000${clientId}`, clientId, { maxQueued, store: new MemorySessionStore() }, stats, log, (s) => ended.push(s));
  session.core = joinCore(session);
  return session;
}

function message(topic: string, payload: string, qos: QoS, extra: Partial<Outgoing> = {}): Outgoing {
  return { topic, payload: Buffer.from(payload), qos, retain: false, properties: undefined, subscriptionIds: [], ...extra };
}

function subOptions(qos: QoS, extra: Partial<MqttSubscriberOptions> = {}): MqttSubscriberOptions {
  return { qos, retainAsPublished: false, retainHandling: 0, ...extra };
}

/** A plain core session listening on `topic` (split on /), to see what a will publishes. */
function listener(topic: string): RecordingSink {
  const sink = new RecordingSink();
  const core = joinCore(sink, 'watcher');
  const result = core.subscribe(topic.split('/'), 'exact', {});
  if (!result.ok) throw new Error(result.error);
  return sink;
}

function will(extra: Partial<Will> = {}): Will {
  return { topic: 'clients/c1/status', payload: Buffer.from('gone'), qos: 1, retain: false, properties: undefined, delaySec: 0, ...extra };
}

const payloads = (attachment: FakeAttachment) => attachment.publishes.map((c) => c.payload);
const ids = (attachment: FakeAttachment) => attachment.publishes.map((c) => c.packetId);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
  router = new Router({ authorize: () => true });
  realm = router.addRealm('realm1', { uriCheck: 'loose' });
  stats = createStats();
  ended = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sending and the window', () => {
  it('QoS 0 goes out at once with packet id 0 and is never in flight', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    for (let i = 0; i < 5; i++) session.deliver(message('t', `m${i}`, 0));
    expect(payloads(a)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(ids(a)).toEqual([0, 0, 0, 0, 0]);
    expect(session.inflightCount).toBe(0);
    expect(session.queued).toBe(0);
  });

  it('at most sendWindow QoS 1/2 messages are in flight; the rest queue', () => {
    const session = makeSession();
    const a = new FakeAttachment(2);
    session.attach(a);
    for (let i = 0; i < 5; i++) session.deliver(message('t', `m${i}`, i % 2 === 0 ? 1 : 2));
    expect(payloads(a)).toEqual(['m0', 'm1']);
    expect(session.inflightCount).toBe(2);
    expect(session.queued).toBe(3);
  });

  it('QoS 0 is not held behind a full window', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    session.deliver(message('t', 'q1', 1));
    session.deliver(message('t', 'q1-queued', 1));
    session.deliver(message('t', 'q0', 0));
    expect(payloads(a)).toEqual(['q1', 'q0']);
  });

  it('acknowledgements drain the queue in order, each freed slot taking the next message', () => {
    const session = makeSession();
    const a = new FakeAttachment(2);
    session.attach(a);
    for (let i = 0; i < 6; i++) session.deliver(message('t', `m${i}`, 1));
    expect(ids(a)).toEqual([1, 2]);
    expect(session.completed(2)).toBe(true);
    expect(payloads(a)).toEqual(['m0', 'm1', 'm2']);
    expect(session.completed(1)).toBe(true);
    expect(payloads(a)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(session.completed(3)).toBe(true);
    expect(session.completed(4)).toBe(true);
    expect(session.completed(5)).toBe(true);
    expect(session.completed(6)).toBe(true);
    expect(payloads(a)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(ids(a)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(session.inflightCount).toBe(0);
    expect(session.queued).toBe(0);
  });

  it('a new message waits behind queued ones even when the window has room again', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    session.deliver(message('t', 'first', 1));
    session.deliver(message('t', 'second', 1));
    session.completed(1); // 'second' goes out
    session.deliver(message('t', 'third', 1)); // window full again: queued
    session.completed(2);
    expect(payloads(a)).toEqual(['first', 'second', 'third']);
  });

  it('an attachment that completes a message while it is being sent (a message too large for the client) drains each queued message once', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    const sendPublish = a.sendPublish.bind(a);
    // Like MqttConnection dropping a PUBLISH larger than the client's Maximum Packet Size: "as if sent".
    a.sendPublish = (message, packetId, dup) => {
      sendPublish(message, packetId, dup);
      if (message.qos > 0) session.completed(packetId);
    };
    session.expirySec = 60;
    session.attach(a);
    session.detach(false);
    for (let i = 0; i < 4; i++) session.deliver(message('t', `m${i}`, 1));
    session.attach(a);
    expect(payloads(a)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(session.queued).toBe(0);
    expect(session.inflightCount).toBe(0);
  });

  it('an unknown or repeated acknowledgement is ignored and reported as such', () => {
    const session = makeSession();
    const a = new FakeAttachment(5);
    session.attach(a);
    session.deliver(message('t', 'x', 1));
    expect(session.completed(99)).toBe(false);
    expect(session.completed(1)).toBe(true);
    expect(session.completed(1)).toBe(false);
    expect(session.received(1)).toBe(false);
  });
});

describe('packet identifiers', () => {
  it('start at 1 and increase', () => {
    const session = makeSession();
    const a = new FakeAttachment(100);
    session.attach(a);
    for (let i = 0; i < 5; i++) session.deliver(message('t', `m${i}`, 1));
    expect(ids(a)).toEqual([1, 2, 3, 4, 5]);
  });

  it('[MQTT-2.2.1-3] wrap from 65535 to 1 (never 0) and skip ids still in flight', () => {
    const session = makeSession();
    const a = new FakeAttachment(3);
    session.attach(a);
    session.deliver(message('t', 'held-1', 1)); // id 1, never acknowledged
    session.deliver(message('t', 'held-2', 2)); // id 2, left waiting for PUBCOMP
    expect(session.received(2)).toBe(true);
    for (let id = 3; id <= 65535; id++) {
      session.deliver(message('t', 'cycle', 1));
      expect(session.completed(id)).toBe(true);
    }
    const before = a.publishes.length;
    session.deliver(message('t', 'after-wrap', 1));
    const sent = a.publishes.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.packetId).toBe(3);
    expect(new Set(ids(a)).has(0)).toBe(false);
    expect(Math.max(...ids(a))).toBe(65535);
  });
});

describe('QoS 2 outgoing', () => {
  it('PUBLISH -> PUBREC -> PUBREL -> PUBCOMP [MQTT-4.3.3]', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    session.deliver(message('t', 'exactly-once', 2));
    session.deliver(message('t', 'next', 2));
    expect(a.take()).toEqual([expect.objectContaining({ kind: 'publish', packetId: 1, qos: 2, dup: false })]);
    expect(session.received(1)).toBe(true);
    expect(a.take()).toEqual([{ kind: 'pubrel', packetId: 1 }]);
    // Still in flight (waiting for PUBCOMP): the window stays full.
    expect(session.inflightCount).toBe(1);
    expect(session.queued).toBe(1);
    // A repeated PUBREC gets PUBREL again.
    expect(session.received(1)).toBe(true);
    expect(a.take()).toEqual([{ kind: 'pubrel', packetId: 1 }]);
    expect(session.completed(1)).toBe(true);
    expect(a.take()).toEqual([expect.objectContaining({ kind: 'publish', payload: 'next', packetId: 2 })]);
    expect(session.completed(1)).toBe(false);
  });

  it('PUBREC for a QoS 1 message is not a step of anything', () => {
    const session = makeSession();
    const a = new FakeAttachment(5);
    session.attach(a);
    session.deliver(message('t', 'q1', 1));
    a.take();
    expect(session.received(1)).toBe(false);
    expect(a.take()).toEqual([]);
    expect(session.inflightCount).toBe(1);
  });
});

describe('detached sessions and resending', () => {
  it('[MQTT-4.4.0-1] on attach, unacknowledged PUBLISH is resent with DUP and the same id, PUBREL is resent, then the queue', () => {
    const session = makeSession();
    session.expirySec = 60;
    const a = new FakeAttachment(3);
    session.attach(a);
    session.deliver(message('t', 'q1-a', 1)); // 1
    session.deliver(message('t', 'q2-b', 2)); // 2, will reach PUBREL
    session.deliver(message('t', 'q1-c', 1)); // 3
    session.deliver(message('t', 'queued-d', 1)); // queued
    session.received(2);
    a.take();
    session.detach(false);
    session.deliver(message('t', 'offline-e', 2)); // queued while offline
    const b = new FakeAttachment(10);
    session.attach(b);
    expect(b.take()).toEqual([
      expect.objectContaining({ kind: 'publish', payload: 'q1-a', packetId: 1, dup: true }),
      { kind: 'pubrel', packetId: 2 },
      expect.objectContaining({ kind: 'publish', payload: 'q1-c', packetId: 3, dup: true }),
      expect.objectContaining({ kind: 'publish', payload: 'queued-d', packetId: 4, dup: false }),
      expect.objectContaining({ kind: 'publish', payload: 'offline-e', packetId: 5, dup: false }),
    ]);
    expect(a.calls).toEqual([]); // nothing went to the old attachment after detach
  });

  it('QoS 0 is dropped while offline and counted; QoS 1/2 are queued and sent on attach', () => {
    const session = makeSession();
    session.expirySec = 60;
    session.attach(new FakeAttachment());
    session.detach(false);
    session.deliver(message('t', 'zero', 0));
    session.deliver(message('t', 'one', 1));
    session.deliver(message('t', 'two', 2));
    expect(stats.droppedOffline).toBe(1);
    expect(session.queued).toBe(2);
    const b = new FakeAttachment();
    session.attach(b);
    expect(payloads(b)).toEqual(['one', 'two']);
  });

  it('maxQueued: past the limit messages are dropped and counted; the first ones are kept in order', () => {
    const session = makeSession(3);
    session.expirySec = 60;
    session.attach(new FakeAttachment());
    session.detach(false);
    for (let i = 0; i < 5; i++) session.deliver(message('t', `m${i}`, 1));
    expect(session.queued).toBe(3);
    expect(stats.droppedQueueFull).toBe(2);
    const b = new FakeAttachment();
    session.attach(b);
    expect(payloads(b)).toEqual(['m0', 'm1', 'm2']);
  });

  it('maxQueued also applies behind a full window while connected', () => {
    const session = makeSession(2);
    const a = new FakeAttachment(1);
    session.attach(a);
    for (let i = 0; i < 5; i++) session.deliver(message('t', `m${i}`, 1));
    expect(session.inflightCount).toBe(1);
    expect(session.queued).toBe(2);
    expect(stats.droppedQueueFull).toBe(2);
  });

  it('the core session is available only while attached and the queue has room (share groups read it)', () => {
    const session = makeSession(2);
    session.expirySec = 60;
    const a = new FakeAttachment(1);
    session.attach(a);
    expect(session.core.available).toBe(true);
    session.deliver(message('t', 'a', 1));
    session.deliver(message('t', 'b', 1));
    session.deliver(message('t', 'c', 1));
    expect(session.core.available).toBe(false); // queue full
    session.completed(1);
    expect(session.core.available).toBe(true);
    session.detach(false);
    expect(session.core.available).toBe(false);
    session.attach(new FakeAttachment(5));
    expect(session.core.available).toBe(true);
  });
});

describe('message expiry', () => {
  it('an already expired message is dropped and counted', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    session.deliver(message('t', 'stale', 1, { properties: { expiresAt: Date.now() } }));
    session.deliver(message('t', 'stale0', 0, { properties: { expiresAt: Date.now() - 1 } }));
    expect(a.calls).toEqual([]);
    expect(stats.expired).toBe(2);
  });

  it('queued messages that expire while offline are skipped on attach; the others go out in order', () => {
    const session = makeSession();
    session.expirySec = 3600;
    session.attach(new FakeAttachment());
    session.detach(false);
    const now = Date.now();
    session.deliver(message('t', 'short', 1, { properties: { expiresAt: now + 5_000 } }));
    session.deliver(message('t', 'forever', 1));
    session.deliver(message('t', 'long', 2, { properties: { expiresAt: now + 60_000 } }));
    vi.advanceTimersByTime(10_000);
    const b = new FakeAttachment();
    session.attach(b);
    expect(payloads(b)).toEqual(['forever', 'long']);
    expect(stats.expired).toBe(1);
  });

  it('queued messages that expire behind a full window are skipped when it drains', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    const now = Date.now();
    session.deliver(message('t', 'head', 1));
    session.deliver(message('t', 'short', 1, { properties: { expiresAt: now + 1_000 } }));
    session.deliver(message('t', 'tail', 1));
    vi.advanceTimersByTime(2_000);
    session.completed(1);
    expect(payloads(a)).toEqual(['head', 'tail']);
    expect(stats.expired).toBe(1);
  });
});

describe('deliveries from the core', () => {
  function publisher(): Session {
    return joinCore(new RecordingSink(), 'bob');
  }

  it('a publication reaches the session at the lower of the publication and subscription QoS', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    expect(session.core.subscribe(['s', 'q1'], 'exact', subOptions(1)).ok).toBe(true);
    expect(session.core.subscribe(['s', 'q2'], 'exact', subOptions(2)).ok).toBe(true);
    const pub = publisher();
    pub.publish(['s', 'q1'], Payload.fromBytes(Buffer.from('a')), { excludeMe: false, disclose: false, qos: 2 });
    pub.publish(['s', 'q2'], Payload.fromBytes(Buffer.from('b')), { excludeMe: false, disclose: false, qos: 0 });
    expect(a.publishes.map((c) => [c.topic, c.payload, c.qos])).toEqual([
      ['s/q1', 'a', 1],
      ['s/q2', 'b', 0],
    ]);
  });

  it('[MQTT-3.3.1-12, -13] RETAIN on a live delivery only with Retain As Published', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    session.core.subscribe(['r', 'plain'], 'exact', subOptions(0));
    session.core.subscribe(['r', 'rap'], 'exact', subOptions(0, { retainAsPublished: true }));
    const pub = publisher();
    pub.publish(['r', 'plain'], Payload.fromBytes(Buffer.from('1')), { excludeMe: false, disclose: false, qos: 0, retain: true });
    pub.publish(['r', 'rap'], Payload.fromBytes(Buffer.from('2')), { excludeMe: false, disclose: false, qos: 0, retain: true });
    expect(a.publishes.map((c) => [c.topic, c.retain])).toEqual([
      ['r/plain', false],
      ['r/rap', true],
    ]);
  });

  it('[MQTT-3.3.4-2, -4] overlapping subscriptions: one copy at the highest QoS with every subscription identifier', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    session.core.subscribe(['o', 'x'], 'exact', subOptions(0, { subscriptionId: 1 }));
    session.core.subscribe(['o'], 'tail', subOptions(2, { subscriptionId: 2 }));
    session.core.subscribe(['o', ''], 'exact', subOptions(1)); // `o/` does not match o/x
    publisher().publish(['o', 'x'], Payload.fromBytes(Buffer.from('p')), { excludeMe: false, disclose: false, qos: 2 });
    expect(a.publishes).toHaveLength(1);
    expect(a.publishes[0]).toMatchObject({ topic: 'o/x', qos: 2 });
    expect([...a.publishes[0]!.subscriptionIds].sort()).toEqual([1, 2]);
  });

  it('a topic with no MQTT spelling (a component holding /) is not delivered and is counted', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    session.core.subscribe([], 'tail', subOptions(0));
    publisher().publish(['a/b', 'c'], Payload.fromBytes(Buffer.from('x')), { excludeMe: false, disclose: false, qos: 0 });
    expect(a.calls).toEqual([]);
    expect(stats.uncrossable).toBe(1);
  });

  it('the router closing the session disconnects the attachment with the mapped reason', () => {
    const session = makeSession();
    const a = new FakeAttachment();
    session.attach(a);
    session.close('wamp.close.system_shutdown', 'bye');
    expect(a.calls).toEqual([{ kind: 'disconnect', reason: 0x8b, message: 'bye' }]);
  });
});

describe('wills', () => {
  it('an abnormal detach publishes the will at once (no delay)', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.will = will({ retain: true });
    session.attach(new FakeAttachment());
    session.detach(true);
    expect(watcher.events).toHaveLength(1);
    const event = watcher.events[0]!;
    expect(event.topic).toEqual(['clients', 'c1', 'status']);
    expect(Buffer.from(event.payload.bytes).toString()).toBe('gone');
    expect(event.qos).toBe(1);
    expect(event.retain).toBe(true);
    expect(session.will).toBeUndefined();
    // Retained: a later subscriber finds it.
    expect(realm.broker.retainedFor(['clients', 'c1', 'status'], 'exact')).toHaveLength(1);
  });

  it('[MQTT-3.1.2-10] a normal detach (DISCONNECT 0x00) discards the will', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 60;
    session.will = will();
    session.attach(new FakeAttachment());
    session.detach(false);
    vi.advanceTimersByTime(120_000);
    expect(watcher.events).toEqual([]);
    expect(session.will).toBeUndefined();
  });

  it('the will keeps its properties', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.will = will({ properties: { contentType: 'text/plain', userProperties: [['k', 'v']] } });
    session.attach(new FakeAttachment());
    session.detach(true);
    expect(watcher.events[0]!.properties).toEqual({ contentType: 'text/plain', userProperties: [['k', 'v']] });
  });

  it('Will Delay Interval: the will goes after the delay while the session lives', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 60;
    session.will = will({ delaySec: 5 });
    session.attach(new FakeAttachment());
    session.detach(true);
    vi.advanceTimersByTime(4_999);
    expect(watcher.events).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(watcher.events).toHaveLength(1);
    expect(session.isEnded).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(session.isEnded).toBe(true);
    expect(watcher.events).toHaveLength(1); // not again at the end
  });

  it('[MQTT-3.1.3-9] a reconnect within the will delay cancels the will', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 60;
    session.will = will({ delaySec: 5 });
    session.attach(new FakeAttachment());
    session.detach(true);
    vi.advanceTimersByTime(3_000);
    session.attach(new FakeAttachment());
    vi.advanceTimersByTime(60_000);
    expect(watcher.events).toEqual([]);
  });

  it('the will goes at the earlier of its delay and the session expiry', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 10;
    session.will = will({ delaySec: 30 });
    session.attach(new FakeAttachment());
    session.detach(true);
    vi.advanceTimersByTime(9_999);
    expect(watcher.events).toEqual([]);
    expect(session.isEnded).toBe(false);
    vi.advanceTimersByTime(1);
    expect(session.isEnded).toBe(true);
    expect(watcher.events).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(watcher.events).toHaveLength(1);
  });

  it('a will delay with Session Expiry 0 publishes at once (the session ends on detach)', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 0;
    session.will = will({ delaySec: 30 });
    session.attach(new FakeAttachment());
    session.detach(true);
    expect(watcher.events).toHaveLength(1);
    expect(session.isEnded).toBe(true);
  });

  it('ending the session publishes a pending delayed will at once', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = 3600;
    session.will = will({ delaySec: 600 });
    session.attach(new FakeAttachment());
    session.detach(true);
    vi.advanceTimersByTime(1_000);
    expect(watcher.events).toEqual([]);
    session.end();
    expect(watcher.events).toHaveLength(1);
    vi.advanceTimersByTime(600_000);
    expect(watcher.events).toHaveLength(1);
  });
});

describe('session expiry and end', () => {
  it('Session Expiry 0: detaching ends the session, leaves the core and calls onEnd', () => {
    const session = makeSession();
    session.attach(new FakeAttachment());
    session.core.subscribe(['a'], 'exact', subOptions(1));
    expect(realm.broker.subscriptionCount).toBe(1);
    session.detach(false);
    expect(session.isEnded).toBe(true);
    expect(session.core.active).toBe(false);
    expect(realm.broker.subscriptionCount).toBe(0);
    expect(ended).toEqual([session]);
  });

  it('a session with an expiry ends when it runs out, not before; a reconnect cancels it', () => {
    const session = makeSession();
    session.expirySec = 30;
    session.attach(new FakeAttachment());
    session.detach(false);
    vi.advanceTimersByTime(29_999);
    expect(session.isEnded).toBe(false);
    session.attach(new FakeAttachment());
    vi.advanceTimersByTime(60_000);
    expect(session.isEnded).toBe(false);
    session.detach(false);
    vi.advanceTimersByTime(30_000);
    expect(session.isEnded).toBe(true);
    expect(ended).toEqual([session]);
  });

  it('Infinity never expires', () => {
    const session = makeSession();
    session.expirySec = Number.POSITIVE_INFINITY;
    session.attach(new FakeAttachment());
    session.detach(false);
    vi.advanceTimersByTime(400 * 24 * 3600 * 1000);
    expect(session.isEnded).toBe(false);
  });

  it('an expiry longer than a timer can hold (2^31-1 ms, about 24.8 days) does not end the session early', () => {
    const session = makeSession();
    session.expirySec = 30 * 24 * 3600; // 30 days
    session.attach(new FakeAttachment());
    session.detach(false);
    vi.advanceTimersByTime(25 * 24 * 3600 * 1000);
    expect(session.isEnded).toBe(false);
    vi.advanceTimersByTime(5 * 24 * 3600 * 1000);
    expect(session.isEnded).toBe(true);
  });

  it('Session Expiry Interval 0xFFFFFFFF means the session does not expire (MQTT 5.0 section 3.1.2.11.2)', () => {
    const session = makeSession();
    session.expirySec = 0xffffffff;
    session.attach(new FakeAttachment());
    session.detach(false);
    vi.advanceTimersByTime(400 * 24 * 3600 * 1000);
    expect(session.isEnded).toBe(false);
  });

  it('a will delay longer than a timer can hold does not fire early', () => {
    const watcher = listener('clients/c1/status');
    const session = makeSession();
    session.expirySec = Number.POSITIVE_INFINITY;
    session.will = will({ delaySec: 30 * 24 * 3600 });
    session.attach(new FakeAttachment());
    session.detach(true);
    vi.advanceTimersByTime(25 * 24 * 3600 * 1000);
    expect(watcher.events).toEqual([]);
  });

  it('end() drops what is in flight and queued, and is idempotent', () => {
    const session = makeSession();
    const a = new FakeAttachment(1);
    session.attach(a);
    session.deliver(message('t', 'a', 1));
    session.deliver(message('t', 'b', 1));
    session.end();
    session.end();
    expect(session.inflightCount).toBe(0);
    expect(session.queued).toBe(0);
    expect(ended).toEqual([session]);
  });
});
