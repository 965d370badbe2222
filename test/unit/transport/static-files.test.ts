/** `serveStatic` path rules and file lookup, against a real temporary directory (symbolic links included). */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOf, isInside, lookup, parseRequestPath } from '../../../src/transport/static-files.js';

describe('parseRequestPath', () => {
  it.each<[string, string[], boolean]>([
    ['/', [], true],
    ['/index.html', ['index.html'], false],
    ['/a/b.js?x=1&y=/..', ['a', 'b.js'], false],
    ['/a/#frag/..', ['a'], true],
    ['//a//b/', ['a', 'b'], true],
    ['/with%20space.txt', ['with space.txt'], false],
    // Decoded once only: `%252e%252e` is the harmless literal name `%2e%2e`.
    ['/%252e%252e/x', ['%2e%2e', 'x'], false],
  ])('%s -> %j', (target, segments, directory) => {
    expect(parseRequestPath(target)).toEqual({ kind: 'ok', segments, directory });
  });

  it.each(['/../etc/passwd', '/a/../../b', '/%2e%2e/x', '/%2E%2E%2Fetc', '/a/%2e%2e%2f%2e%2e/b', '/./a', '/a/..', '/..%2fx'])(
    'refuses the dot segments in %s',
    (target) => {
      expect(parseRequestPath(target).kind).toBe('forbidden');
    },
  );

  it.each(['/a%5c..%5cb', '/a\\b', '/a%00.html'])('refuses backslashes and NUL: %s', (target) => {
    expect(parseRequestPath(target).kind).toBe('forbidden');
  });

  it.each(['/%zz', '/%', 'index.html', 'http://evil.example/x', '*'])('calls %s a bad request', (target) => {
    expect(parseRequestPath(target).kind).toBe('bad');
  });

  it.each(['/.env', '/.git/config', '/a/.hidden/b.js'])('hides dot files: %s', (target) => {
    expect(parseRequestPath(target).kind).toBe('hidden');
  });
});

describe('contentTypeOf', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['app.js', 'text/javascript; charset=utf-8'],
    ['mod.MJS', 'text/javascript; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['data.json', 'application/json; charset=utf-8'],
    ['app.js.map', 'application/json; charset=utf-8'],
    ['logo.svg', 'image/svg+xml'],
    ['logo.png', 'image/png'],
    ['favicon.ico', 'image/x-icon'],
    ['archive.tar', 'application/octet-stream'],
    ['README', 'application/octet-stream'],
  ])('%s is %s', (file, type) => {
    expect(contentTypeOf(file)).toBe(type);
  });
});

describe('isInside', () => {
  it('compares whole path components, not string prefixes', () => {
    expect(isInside('/srv/app', '/srv/app')).toBe(true);
    expect(isInside('/srv/app', '/srv/app/x/y')).toBe(true);
    expect(isInside('/srv/app', '/srv/app-secrets/key')).toBe(false);
    expect(isInside('/srv/app', '/srv')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });
});

describe('lookup', () => {
  let base: string;
  let root: string;

  beforeAll(() => {
    // realpath: on some systems the temp dir itself is behind a symbolic link.
    base = realpathSync(mkdtempSync(join(tmpdir(), 'switchboard-static-')));
    root = join(base, 'public');
    mkdirSync(join(root, 'docs'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'index.html'), '<h1>home</h1>');
    writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>');
    writeFileSync(join(root, 'app.js'), 'console.log(1)');
    writeFileSync(join(root, '.env'), 'SECRET=1');
    writeFileSync(join(base, 'secret.txt'), 'outside');
    mkdirSync(join(base, 'public-evil'));
    writeFileSync(join(base, 'public-evil', 'x.txt'), 'sibling');
    symlinkSync(join(base, 'secret.txt'), join(root, 'leak.txt'));
    symlinkSync(base, join(root, 'up'));
    symlinkSync(join(root, 'app.js'), join(root, 'alias.js'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('maps / and directories with a slash to their index.html', async () => {
    expect(await lookup(root, '/')).toMatchObject({ kind: 'file', path: join(root, 'index.html') });
    expect(await lookup(root, '/docs/')).toMatchObject({ kind: 'file', path: join(root, 'docs', 'index.html') });
  });

  it('redirects a directory without its slash, so that relative links work', async () => {
    expect(await lookup(root, '/docs?x=1')).toEqual({ kind: 'redirect', location: '/docs/' });
    // The location never becomes protocol-relative (`//host`), whatever slashes the request had.
    expect(await lookup(root, '//docs')).toEqual({ kind: 'redirect', location: '/docs/' });
  });

  it('finds files and reports their size', async () => {
    const found = await lookup(root, '/app.js');
    expect(found.kind).toBe('file');
    if (found.kind === 'file') expect(found.stats.size).toBe('console.log(1)'.length);
  });

  it('reports missing files, directories without an index, and dot files as missing', async () => {
    expect(await lookup(root, '/nope.js')).toEqual({ kind: 'missing' });
    expect(await lookup(root, '/empty/')).toEqual({ kind: 'missing' });
    expect(await lookup(root, '/.env')).toEqual({ kind: 'missing' });
    expect(await lookup(join(base, 'no-such-dir'), '/')).toEqual({ kind: 'missing' });
  });

  it('refuses symbolic links that lead outside the directory, and follows those that stay inside', async () => {
    expect((await lookup(root, '/leak.txt')).kind).toBe('forbidden');
    expect((await lookup(root, '/up/secret.txt')).kind).toBe('forbidden');
    expect((await lookup(root, '/up/public-evil/x.txt')).kind).toBe('forbidden');
    expect(await lookup(root, '/alias.js')).toMatchObject({ kind: 'file', path: join(root, 'app.js') });
  });

  it('refuses traversal before touching the file system', async () => {
    expect((await lookup(root, '/../secret.txt')).kind).toBe('forbidden');
    expect((await lookup(root, '/%2e%2e/secret.txt')).kind).toBe('forbidden');
    expect((await lookup(root, '/docs/%2E%2E%2F..%2Fsecret.txt')).kind).toBe('forbidden');
  });
});
