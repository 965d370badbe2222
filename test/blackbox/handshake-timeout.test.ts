/**
 * `limits.handshakeTimeoutSec`: a connection that does not complete its login in time is closed and logged,
 * whatever protocol it speaks; one that logs in is left alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, endAll, RawMqtt } from '../helpers/mqtt.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter | undefined;

afterEach(async () => {
  await endAll();
  await router?.close();
  router = undefined;
});

describe('handshake timeout', () => {
  it('closes a WebSocket that never sends HELLO with 1008, and logs it', async () => {
    router = await startTestRouter({ limits: { handshakeTimeoutSec: 1 } });
    const client = await RawWamp.connect(router.url, 'json');
    const started = Date.now();
    const closed = await client.waitClosed(4000);
    expect(closed.code).toBe(1008);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(router.logs.some((line) => line.msg === 'handshake timeout' && line.conn !== undefined)).toBe(true);
  });

  it('leaves a WAMP session that logged in alone', async () => {
    router = await startTestRouter({ limits: { handshakeTimeoutSec: 1 } });
    const [client, welcome] = await RawWamp.session(router.url, 'json');
    expect(welcome[0]).toBe(2);
    expect(await client.silentFor(1500)).toBe(true);
    expect(client.closed).toBeUndefined();
    client.close();
  });

  it('closes an MQTT TCP connection that never sends CONNECT', async () => {
    router = await startTestRouter({ limits: { handshakeTimeoutSec: 1 } }, { tcp: true });
    const raw = await RawMqtt.connect(router.mqttPort!, 4);
    const started = Date.now();
    expect(await raw.waitClosed(4000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('leaves an MQTT client that connected alone', async () => {
    router = await startTestRouter({ limits: { handshakeTimeoutSec: 1 } }, { tcp: true });
    const client = await connectClient(`mqtt://127.0.0.1:${router.mqttPort}`, 5, { keepalive: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(client.connected).toBe(true);
  });
});
