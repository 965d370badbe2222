/**
 * `wamp.*` and `$SYS/...` belong to the router: clients may subscribe and call, but a publication or a
 * registration there is refused, so nobody can forge the router's meta events or statistics.
 */
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

async function session() {
  const [client] = await RawWamp.session(router.url, 'json');
  wamp.push(client);
  return client;
}

describe('namespaces reserved for the router', () => {
  it('a WAMP publish to wamp.* is refused and reaches no subscriber', async () => {
    const watcher = await session();
    watcher.send([32, 1, {}, 'wamp.session.on_join']);
    expect((await watcher.next())[0]).toBe(33);
    const forger = await session();
    forger.send([16, 2, { acknowledge: true }, 'wamp.session.on_join', [{ session: 1, authid: 'fake' }]]);
    const error = await forger.next();
    expect(error.slice(0, 5)).toEqual([8, 16, 2, {}, 'wamp.error.not_authorized']);
    expect(await watcher.silentFor(150)).toBe(true);
  });

  it('a WAMP registration under wamp.* is refused, and the real meta procedures still answer', async () => {
    const client = await session();
    client.send([64, 1, {}, 'wamp.session.count']);
    expect((await client.next()).slice(0, 5)).toEqual([8, 64, 1, {}, 'wamp.error.not_authorized']);
    client.send([64, 2, {}, 'wamp.custom.thing']);
    expect((await client.next())[4]).toBe('wamp.error.not_authorized');
    client.send([48, 3, {}, 'wamp.session.count']);
    const result = await client.next();
    expect(result[0]).toBe(50);
    expect(result[3]).toEqual([1]);
  });

  it('an MQTT 5 publish to $SYS/... gets PUBACK 0x87 and reaches no $SYS subscriber', async () => {
    const watcher = await connectClient(router.url, 5);
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('$SYS/broker/fake', { qos: 1 });
    const forger = await connectClient(router.url, 5);
    const reason = await new Promise<number | undefined>((resolve) =>
      forger.publish('$SYS/broker/fake', '1', { qos: 1 }, (error, packet) => resolve((packet as { reasonCode?: number } | undefined)?.reasonCode ?? (error as { code?: number } | undefined)?.code)),
    );
    expect(reason).toBe(0x87);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen).toEqual([]);
  });
});
