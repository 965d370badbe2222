/**
 * Production operations: readiness and graceful shutdown, the Origin allow-list (and cookie tokens across
 * sites), WebSocket heartbeats, and connection limits, against the real router.
 */
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

let router: TestRouter | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await endAll();
  await router?.close();
  router = undefined;
});

async function start(patch: ConfigPatch = {}, tcp = false): Promise<TestRouter> {
  router = await startTestRouter(patch, { tcp });
  return router;
}

/** Opens a WebSocket and resolves with it once open, or with the HTTP status that refused it. */
function open(url: string, protocols: string[], options: WebSocket.ClientOptions = {}): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, protocols, options);
    sockets.push(socket);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', () => resolve(0));
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('readiness and graceful shutdown', () => {
  it('/readyz is 200 while serving and 503 once shutdown starts; sessions are told and the router stops', async () => {
    const r = await start({}, true);
    expect((await get(r.port, '/readyz')).status).toBe(200);
    const [wamp] = await RawWamp.session(r.url, 'json');
    const mqtt = await connectClient(r.url, 5);
    const disconnect = new Promise<number | undefined>((resolve) => mqtt.once('disconnect', (packet) => resolve(packet.reasonCode)));
    const closing = r.close();
    const ready = await get(r.port, '/readyz').catch(() => ({ status: 503, body: '' }));
    expect(ready.status).toBe(503);
    expect(await wamp.next()).toEqual([6, { message: 'the router is shutting down' }, 'wamp.close.system_shutdown']);
    wamp.send([6, {}, 'wamp.close.goodbye_and_out']);
    expect(await disconnect).toBe(0x8b);
    await closing;
    router = undefined;
    wamp.close();
  });

  it('a client that never answers GOODBYE does not hold shutdown past its deadline', async () => {
    const r = await start({ shutdownTimeoutSec: 1 });
    const [wamp] = await RawWamp.session(r.url, 'json');
    const started = Date.now();
    await r.close();
    router = undefined;
    expect(Date.now() - started).toBeLessThan(4000);
    wamp.close();
  });
});

describe('Origin allow-list', () => {
  it('refuses an origin not on a configured list with 403 and a log line; listed and absent origins pass', async () => {
    const r = await start({ allowedOrigins: ['https://app.example.com'], jwt: { secret: SECRET }, allowAnonymous: true });
    expect(await open(r.url, ['wamp.2.json'], { origin: 'https://evil.example' })).toBe(403);
    expect(r.logs.some((line) => line.msg === 'upgrade refused: origin not allowed' && line.origin === 'https://evil.example')).toBe(true);
    expect(await open(r.url, ['wamp.2.json'], { origin: 'https://app.example.com' })).toBeInstanceOf(WebSocket);
    expect(await open(r.url, ['mqtt'])).toBeInstanceOf(WebSocket);
  });

  it('with no list every origin may connect, as device libraries send one too', async () => {
    const r = await start({ jwt: { secret: SECRET }, allowAnonymous: true });
    expect(await open(r.url, ['wamp.2.json'], { origin: 'https://anywhere.example' })).toBeInstanceOf(WebSocket);
  });

  it('a token in a cookie only counts from the same host or a listed origin (cross-site WebSocket hijacking)', async () => {
    const r = await start({ jwt: { secret: SECRET }, allowAnonymous: false });
    const token = await hs256({ sub: 'victim' });
    const hello = async (origin: string) => {
      const client = await RawWamp.connect(r.url, 'json', { cookie: `switchboard_token=${token}`, origin });
      client.send([1, 'realm1', { roles: { subscriber: {} } }]);
      const reply = await client.next();
      client.close();
      return reply;
    };
    const crossSite = await hello('https://evil.example');
    expect(crossSite[0]).toBe(3);
    expect(crossSite[2]).toBe('wamp.error.no_matching_auth_method');
    const sameHost = await hello(`http://127.0.0.1:${r.port}`);
    expect(sameHost[0]).toBe(2);
    expect(sameHost[2]).toMatchObject({ authid: 'victim', authmethod: 'jwt' });
  });
});

