/**
 * The dependency rule of DESIGN.md ("Layout"), as a test:
 * - a file under `protocols/<name>/` imports only files inside `protocols/<name>/`, exactly `src/port.js`, and the
 *   npm packages allowed for that protocol;
 * - no file under `src/core/` imports a codec package or anything under `protocols/`.
 * Every import form counts: `import ... from`, `import '...'`, `import type`, `export ... from`, `import('...')`
 * (value or type position) and `import x = require('...')`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROTOCOLS = path.join(ROOT, 'protocols');
const CORE = path.join(ROOT, 'src', 'core');
const PORT = path.join(ROOT, 'src', 'port.js');

/** npm packages each protocol module may import, beside its own files and src/port.js. */
const ALLOWED_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  wamp: ['cbor-x'],
  mqtt: ['mqtt-packet'],
};

/** Packages that turn bytes into messages: the core never sees bytes, so it never imports them. */
const CODEC_PACKAGES = ['cbor-x', 'mqtt-packet', 'ws'];

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(full));
    else if (entry.isFile() && /\.(m|c)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/** Every module specifier a source text refers to, in any import or export form. */
function importsOf(source: string, fileName = 'file.ts'): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteralLike(expression)) found.push(expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const first = node.arguments[0];
      // A computed dynamic import cannot be checked: report it so that it is seen.
      found.push(first !== undefined && ts.isStringLiteralLike(first) ? first.text : '<computed import()>');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`; `node:fs` stays `node:fs`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

const isRelative = (specifier: string): boolean => specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..';
const inside = (dir: string, file: string): boolean => {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
};
const show = (file: string): string => path.relative(ROOT, file).split(path.sep).join('/');

/** Offences of one protocol file, as `file: 'specifier' (why)`. */
function protocolOffences(file: string, source: string): string[] {
  const protocol = path.relative(PROTOCOLS, file).split(path.sep)[0] as string;
  const own = path.join(PROTOCOLS, protocol);
  const allowed = ALLOWED_PACKAGES[protocol] ?? [];
  const offences: string[] = [];
  for (const specifier of importsOf(source, file)) {
    if (isRelative(specifier)) {
      const target = path.resolve(path.dirname(file), specifier);
      if (target === PORT || inside(own, target)) continue;
      offences.push(`${show(file)}: '${specifier}' (resolves to ${show(target)}: only protocols/${protocol}/ and src/port.js are allowed)`);
    } else if (path.isAbsolute(specifier) || specifier.startsWith('file:')) {
      offences.push(`${show(file)}: '${specifier}' (absolute paths are not allowed)`);
    } else if (specifier.startsWith('node:')) {
      // Node's built-ins carry no router internals and no codec; a module may use them.
      continue;
    } else if (!allowed.includes(packageName(specifier))) {
      offences.push(`${show(file)}: '${specifier}' (package not in the allow-list of protocols/${protocol}: ${allowed.join(', ') || 'none'})`);
    }
  }
  return offences;
}

/** Offences of one core file. */
function coreOffences(file: string, source: string): string[] {
  const offences: string[] = [];
  for (const specifier of importsOf(source, file)) {
    if (isRelative(specifier) || path.isAbsolute(specifier)) {
      const target = path.resolve(path.dirname(file), specifier);
      if (target === PROTOCOLS || inside(PROTOCOLS, target)) offences.push(`${show(file)}: '${specifier}' (src/core must not import protocols/)`);
    } else if (CODEC_PACKAGES.includes(packageName(specifier))) {
      offences.push(`${show(file)}: '${specifier}' (src/core must not import a codec)`);
    } else if (specifier === '<computed import()>') {
      offences.push(`${show(file)}: a computed import() (cannot be checked)`);
    }
  }
  return offences;
}

function report(offences: string[]): string {
  return `dependency rule broken (DESIGN.md, "Layout"):\n  ${offences.join('\n  ')}`;
}

describe('the import scanner', () => {
  it('finds every import and export form, across lines, and nothing in comments or strings', () => {
    const source = `
      import a from './a.js';
      import { b,
        c } from '../b.js';
      import type { D } from "./d.js";
      import * as e from 'e-pkg';
      import './side-effect.js';
      export { f } from './f.js';
      export * from '@scope/g/sub';
      export type { H } from './h.js';
      const i = await import('./i.js');
      type J = import('./j.js').J;
      import k = require('./k.js');
      // import nope from './comment.js';
      /* export * from './block-comment.js'; */
      const s = "import x from './string.js'";
    `;
    expect(importsOf(source)).toEqual([
      './a.js', '../b.js', './d.js', 'e-pkg', './side-effect.js', './f.js', '@scope/g/sub', './h.js', './i.js', './j.js', './k.js',
    ]);
  });

  it('reports a computed dynamic import', () => {
    expect(importsOf('const m = await import(name);')).toEqual(['<computed import()>']);
  });

  it('the rules catch what they should', () => {
    const file = path.join(PROTOCOLS, 'wamp', 'x.ts');
    expect(protocolOffences(file, "import { Payload } from '../../src/port.js';\nimport { y } from './serializers/y.js';\nimport { Decoder } from 'cbor-x';")).toEqual([]);
    expect(protocolOffences(file, "import { Router } from '../../src/core/router.js';")).toHaveLength(1);
    expect(protocolOffences(file, "export * from '../mqtt/codec.js';")).toHaveLength(1);
    expect(protocolOffences(file, "import ws from 'ws';")).toHaveLength(1);
    expect(protocolOffences(file, "import packet from 'mqtt-packet';")).toHaveLength(1);
    expect(protocolOffences(file, "const m = await import('../../src/server.js');")).toHaveLength(1);
    expect(protocolOffences(file, "import p from '../../src/port.ts';")).toHaveLength(1);
    const mqtt = path.join(PROTOCOLS, 'mqtt', 'codec.ts');
    expect(protocolOffences(mqtt, "import packet from 'mqtt-packet';\nimport { P } from '../../src/port.js';")).toEqual([]);
    const core = path.join(CORE, 'broker.ts');
    expect(coreOffences(core, "import { encode } from 'cbor-x';")).toHaveLength(1);
    expect(coreOffences(core, "import type { WebSocket } from 'ws';")).toHaveLength(1);
    expect(coreOffences(core, "import { Type } from '../../protocols/wamp/codes.js';")).toHaveLength(1);
    expect(coreOffences(core, "import { randomBytes } from 'node:crypto';\nimport { x } from './match/types.js';\nimport type { P } from '../auth/types.js';")).toEqual([]);
  });
});

describe('the dependency rule', () => {
  const protocolFiles = tsFiles(PROTOCOLS);
  const coreFiles = tsFiles(CORE);

  it('finds the files it checks', () => {
    expect(protocolFiles.length).toBeGreaterThan(0);
    expect(coreFiles.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(ROOT, 'src', 'port.ts'))).toBe(true);
  });

  it('protocols/<name>/ imports only its own files, src/port.js and its allowed packages', () => {
    const offences = protocolFiles.flatMap((file) => protocolOffences(file, fs.readFileSync(file, 'utf8')));
    expect(offences, report(offences)).toEqual([]);
  });

  it('src/core imports no codec package and nothing under protocols/', () => {
    const offences = coreFiles.flatMap((file) => coreOffences(file, fs.readFileSync(file, 'utf8')));
    expect(offences, report(offences)).toEqual([]);
  });
});
