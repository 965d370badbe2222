/**
 * WAMP PUBLISHED for `acknowledge: true` promises that the publication is stored where it must be (retained
 * event, persistent MQTT sessions): it waits for the store's barrier, and a failed write answers ERROR
 * `switchboard.error.store_unavailable` instead.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RouterAuth } from '../../../src/auth/service.js';
import { allowAll } from '../../../src/auth/authorizer.js';
import { Router } from '../../../src/core/router.js';
import { noMetrics, type Connection, type ConnectionHandler, type ModuleContext } from '../../../src/port.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { createWampModule } from '../../../protocols/wamp/index.js';

/** A memory store whose barrier is pending until the test settles it. */
class HeldStore extends MemoryStore {
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private held: Promise<void> | undefined;

  hold(): void {
    this.held = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
  }

  override barrier(): undefined {
    return this.held as undefined;
  }

  release(error?: Error): void {
    if (error === undefined) this.settle?.resolve();
    else this.settle?.reject(error);
    this.held = undefined;
  }
}

/** A WAMP JSON connection that records what the module sends. */
class JsonPeer implements Connection {
  readonly id = 'w1';
  readonly protocol = 'wamp.2.json';
  readonly transport = 'websocket';
  readonly remoteAddress = '127.0.0.1';
  readonly log = pino({ level: 'silent' });
  readonly upgradeAuth = undefined;
  readonly bufferedAmount = 0;
  readonly received: unknown[][] = [];
  private handler: ConnectionHandler | undefined;

  annotate(): void {}
  send(data: Buffer | string): void {
    this.received.push(JSON.parse(data.toString()) as unknown[]);
  }
  close(): void {}
  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }
  deliver(message: unknown[]): void {
    this.handler!.message(Buffer.from(JSON.stringify(message)), false);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup(): { store: HeldStore; peer: JsonPeer } {
  const store = new HeldStore();
  const router = new Router(allowAll);
  router.addRealm('realm1', { uriCheck: 'loose' });
  const context: ModuleContext = {
    realm: (name) => router.realm(name),
    realmNames: () => router.realmNames,
    defaultRealm: 'realm1',
    auth: new RouterAuth({ tokens: undefined, anonymousAllowed: true, anonymousRole: 'anonymous' }),
    log: pino({ level: 'silent' }),
    handshakeTimeoutMs: 0,
    metrics: noMetrics,
    backpressure: { softBytes: Number.MAX_SAFE_INTEGER, hardBytes: Number.MAX_SAFE_INTEGER },
    persistence: store,
  };
  const peer = new JsonPeer();
  createWampModule(context).accept(peer);
  peer.deliver([1, 'realm1', { roles: { publisher: {} } }]);
  return { store, peer };
}

describe('WAMP acknowledged publish over the store', () => {
  it('PUBLISHED waits for the barrier', async () => {
    const { store, peer } = setup();
    await tick();
    expect(peer.received[0]?.[0]).toBe(2); // WELCOME
    store.hold();
    peer.deliver([16, 7, { acknowledge: true, retain: true }, 'a.b', [1]]);
    await tick();
    expect(peer.received.length).toBe(1);
    store.release();
    await tick();
    expect(peer.received[1]?.slice(0, 2)).toEqual([17, 7]);
  });

  it('a failed write answers ERROR switchboard.error.store_unavailable', async () => {
    const { store, peer } = setup();
    await tick();
    store.hold();
    peer.deliver([16, 8, { acknowledge: true }, 'a.b', [1]]);
    await tick();
    store.release(new Error('disk full'));
    await tick();
    expect(peer.received[1]?.slice(0, 5)).toEqual([8, 16, 8, {}, 'switchboard.error.store_unavailable']);
  });

  it('without pending writes PUBLISHED goes at once', async () => {
    const { peer } = setup();
    await tick();
    peer.deliver([16, 9, { acknowledge: true }, 'a.b', [1]]);
    expect(peer.received[1]?.slice(0, 2)).toEqual([17, 9]);
  });
});
