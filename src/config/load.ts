import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULTS, type Config } from './defaults.js';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, OPTIONS, type OptionSpec } from './options.js';
import { configSchema } from './schema.js';

/** A configuration problem that stops start-up; the message names the key, its source and what is allowed. */
export class ConfigError extends Error {}

export interface ConfigSources {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

export interface LoadedConfig {
  config: Config;
  /** `--help` was asked for. */
  help: boolean;
  /** Where each key set by the user came from, for log lines and error messages. */
  sources: ReadonlyMap<string, string>;
  /** The JSON config file read, if any (watched for authorization reloads). */
  file: string | undefined;
}

type Tree = Record<string, unknown>;

/** Defaults, then the JSON config file, then environment variables, then CLI flags; validated once. */
export function loadConfig({ argv, env }: ConfigSources): LoadedConfig {
  const flags = parseFlags(argv);
  const sources = new Map<string, string>();
  const merged = structuredClone(DEFAULTS) as unknown as Tree;

  const file = (flags.values[CONFIG_FILE_FLAG] as string | undefined) ?? env[CONFIG_FILE_ENV];
  if (file !== undefined && file !== '') mergeFile(merged, file, sources);

  for (const spec of OPTIONS) {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    setKey(merged, spec.key, fromEnv(spec, raw));
    sources.set(spec.key, `environment variable ${spec.env}`);
  }
  for (const spec of OPTIONS) {
    const raw = flags.values[spec.flag];
    if (raw === undefined) continue;
    setKey(merged, spec.key, fromFlag(spec, raw));
    sources.set(spec.key, `flag --${spec.flag}`);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      if (unknownKeys.length > 0) {
        const where = issue.path.length > 0 ? `${issue.path.join('.')}.` : '';
        return `unknown config key ${unknownKeys.map((key) => `'${where}${key}'`).join(', ')}`;
      }
      const key = issue.path.join('.');
      const source = sourceOf(sources, issue.path.map(String));
      return `config key '${key}' (from ${source}): ${issue.message}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return { config: parsed.data as Config, help: flags.values.help === true, sources, file: file === '' ? undefined : file };
}

/** Where the closest set key above a path came from (a list item's source is its list's). */
function sourceOf(sources: ReadonlyMap<string, string>, path: string[]): string {
  for (let length = path.length; length > 0; length--) {
    const found = sources.get(path.slice(0, length).join('.'));
    if (found !== undefined) return found;
  }
  return 'configuration';
}

function parseFlags(argv: readonly string[]): { values: Record<string, string | boolean | undefined> } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    help: { type: 'boolean' },
    [CONFIG_FILE_FLAG]: { type: 'string' },
  };
  for (const spec of OPTIONS) {
    options[spec.flag] = { type: spec.type === 'bool' ? 'boolean' : 'string' };
    // `--no-x` by hand: parseArgs' allowNegative needs Node 20.16.
    if (spec.type === 'bool') options[`no-${spec.flag}`] = { type: 'boolean' };
  }
  try {
    const { values, tokens } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, tokens: true });
    const result = values as Record<string, string | boolean | undefined>;
    // Replay boolean flags in order, so the last of `--x` and `--no-x` wins as with any repeated flag.
    for (const token of tokens) {
      if (token.kind !== 'option' || options[token.name]?.type !== 'boolean' || token.name === 'help') continue;
      const negated = token.name.startsWith('no-');
      if (negated) delete result[token.name];
      result[negated ? token.name.slice(3) : token.name] = !negated;
    }
    return { values: result };
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\nRun with --help to list the options.`);
  }
}

function mergeFile(target: Tree, path: string, sources: Map<string, string>): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file '${path}' cannot be read: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file '${path}' is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config file '${path}' must hold a JSON object`);
  }
  deepMerge(target, value as Tree, '', (key) => sources.set(key, `config file ${path}`));
}

/** Objects merge key by key; anything else (lists included) replaces. */
function deepMerge(target: Tree, source: Tree, prefix: string, noteKey: (key: string) => void): void {
  for (const [key, value] of Object.entries(source)) {
    const path = prefix + key;
    // JSON.parse makes `__proto__` an own key; merging it would reach Object.prototype.
    if (FORBIDDEN_KEYS.has(key)) throw new ConfigError(`unknown config key '${path}'`);
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isTree(value) && isTree(current) && key !== 'realms') {
      deepMerge(current, value, `${path}.`, noteKey);
    } else {
      target[key] = value;
      noteKey(path);
    }
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function setKey(target: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isTree(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function fromEnv(spec: OptionSpec, raw: string): unknown {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'list':
      return splitList(raw);
    case 'int':
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`environment variable ${spec.env} (config key '${spec.key}') must be a whole number, got '${raw}'`);
      return Number(raw.trim());
    case 'bool': {
      const lower = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
      if (['0', 'false', 'no', 'off'].includes(lower)) return false;
      throw new ConfigError(`environment variable ${spec.env} (config key '${spec.key}') must be true or false, got '${raw}'`);
    }
  }
}

function fromFlag(spec: OptionSpec, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  if (spec.type === 'int' && !/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`flag --${spec.flag} (config key '${spec.key}') must be a whole number, got '${raw}'`);
  }
  return spec.type === 'int' ? Number(raw) : spec.type === 'list' ? splitList(raw) : raw;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
