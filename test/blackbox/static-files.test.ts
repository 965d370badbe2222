/**
 * `serveStatic` against the real router: files over HTTP on the main port, next to the router's own endpoints and
 * WebSocket upgrades. Requests are written byte for byte on a raw socket, so that traversal attempts reach the
 * router exactly as an attacker would send them (an HTTP client library might normalise `..` away first).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSession } from '../helpers/autobahn.js';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { freePort, startTestRouter, type TestRouter } from '../helpers/router.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one HTTP/1.1 request with `target` verbatim and reads the whole answer (the connection is closed after). */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split).toString('latin1').split('\r\n');
      const status = Number(head[0]?.split(' ')[1]);
      const parsed: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body: Buffer = all.subarray(split + 4);
      if (parsed['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status, headers: parsed, body });
    });
  });
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = bytes.indexOf('\r\n', at);
    const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

let base: string;
let root: string;
const big = randomBytes(3 * 1024 * 1024 + 17);
let router: TestRouter | undefined;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'switchboard-serve-')));
  root = join(base, 'www');
  mkdirSync(join(root, 'js'), { recursive: true });
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(root, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  writeFileSync(join(root, 'js', 'app.mjs'), 'export const x = 1;');
  writeFileSync(join(root, 'style.css'), 'body{}');
  writeFileSync(join(root, 'data.json'), '{"a":1}');
  writeFileSync(join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'big.png'), big);
  writeFileSync(join(root, '.env'), 'TOKEN=secret');
  // Files named like the router's endpoints, which must never answer in their place.
  writeFileSync(join(root, 'healthz'), 'static healthz');
  writeFileSync(join(root, 'readyz'), 'static readyz');
  writeFileSync(join(root, 'metrics'), 'static metrics');
  writeFileSync(join(base, 'secret.txt'), 'the secret outside the served directory');
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(base, join(root, 'up'));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

afterEach(async () => {
  await endAll();
  await router?.close();
  router = undefined;
});

/** Starts a router serving `staticDir` (null: no serveStatic at all). */
async function start(staticDir: string | null = root): Promise<TestRouter> {
  router = await startTestRouter(staticDir === null ? {} : { serveStatic: staticDir });
  return router;
}

describe('serveStatic', () => {
  it('serves / as index.html and files with their content types', async () => {
    const { port } = await start();
    const home = await raw(port, 'GET', '/');
    expect(home.status).toBe(200);
    expect(home.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(home.body.toString()).toBe('<!doctype html><title>home</title>');
    for (const [path, type, body] of [
      ['/js/app.mjs', 'text/javascript; charset=utf-8', 'export const x = 1;'],
      ['/style.css?v=2', 'text/css; charset=utf-8', 'body{}'],
      ['/data.json', 'application/json; charset=utf-8', '{"a":1}'],
      ['/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
      ['/sub/', 'text/html; charset=utf-8', '<!doctype html><title>sub</title>'],
    ] as const) {
      const answer = await raw(port, 'GET', path);
      expect([path, answer.status, answer.headers['content-type'], answer.body.toString()]).toEqual([path, 200, type, body]);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('streams a large file intact, and HEAD sends its headers without the body', async () => {
    const { port } = await start();
    const answer = await raw(port, 'GET', '/big.png');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('image/png');
    expect(answer.headers['content-length']).toBe(String(big.length));
    expect(answer.body.equals(big)).toBe(true);
    const head = await raw(port, 'HEAD', '/big.png');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(big.length));
    expect(head.body.length).toBe(0);
  });

  it('answers a matching If-None-Match with 304', async () => {
    const { port } = await start();
    const first = await raw(port, 'GET', '/style.css');
    const etag = first.headers.etag;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await raw(port, 'GET', '/style.css', { 'If-None-Match': etag! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await raw(port, 'GET', '/style.css', { 'If-None-Match': 'W/"other"' })).status).toBe(200);
  });

  it('redirects a directory without its trailing slash, and 404s what is missing or hidden', async () => {
    const { port } = await start();
    const redirect = await raw(port, 'GET', '/sub');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/sub/');
    expect((await raw(port, 'GET', '//sub')).headers.location).toBe('/sub/');
    expect((await raw(port, 'GET', '/missing.js')).status).toBe(404);
    expect((await raw(port, 'GET', '/.env')).status).toBe(404);
    expect((await raw(port, 'GET', '/js/')).status).toBe(404);
    expect((await raw(port, 'POST', '/index.html')).status).toBe(404);
  });

  it('never leaves the directory: dot segments, encoded traversal and escaping symbolic links', async () => {
    const { port } = await start();
    const attempts = [
      '/../secret.txt',
      '/sub/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/%2E%2E/etc/passwd',
      '/sub/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/sub%5c..%5c..%5csecret.txt',
      '/index.html%00.png',
      '/link-out.txt',
      '/up/secret.txt',
      '/up/',
    ];
    for (const target of attempts) {
      const answer = await raw(port, 'GET', target);
      expect([target, [400, 403, 404].includes(answer.status)]).toEqual([target, true]);
      expect(answer.body.toString()).not.toContain('the secret outside');
    }
    // Decoded only once: this names a file called `%2e%2e`, which does not exist.
    expect((await raw(port, 'GET', '/%252e%252e/secret.txt')).status).toBe(404);
    expect((await raw(port, 'GET', '/%zz')).status).toBe(400);
  });

  it('does not shadow /healthz, /readyz and /metrics, even with files of those names', async () => {
    const { port } = await start();
    const health = await raw(port, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: 'ok' });
    expect(JSON.parse((await raw(port, 'GET', '/readyz')).body.toString())).toEqual({ status: 'ready' });
    const metrics = await raw(port, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('switchboard_connections_open');
    // HEAD is not one of those endpoints' methods, but the files still do not answer for them.
    expect((await raw(port, 'HEAD', '/healthz')).status).toBe(404);
  });

  it('does not answer /metrics from the directory when metrics live on their own port', async () => {
    router = await startTestRouter({ serveStatic: root, metrics: { enabled: true, port: await freePort() } });
    const answer = await raw(router.port, 'GET', '/metrics');
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).not.toContain('static metrics');
  });

  it('leaves WebSocket upgrades alone: WAMP and MQTT still connect on / next to index.html', async () => {
    const r = await start();
    const wamp = await openSession(r.url, 'json');
    expect(wamp.details.authmethod).toBe('anonymous');
    await wamp.close();
    const mqtt = await connectClient(r.url, 5);
    expect(mqtt.connected).toBe(true);
  });

  it('without serveStatic, / keeps its WebSocket hint and files are not served', async () => {
    const { port } = await start(null);
    expect((await raw(port, 'GET', '/')).status).toBe(426);
    expect((await raw(port, 'GET', '/index.html')).status).toBe(404);
  });

  it('a directory that does not exist serves nothing but does not break the router', async () => {
    const { port } = await start(join(base, 'nowhere'));
    expect((await raw(port, 'GET', '/')).status).toBe(426);
    expect((await raw(port, 'GET', '/index.html')).status).toBe(404);
    expect((await raw(port, 'GET', '/healthz')).status).toBe(200);
  });
});
