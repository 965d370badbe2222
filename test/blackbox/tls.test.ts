/**
 * TLS: with a certificate and key the main port serves https and wss, MQTT over TLS opens on its own port,
 * and a reloaded certificate is used for new connections while existing ones carry on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { freePort, startTestRouter, type TestRouter } from '../helpers/router.js';

let dir: string;
let router: TestRouter | undefined;
const sockets: WebSocket[] = [];

/** A self-signed certificate for 127.0.0.1 with the given common name, written to cert.pem and key.pem. */
function makeCertificate(commonName: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-'));
  makeCertificate('switchboard-test-1');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await endAll();
  await router?.close();
  router = undefined;
});

async function start(): Promise<TestRouter> {
  router = await startTestRouter({ tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }, mqtt: { tlsPort: await freePort() } });
  return router;
}

function wss(url: string, ca: Buffer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, ['wamp.2.json'], { ca });
    sockets.push(socket);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function peerCommonName(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const name = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(name));
    });
    socket.once('error', reject);
  });
}

describe('TLS', () => {
  it('serves wss:// and https:// on the main port, and a WAMP session joins over it', async () => {
    const r = await start();
    expect(r.url.startsWith('wss://')).toBe(true);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const status = await new Promise<number>((resolve, reject) =>
      get({ host: '127.0.0.1', port: r.port, path: '/healthz', ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).once('error', reject),
    );
    expect(status).toBe(200);
    const socket = await wss(r.url, ca);
    socket.send(JSON.stringify([1, 'realm1', { roles: { subscriber: {} } }]));
    const welcome = await new Promise<unknown[]>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
    expect(welcome[0]).toBe(2);
  });

  it('serves MQTT over TLS on mqtt.tlsPort, logged as transport tls', async () => {
    const r = await start();
    const ca = readFileSync(join(dir, 'cert.pem'));
    const client = await connectClient(`mqtts://127.0.0.1:${r.mqttTlsPort}`, 5, { ca });
    const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync('secure/#', { qos: 1 });
    await client.publishAsync('secure/x', 'over tls', { qos: 1 });
    expect(await got).toBe('over tls');
    expect(r.logs.some((line) => line.msg === 'connection open' && line.transport === 'tls')).toBe(true);
  });

  it('a reloaded certificate is used for new connections, and open ones carry on', async () => {
    const r = await start();
    const first = readFileSync(join(dir, 'cert.pem'));
    expect(await peerCommonName(r.port, first)).toBe('switchboard-test-1');
    const open = await wss(r.url, first);
    makeCertificate('switchboard-test-2');
    expect(r.reloadTls()).toBe(true);
    const second = readFileSync(join(dir, 'cert.pem'));
    expect(await peerCommonName(r.port, second)).toBe('switchboard-test-2');
    expect(await peerCommonName(r.mqttTlsPort!, second)).toBe('switchboard-test-2');
    expect(open.readyState).toBe(WebSocket.OPEN);
    expect(r.logs.some((line) => line.msg === 'TLS certificate reloaded')).toBe(true);
  });
});

describe('MQTT client certificates', () => {
  /** A CA, and a client certificate it signed for `commonName`. */
  function makeClientCertificate(commonName: string): void {
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=test-ca']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${commonName}`]);
    run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '1']);
  }

  async function startWithClientCa(requireClientCert: boolean): Promise<TestRouter> {
    router = await startTestRouter({
      tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), clientCa: join(dir, 'ca.pem'), requireClientCert, clientCertRole: 'device' },
      mqtt: { tlsPort: await freePort() },
      jwt: { secret: 'a-secret-long-enough-for-hs256-tokens!' },
      allowAnonymous: false,
    });
    return router;
  }

  it('a device with a certificate signed by tls.clientCa logs in by it: authid is its common name', async () => {
    makeClientCertificate('device-42');
    const r = await startWithClientCa(false);
    const tls = { ca: readFileSync(join(dir, 'cert.pem')), cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client.key')) };
    const client = await connectClient(`mqtts://127.0.0.1:${r.mqttTlsPort}`, 5, tls);
    expect(client.connected).toBe(true);
    const login = r.logs.find((line) => line.msg === 'mqtt session connected');
    expect(login).toMatchObject({ authid: 'device-42', authmethod: 'tls' });
    const session = [...r.router.realm('realm1')!.sessions.values()].find((s) => s.authid === 'device-42');
    expect(session?.authrole).toBe('device');
  });

  it('without a certificate the device needs other credentials, or cannot connect when one is required', async () => {
    makeClientCertificate('device-43');
    const optional = await startWithClientCa(false);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const refused = await connectClient(`mqtts://127.0.0.1:${optional.mqttTlsPort}`, 5, { ca }).catch((error: { code?: number }) => error);
    expect((refused as { code?: number }).code).toBe(0x87);
    await optional.close();
    router = undefined;
    const required = await startWithClientCa(true);
    const failed = await connectClient(`mqtts://127.0.0.1:${required.mqttTlsPort}`, 5, { ca, connectTimeout: 2000 }).catch((error: Error) => error);
    expect(failed).toBeInstanceOf(Error);
  });
});
