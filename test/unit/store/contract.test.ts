/**
 * The store contract: what the router relies on, run over the memory store and the embedded LMDB store alike.
 * "Reopening" is the restart: the LMDB store is closed and opened again from its directory; the memory store is
 * the same object, as for a router restarted in the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { WILDCARD } from '../../../src/core/match/types.js';
import { Payload } from '../../../src/core/payload.js';
import { LmdbStore } from '../../../src/store/lmdb/store.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import type { QueuedEntry, StoredMessage, Store } from '../../../src/store/types.js';

const log = pino({ level: 'silent' });

interface Harness {
  open(): Store;
  /** Closes the store and opens it again as a restart would. */
  reopen(store: Store): Promise<Store>;
  cleanup(): void;
}

const harnesses: Record<string, () => Harness> = {
  memory: () => ({
    open: () => new MemoryStore(),
    reopen: async (store) => store,
    cleanup: () => undefined,
  }),
  lmdb: () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-contract-'));
    const options = { ...DEFAULTS.store, engine: 'lmdb' as const, dataDir: dir };
    return {
      open: () => LmdbStore.open(options, log),
      reopen: async (store) => {
        await store.close();
        return LmdbStore.open(options, log);
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

function message(topic: string, text: string, expiresAt?: number): StoredMessage {
  return { topic, payload: Buffer.from(text), properties: expiresAt === undefined ? undefined : { expiresAt } };
}

function entry(stored: StoredMessage, extra: Partial<QueuedEntry> = {}): QueuedEntry {
  return { message: stored, qos: 1, retain: false, subscriptionIds: [], ...extra };
}

describe.each(Object.keys(harnesses))('store contract: %s', (name) => {
  let harness: Harness;
  let store: Store | undefined;

  afterEach(async () => {
    await store?.close();
    store = undefined;
    harness.cleanup();
  });

  function start(): Store {
    harness = harnesses[name]!();
    store = harness.open();
    return store;
  }

  async function restart(): Promise<Store> {
    await store!.barrier();
    store = await harness.reopen(store!);
    return store;
  }

  it('keeps retained messages of each realm across a restart, bytes and WAMP arguments alike', async () => {
    const s = start();
    s.retained('realm1').set({ topic: ['a', 'b'], payload: Payload.fromBytes(Buffer.from('raw')), qos: 1, properties: undefined, storedAt: 1 });
    s.retained('realm1').set({ topic: ['a', 'c'], payload: Payload.fromArgs([1, 'two'], { k: true }), qos: 0, properties: { contentType: 'x' }, storedAt: 2 });
    s.retained('other').set({ topic: ['a', 'b'], payload: Payload.fromBytes(Buffer.from('elsewhere')), qos: 0, properties: undefined, storedAt: 3 });
    const after = await restart();
    const realm1 = after.retained('realm1');
    expect(realm1.size).toBe(2);
    expect(Buffer.from(realm1.get(['a', 'b'])!.payload.bytes).toString()).toBe('raw');
    const args = realm1.get(['a', 'c'])!;
    expect(args.payload.args).toEqual([1, 'two']);
    expect(args.payload.kwargs).toEqual({ k: true });
    expect(args.properties).toEqual({ contentType: 'x' });
    expect(realm1.matching(['a', WILDCARD], 'wildcard').map((m) => m.topic.join('/')).sort()).toEqual(['a/b', 'a/c']);
    expect(Buffer.from(after.retained('other').get(['a', 'b'])!.payload.bytes).toString()).toBe('elsewhere');
  });

  it('forgets a deleted retained message and drops expired ones', async () => {
    const s = start();
    const retained = s.retained('realm1');
    retained.set({ topic: ['gone'], payload: Payload.fromBytes(Buffer.from('x')), qos: 0, properties: undefined, storedAt: 1 });
    retained.set({ topic: ['stale'], payload: Payload.fromBytes(Buffer.from('y')), qos: 0, properties: { expiresAt: Date.now() + 50 }, storedAt: 1 });
    retained.set({ topic: ['kept'], payload: Payload.fromBytes(Buffer.from('z')), qos: 0, properties: undefined, storedAt: 1 });
    retained.delete(['gone']);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(retained.matching([WILDCARD], 'wildcard').map((m) => m.topic[0])).toEqual(['kept']);
    const after = (await restart()).retained('realm1');
    expect(after.get(['gone'])).toBeUndefined();
    expect(after.get(['stale'])).toBeUndefined();
    expect(after.get(['kept'])).toBeDefined();
  });

  it('gives back a session record with its entries in queue order, sharing one message between sessions', async () => {
    const s = start();
    const shared = message('t/1', 'fan-out');
    s.sessions.save('realm1\u0000a', { clientId: 'a', n: 1 });
    s.sessions.save('realm1\u0000b', { clientId: 'b' });
    s.sessions.save('realm1\u0000a', { clientId: 'a', n: 2 });
    s.sessions.putEntry('realm1\u0000a', 2, entry(message('t/2', 'second'), { qos: 2, retain: true, subscriptionIds: [7, 9] }));
    s.sessions.putEntry('realm1\u0000a', 1, entry(shared));
    s.sessions.putEntry('realm1\u0000b', 1, entry(shared));
    const loaded = (await restart()).sessions.load();
    const a = loaded.find((x) => x.key === 'realm1\u0000a')!;
    const b = loaded.find((x) => x.key === 'realm1\u0000b')!;
    expect(a.record).toEqual({ clientId: 'a', n: 2 });
    expect(a.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(Buffer.from(a.entries[0]!.entry.message.payload).toString()).toBe('fan-out');
    expect(a.entries[1]!.entry).toMatchObject({ qos: 2, retain: true, subscriptionIds: [7, 9] });
    expect(a.entries[1]!.entry.message.topic).toBe('t/2');
    expect(Buffer.from(b.entries[0]!.entry.message.payload).toString()).toBe('fan-out');
  });

  it('records the packet id an entry was sent with, and a QoS 2 release', async () => {
    const s = start();
    const key = 'realm1\u0000c';
    s.sessions.save(key, {});
    const stored = message('q/2', 'exactly once');
    s.sessions.putEntry(key, 5, entry(stored, { qos: 2 }));
    s.sessions.putEntry(key, 5, entry(stored, { qos: 2, packetId: 300 }));
    s.sessions.putEntry(key, 6, entry(stored, { qos: 2, packetId: 301 }));
    s.sessions.putEntry(key, 6, entry(stored, { qos: 2, packetId: 301, released: true }));
    const [loaded] = (await restart()).sessions.load();
    expect(loaded!.entries.map((e) => [e.seq, e.entry.packetId, e.entry.released === true])).toEqual([
      [5, 300, false],
      [6, 301, true],
    ]);
  });

  it('deletes acknowledged entries; a message shared by sessions stays until its last entry goes', async () => {
    const s = start();
    const shared = message('t', 'shared');
    for (const key of ['k1', 'k2', 'k3']) {
      s.sessions.save(key, {});
      s.sessions.putEntry(key, 1, entry(shared));
    }
    s.sessions.deleteEntry('k1', 1);
    s.sessions.deleteEntry('k2', 1);
    let after = await restart();
    const loaded = after.sessions.load();
    expect(loaded.find((x) => x.key === 'k1')!.entries).toEqual([]);
    expect(Buffer.from(loaded.find((x) => x.key === 'k3')!.entries[0]!.entry.message.payload).toString()).toBe('shared');
    after.sessions.deleteEntry('k3', 1);
    after = await restart();
    expect(after.sessions.load().flatMap((x) => x.entries)).toEqual([]);
  });

  it('keeps QoS 2 packet ids received until released', async () => {
    const s = start();
    s.sessions.save('k', {});
    for (const id of [10, 11, 12]) s.sessions.markReceived('k', id);
    s.sessions.clearReceived('k', 11);
    const [loaded] = (await restart()).sessions.load();
    expect([...loaded!.received].sort((x, y) => x - y)).toEqual([10, 12]);
  });

  it('drops a whole session: record, entries and received ids', async () => {
    const s = start();
    s.sessions.save('gone', {});
    s.sessions.putEntry('gone', 1, entry(message('t', 'x')));
    s.sessions.markReceived('gone', 3);
    s.sessions.save('stays', { here: true });
    s.sessions.drop('gone');
    const loaded = (await restart()).sessions.load();
    expect(loaded.map((x) => x.key)).toEqual(['stays']);
  });

  it('writes for a session never saved are ignored', async () => {
    const s = start();
    s.sessions.putEntry('nobody', 1, entry(message('t', 'x')));
    s.sessions.markReceived('nobody', 1);
    expect((await restart()).sessions.load()).toEqual([]);
  });

  it('barrier settles once the writes so far are durable', async () => {
    const s = start();
    s.sessions.save('k', {});
    const barrier = s.barrier();
    if (name === 'memory') expect(barrier).toBeUndefined();
    else {
      expect(barrier).toBeInstanceOf(Promise);
      await barrier;
      expect(s.barrier()).toBeUndefined();
    }
  });
});
