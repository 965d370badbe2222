/**
 * Client certificates on the main port: with tls.clientCa, a wss:// client whose certificate that CA signed logs
 * in as the certificate's common name (authmethod `tls`), over WAMP (autobahn-js) and over MQTT (mqtt.js). A
 * certificate the CA did not sign, or none at all, gives no identity; tokens keep working beside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autobahn from 'autobahn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

let dir: string;
let router: TestRouter | undefined;
const connections: Array<{ close(): void; isOpen: boolean }> = [];
const sockets: WebSocket[] = [];

const file = (name: string) => readFileSync(join(dir, name));
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-wss-cert-'));
  // The router's own certificate, for 127.0.0.1.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', 'server.key', '-out', 'server.pem',
    '-subj', '/CN=switchboard-test', '-addext', 'subjectAltName=IP:127.0.0.1']);
  // The CA devices' and browsers' certificates come from, and one certificate it signed.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=test-client-ca']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=console-7']);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '1']);
  // A certificate with the same name that nobody trusted signed: it must not log anyone in.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-subj', '/CN=console-7']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  for (const connection of connections.splice(0)) if (connection.isOpen) connection.close();
  for (const socket of sockets.splice(0)) socket.terminate();
  await endAll();
  await router?.close();
  router = undefined;
});

async function start(): Promise<TestRouter> {
  router = await startTestRouter({
    tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clientCa: join(dir, 'ca.pem'), clientCertRole: 'console' },
    jwt: { secret: SECRET },
    allowAnonymous: false,
  });
  return router;
}

type Opened = { kind: 'welcome'; details: Record<string, unknown> } | { kind: 'closed'; reason: string; message: unknown };

/** Joins with autobahn-js over wss, presenting `certificate` (autobahn's tlsConfiguration). */
function joinRealm(url: string, certificate: 'client' | 'rogue', options: Record<string, unknown> = {}): Promise<Opened> {
  const tlsConfiguration = { ca: file('server.pem'), cert: file(`${certificate}.pem`), key: file(`${certificate}.key`) };
  return new Promise((resolve) => {
    const connection = new autobahn.Connection({ url, realm: 'realm1', max_retries: 0, tlsConfiguration, ...options });
    connections.push(connection);
    connection.onopen = (_session: unknown, details: Record<string, unknown>) => resolve({ kind: 'welcome', details });
    connection.onclose = (reason: string, details: { reason?: string; message?: unknown }) => {
      resolve({ kind: 'closed', reason: details.reason ?? reason, message: details.message });
      return true;
    };
    connection.open();
  });
}

/**
 * A wss client with no certificate at all. autobahn-js can only set the trusted CA together with a client
 * certificate, so this one speaks WAMP JSON itself over `ws`; it returns every message up to WELCOME or ABORT.
 */
async function helloWithoutCertificate(url: string, details: Record<string, unknown>, token?: string): Promise<unknown[][]> {
  const socket = new WebSocket(url, ['wamp.2.json'], { ca: file('server.pem') });
  sockets.push(socket);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const received: unknown[][] = [];
  return new Promise((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as unknown[];
      received.push(message);
      if (message[0] === 4 && token !== undefined) socket.send(JSON.stringify([5, token, {}]));
      if (message[0] === 2 || message[0] === 3) resolve(received);
    });
    socket.send(JSON.stringify([1, 'realm1', { roles: { subscriber: {} }, ...details }]));
  });
}

describe('client certificates over wss', () => {
  it("a WAMP client offering authmethod tls logs in as its certificate's common name", async () => {
    const r = await start();
    const opened = await joinRealm(r.url, 'client', { authmethods: ['tls'] });
    expect(opened).toMatchObject({ kind: 'welcome', details: { authid: 'console-7', authrole: 'console', authmethod: 'tls', authprovider: 'tls' } });
    expect(r.logs.some((line) => line.msg === 'connection open' && line.certificate === 'console-7')).toBe(true);
  });

  it('a HELLO without authmethods logs in by the certificate, as an MQTT CONNECT without credentials does', async () => {
    const r = await start();
    const opened = await joinRealm(r.url, 'client');
    expect(opened).toMatchObject({ kind: 'welcome', details: { authid: 'console-7', authmethod: 'tls' } });
  });

  it("the client's order of authmethods is kept: ticket first means a JWT login even with a certificate", async () => {
    const r = await start();
    const token = await hs256({ sub: 'alice' });
    const opened = await joinRealm(r.url, 'client', { authmethods: ['ticket', 'tls'], onchallenge: () => token });
    expect(opened).toMatchObject({ kind: 'welcome', details: { authid: 'alice', authmethod: 'ticket' } });
  });

  it('without a certificate, or with one the CA did not sign, tls is not available; a token still works', async () => {
    const r = await start();
    const rogue = await joinRealm(r.url, 'rogue', { authmethods: ['tls'] });
    expect(rogue).toMatchObject({ kind: 'closed', reason: 'wamp.error.no_matching_auth_method' });
    const [none] = await helloWithoutCertificate(r.url, { authmethods: ['tls'] });
    expect(none).toEqual([3, { message: expect.any(String) }, 'wamp.error.no_matching_auth_method']);
    const [noCredentials] = await helloWithoutCertificate(r.url, {});
    expect(noCredentials).toEqual([3, { message: expect.any(String) }, 'wamp.error.no_matching_auth_method']);
    const withToken = await helloWithoutCertificate(r.url, { authmethods: ['tls', 'ticket'] }, await hs256({ sub: 'bob' }));
    expect(withToken.map((message) => message[0])).toEqual([4, 2]);
    expect(withToken[1]![2]).toMatchObject({ authid: 'bob', authmethod: 'ticket' });
    expect(r.logs.some((line) => line.msg === 'connection open' && line.certificate !== undefined)).toBe(false);
  });

  it('an MQTT client over wss with the certificate and no credentials logs in by it', async () => {
    const r = await start();
    const client = await connectClient(r.url, 5, { ca: file('server.pem'), cert: file('client.pem'), key: file('client.key') });
    expect(client.connected).toBe(true);
    expect(r.logs.find((line) => line.msg === 'mqtt session connected')).toMatchObject({ authid: 'console-7', authmethod: 'tls' });
    const refused = await connectClient(r.url, 5, { ca: file('server.pem'), cert: file('rogue.pem'), key: file('rogue.key') }).catch(
      (error: { code?: number }) => error,
    );
    expect((refused as { code?: number }).code).toBe(0x87);
  });

  it('a certificate reload keeps asking for client certificates', async () => {
    const r = await start();
    expect(r.reloadTls()).toBe(true);
    const opened = await joinRealm(r.url, 'client', { authmethods: ['tls'] });
    expect(opened).toMatchObject({ kind: 'welcome', details: { authid: 'console-7', authmethod: 'tls' } });
  });
});