describe('heartbeats', () => {
  it('drops a WebSocket peer that stops answering pings, with a logged reason, and keeps one that answers', async () => {
    const r = await start({ heartbeat: { intervalSec: 1, timeoutSec: 2 } });
    const silent = (await open(r.url, ['wamp.2.json'], { autoPong: false })) as WebSocket;
    const alive = (await open(r.url, ['wamp.2.json'])) as WebSocket;
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    const started = Date.now();
    await closed;
    const after = Date.now() - started;
    expect(after).toBeGreaterThanOrEqual(1500);
    expect(after).toBeLessThan(6000);
    expect(r.logs.some((line) => line.msg === 'heartbeat timeout: peer silent, dropped')).toBe(true);
    // The client may see its close a moment before the router logs its own.
    const deadline = Date.now() + 2000;
    while (!r.logs.some((line) => line.msg === 'connection closed' && line.reason === 'heartbeat timeout') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(r.logs.some((line) => line.msg === 'connection closed' && line.reason === 'heartbeat timeout')).toBe(true);
    expect(alive.readyState).toBe(WebSocket.OPEN);
  });
});

describe('connection limits', () => {
  it('limits.maxConnections refuses WebSocket upgrades (503) and TCP connections past the cap, and frees slots', async () => {
    const r = await start({ limits: { maxConnections: 2 } }, true);
    const first = await open(r.url, ['mqtt']);
    const second = await open(r.url, ['mqtt']);
    expect(first).toBeInstanceOf(WebSocket);
    expect(second).toBeInstanceOf(WebSocket);
    expect(await open(r.url, ['mqtt'])).toBe(503);
    const tcpClosed = await new Promise<boolean>((resolve) => {
      const socket = netConnect(r.mqttPort!, '127.0.0.1');
      socket.on('close', () => resolve(true));
      socket.on('error', () => undefined);
      setTimeout(() => resolve(false), 2000);
    });
    expect(tcpClosed).toBe(true);
    expect(r.logs.some((line) => line.limit === 'max_connections')).toBe(true);
    (first as WebSocket).close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await open(r.url, ['mqtt'])).toBeInstanceOf(WebSocket);
  });

  it('limits.connectionRatePerIp refuses a burst past the rate with 503', async () => {
    const r = await start({ limits: { connectionRatePerIp: 3 } });
    const results = await Promise.all(Array.from({ length: 6 }, () => open(r.url, ['wamp.2.json'])));
    const accepted = results.filter((result) => result instanceof WebSocket).length;
    const refused = results.filter((result) => result === 503).length;
    expect(accepted).toBe(3);
    expect(refused).toBe(3);
    expect(r.logs.some((line) => line.limit === 'accept_rate_ip')).toBe(true);
  });
});

describe('log lines', () => {
  it('after login, lines about a connection carry its realm and authid, the close line included', async () => {
    const r = await start({}, true);
    const [wamp] = await RawWamp.session(r.url, 'json', { authid: 'alice' });
    wamp.send([6, {}, 'wamp.close.close_realm']);
    await wamp.waitClosed();
    const mqtt = await connectClient(`mqtt://127.0.0.1:${r.mqttPort}`, 4, { clientId: 'device-7' });
    await mqtt.endAsync();
    const deadline = Date.now() + 2000;
    const closes = () => r.logs.filter((line) => line.msg === 'connection closed');
    while (closes().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closes()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ protocol: 'wamp.2.json', realm: 'realm1', authid: 'alice' }),
        expect.objectContaining({ protocol: 'mqtt', realm: 'realm1', authid: 'device-7', clientId: 'device-7' }),
      ]),
    );
  });
});

describe('permessage-deflate', () => {
  it('is negotiated only when compression.enabled is set', async () => {
    const off = await start();
    const plain = (await open(off.url, ['wamp.2.json'])) as WebSocket;
    expect(plain.extensions).toBe('');
    await off.close();
    router = undefined;
    const on = await start({ compression: { enabled: true, thresholdBytes: 0 } });
    const compressed = (await open(on.url, ['wamp.2.json'])) as WebSocket;
    expect(compressed.extensions).toContain('permessage-deflate');
    compressed.send(JSON.stringify([1, 'realm1', { roles: { subscriber: {} } }]));
    const welcome = await new Promise<unknown[]>((resolve) => compressed.once('message', (data) => resolve(JSON.parse(String(data)))));
    expect(welcome[0]).toBe(2);
  });
});
