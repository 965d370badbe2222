/**
 * `serveStatic`: answers GET and HEAD from the files of one directory, for a browser app that lives next to the
 * router. Only the file system is consulted (node:fs); nothing is cached in memory, and files are streamed.
 *
 * Safety comes from two independent checks, so that a mistake in one is caught by the other:
 * - the request path is decoded once and refused (403) when a segment is `..`, holds a NUL or a backslash, or
 *   when it does not start with `/`; dot files (`.env`, `.git/...`) are never served (404);
 * - the file found is resolved with realpath and served only when it lies inside the directory's own realpath,
 *   so a symbolic link pointing outside it is refused (403) too.
 */
import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

/** Content types by file extension; anything else is sent as bytes, and nosniff stops browsers guessing. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** What a request path names inside the served directory, before the file system is asked. */
export type PathVerdict =
  | { kind: 'ok'; segments: string[]; directory: boolean }
  | { kind: 'forbidden'; why: string }
  | { kind: 'bad'; why: string }
  | { kind: 'hidden' };

/**
 * Splits a raw request target (`/a/b.js?x=1`) into decoded path segments. Percent-decoding happens exactly once,
 * so `%2e%2e` is `..` and refused, while `%252e` stays the literal name `%2e`.
 */
export function parseRequestPath(target: string): PathVerdict {
  const raw = target.split(/[?#]/, 1)[0] ?? '';
  if (!raw.startsWith('/')) return { kind: 'bad', why: 'not an origin-form path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { kind: 'bad', why: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0')) return { kind: 'forbidden', why: 'NUL in path' };
  // A backslash is an ordinary character on POSIX but a separator on Windows; it has no business in a URL path.
  if (decoded.includes('\\')) return { kind: 'forbidden', why: 'backslash in path' };
  const parts = decoded.split('/');
  if (parts.includes('..') || parts.includes('.')) return { kind: 'forbidden', why: 'dot segment in path' };
  // Empty segments (`//`) are dropped rather than refused, as most servers do.
  const segments = parts.filter((part) => part !== '');
  if (segments.some((segment) => segment.startsWith('.'))) return { kind: 'hidden' };
  return { kind: 'ok', segments, directory: decoded.endsWith('/') };
}

/** True when `candidate` is `root` or lies below it (both already real, absolute paths). */
export function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(sep) ? root : root + sep);
}

export type Lookup =
  | { kind: 'file'; path: string; stats: Stats }
  | { kind: 'redirect'; location: string }
  | { kind: 'forbidden'; why: string }
  | { kind: 'bad'; why: string }
  | { kind: 'missing' };

/** Finds the file a request path names under `root`, following the rules in the header comment. */
export async function lookup(root: string, target: string): Promise<Lookup> {
  const verdict = parseRequestPath(target);
  if (verdict.kind === 'hidden') return { kind: 'missing' };
  if (verdict.kind !== 'ok') return verdict;
  let realRoot: string;
  try {
    realRoot = await realpath(resolve(root));
  } catch {
    return { kind: 'missing' };
  }
  let real: string;
  let stats: Stats;
  try {
    real = await realpath(join(realRoot, ...verdict.segments));
    stats = await stat(real);
  } catch {
    return { kind: 'missing' };
  }
  if (!isInside(realRoot, real)) return { kind: 'forbidden', why: 'resolves outside the served directory' };
  if (stats.isDirectory()) {
    if (!verdict.directory && verdict.segments.length > 0) {
      // Relative links in the directory's index.html resolve against the URL, so it must end with a slash. The
      // location is rebuilt from the segments, which can never start with `//` (that would leave the site).
      return { kind: 'redirect', location: `/${verdict.segments.map(encodeURIComponent).join('/')}/` };
    }
    return lookup(root, `/${[...verdict.segments, 'index.html'].map(encodeURIComponent).join('/')}`);
  }
  if (!stats.isFile()) return { kind: 'missing' };
  return { kind: 'file', path: real, stats };
}

/**
 * Answers a GET or HEAD request from `root`. Resolves to false when there is no such file, leaving the answer
 * (a 404, or the router's own hint on `/`) to the caller; every other outcome is answered here.
 */
export async function serveStaticFile(root: string, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  const found = await lookup(root, request.url ?? '/');
  switch (found.kind) {
    case 'missing':
      return false;
    case 'bad':
      plain(response, 400, 'bad request\n');
      return true;
    case 'forbidden':
      plain(response, 403, 'forbidden\n');
      return true;
    case 'redirect':
      response.writeHead(301, { location: found.location, 'content-type': 'text/plain; charset=utf-8' });
      response.end('moved\n');
      return true;
    case 'file':
      sendFile(found.path, found.stats, request, response);
      return true;
  }
}

function sendFile(path: string, stats: Stats, request: IncomingMessage, response: ServerResponse): void {
  // A weak validator from size and modification time lets a browser revalidate cheaply after an edit.
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers = {
    'content-type': contentTypeOf(path),
    'last-modified': stats.mtime.toUTCString(),
    etag,
    // Served apps change while one works on them; revalidating each time keeps a stale script from lingering.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, { ...headers, 'content-length': String(stats.size) });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  const stream = createReadStream(path);
  // Headers are gone already, so a read error can only cut the response short; the client sees a short body.
  stream.on('error', () => response.destroy());
  response.on('close', () => stream.destroy());
  stream.pipe(response);
}

function plain(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(body);
}
