/** Configuration: defaults, then the JSON file, then environment variables, then flags; validated once. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { ConfigError, loadConfig, type LoadedConfig } from '../../../src/config/load.js';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-config-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a config file and returns its path. */
function file(content: unknown): string {
  const name = path.join(dir, `config-${++counter}.json`);
  fs.writeFileSync(name, typeof content === 'string' ? content : JSON.stringify(content));
  return name;
}

function load(argv: string[] = [], env: Record<string, string | undefined> = {}): LoadedConfig {
  return loadConfig({ argv, env });
}

/** The ConfigError message of a load that must fail. */
function failure(argv: string[] = [], env: Record<string, string | undefined> = {}): string {
  try {
    load(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('with no file, env or flags, the config is DEFAULTS', () => {
    const { config, help, sources } = load();
    expect(config).toEqual(JSON.parse(JSON.stringify(DEFAULTS)));
    expect(config.port).toBe(8080);
    expect(config.realm).toBe('realm1');
    expect(config.allowAnonymous).toBeUndefined();
    expect(config.jwt.algorithms).toContain('HS256');
    expect(help).toBe(false);
    expect(sources.size).toBe(0);
  });

  it('does not share or mutate DEFAULTS', () => {
    const before = structuredClone(DEFAULTS);
    const { config } = load(['--port', '1234', '--jwt-public-key', 'a.pem']);
    config.jwt.publicKeys.push('mutated');
    expect(DEFAULTS).toEqual(before);
  });

  it('ignores empty environment variables', () => {
    expect(load([], { SWITCHBOARD_PORT: '', SWITCHBOARD_REALM: '' }).config.port).toBe(8080);
  });
});

describe('precedence: file < env < flags', () => {
  it('a flag beats the environment, which beats the file', () => {
    const config = file({ port: 1000, realm: 'from.file', anonymousRole: 'file-role' });
    const env = { SWITCHBOARD_PORT: '2000', SWITCHBOARD_REALM: 'from.env' };
    const { config: c, sources } = load(['--config', config, '--port', '3000'], env);
    expect(c.port).toBe(3000);
    expect(c.realm).toBe('from.env');
    expect(c.anonymousRole).toBe('file-role');
    expect(sources.get('port')).toBe('flag --port');
    expect(sources.get('realm')).toBe('environment variable SWITCHBOARD_REALM');
    expect(sources.get('anonymousRole')).toBe(`config file ${config}`);
  });

  it('the environment beats the file when no flag is given', () => {
    const config = file({ port: 1000 });
    expect(load(['--config', config], { SWITCHBOARD_PORT: '2000' }).config.port).toBe(2000);
  });

  it('the file beats the defaults', () => {
    expect(load(['--config', file({ port: 1000 })]).config.port).toBe(1000);
  });

  it('the file can be named by SWITCHBOARD_CONFIG; --config beats it', () => {
    const a = file({ port: 1111 });
    const b = file({ port: 2222 });
    expect(load([], { SWITCHBOARD_CONFIG: a }).config.port).toBe(1111);
    expect(load(['--config', b], { SWITCHBOARD_CONFIG: a }).config.port).toBe(2222);
  });

  it('a file merges nested objects key by key and replaces lists', () => {
    const { config } = load(['--config', file({ jwt: { issuer: 'me', algorithms: ['ES256'] }, realms: { 'com.example': { uriCheck: 'strict' } } })]);
    expect(config.jwt.issuer).toBe('me');
    expect(config.jwt.algorithms).toEqual(['ES256']);
    expect(config.jwt.claims).toEqual(DEFAULTS.jwt.claims);
    expect(config.jwt.cookie).toBe(DEFAULTS.jwt.cookie);
    expect(config.realms).toEqual({ 'com.example': { uriCheck: 'strict' } });
  });

  it('env and flags reach nested keys', () => {
    const { config } = load(['--jwt-issuer', 'flag-iss', '--max-message-size=4096'], { SWITCHBOARD_JWT_AUDIENCE: 'env-aud', SWITCHBOARD_LOG_LEVEL: 'debug' });
    expect(config.jwt.issuer).toBe('flag-iss');
    expect(config.jwt.audience).toBe('env-aud');
    expect(config.limits.maxMessageSize).toBe(4096);
    expect(config.log.level).toBe('debug');
  });
});

describe('the config file', () => {
  it('refuses an unknown key, naming it', () => {
    expect(failure(['--config', file({ prot: 8080 })])).toContain("'prot'");
  });

  it('refuses an unknown nested key, naming its full path', () => {
    expect(failure(['--config', file({ jwt: { secrett: 'x' } })])).toContain("'jwt.secrett'");
    expect(failure(['--config', file({ realms: { r1: { uriChek: 'strict' } } })])).toContain('uriChek');
  });

  it('a __proto__ key is refused and never reaches Object.prototype', () => {
    const config = file('{"__proto__": {"polluted": "yes"}}');
    try {
      const message = failure(['--config', config]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(message).toContain("'__proto__'");
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('refuses invalid JSON, naming the file', () => {
    const config = file('{ "port": 80, }');
    const message = failure(['--config', config]);
    expect(message).toContain(config);
    expect(message).toContain('not valid JSON');
  });

  it('refuses JSON that is not an object', () => {
    expect(failure(['--config', file([1, 2])])).toContain('must hold a JSON object');
    expect(failure(['--config', file('null')])).toContain('must hold a JSON object');
  });

  it('refuses a file that cannot be read, naming it', () => {
    const missing = path.join(dir, 'missing.json');
    const message = failure(['--config', missing]);
    expect(message).toContain(missing);
    expect(message).toContain('cannot be read');
  });

  it('a bad value in the file names the key and the file', () => {
    const config = file({ port: 'eighty' });
    const message = failure(['--config', config]);
    expect(message).toContain("'port'");
    expect(message).toContain(config);
  });

  it('a bad list item in the file names the file', () => {
    const config = file({ jwt: { algorithms: ['none'] } });
    const message = failure(['--config', config]);
    expect(message).toContain('jwt.algorithms');
    expect(message).toContain(config);
  });
});

describe('environment variables', () => {
  it('a port that is not a number names SWITCHBOARD_PORT', () => {
    for (const bad of ['abc', '-1', '80.5', '8080x']) {
      const message = failure([], { SWITCHBOARD_PORT: bad });
      expect(message).toContain('SWITCHBOARD_PORT');
      expect(message).toContain('port');
    }
  });

  it('a port out of range names SWITCHBOARD_PORT', () => {
    expect(failure([], { SWITCHBOARD_PORT: '70000' })).toContain('SWITCHBOARD_PORT');
  });

  it('accepts a port with surrounding whitespace', () => {
    expect(load([], { SWITCHBOARD_PORT: ' 9000 ' }).config.port).toBe(9000);
  });

  it('a bad enum value names the variable and the allowed values', () => {
    const message = failure([], { SWITCHBOARD_LOG_LEVEL: 'loud' });
    expect(message).toContain('SWITCHBOARD_LOG_LEVEL');
    expect(message).toContain('log.level');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(message).toContain(level);

    const protocol = failure([], { SWITCHBOARD_DEFAULT_PROTOCOL: 'mqtt' });
    expect(protocol).toContain('SWITCHBOARD_DEFAULT_PROTOCOL');
    expect(protocol).toContain('wamp.2.json');
    expect(protocol).toContain('wamp.2.cbor');
  });

  it('a bad item of a list names the variable and the allowed values', () => {
    const message = failure([], { SWITCHBOARD_JWT_ALGORITHMS: 'HS256,none' });
    expect(message).toContain('SWITCHBOARD_JWT_ALGORITHMS');
    expect(message).toContain('EdDSA');
  });

  it('SWITCHBOARD_JWT_PUBLIC_KEY is a comma-separated list, trimmed, empty items dropped', () => {
    expect(load([], { SWITCHBOARD_JWT_PUBLIC_KEY: 'a.pem, b.pem ,,c.pem,' }).config.jwt.publicKeys).toEqual(['a.pem', 'b.pem', 'c.pem']);
    expect(load([], { SWITCHBOARD_JWT_PUBLIC_KEY: 'only.pem' }).config.jwt.publicKeys).toEqual(['only.pem']);
  });

  it('SWITCHBOARD_JWT_ALGORITHMS is a list too', () => {
    expect(load([], { SWITCHBOARD_JWT_ALGORITHMS: 'RS256,ES256' }).config.jwt.algorithms).toEqual(['RS256', 'ES256']);
  });

  it.each(['1', 'true', 'TRUE', 'yes', 'on', ' On '])('boolean %j is true', (raw) => {
    expect(load([], { SWITCHBOARD_ALLOW_ANONYMOUS: raw }).config.allowAnonymous).toBe(true);
  });

  it.each(['0', 'false', 'False', 'no', 'off'])('boolean %j is false', (raw) => {
    expect(load([], { SWITCHBOARD_ALLOW_ANONYMOUS: raw }).config.allowAnonymous).toBe(false);
  });

  it('any other boolean value names the variable', () => {
    const message = failure([], { SWITCHBOARD_ALLOW_ANONYMOUS: 'maybe' });
    expect(message).toContain('SWITCHBOARD_ALLOW_ANONYMOUS');
    expect(message).toContain('maybe');
  });

  it('ignores variables it does not know', () => {
    expect(load([], { SWITCHBOARD_NOPE: 'x', PATH: '/bin' }).config.port).toBe(8080);
  });
});

describe('flags', () => {
  it('--allow-anonymous and --no-allow-anonymous', () => {
    expect(load(['--allow-anonymous']).config.allowAnonymous).toBe(true);
    expect(load(['--no-allow-anonymous']).config.allowAnonymous).toBe(false);
    expect(load(['--no-allow-anonymous'], { SWITCHBOARD_ALLOW_ANONYMOUS: 'true' }).config.allowAnonymous).toBe(false);
    expect(load(['--allow-anonymous'], { SWITCHBOARD_ALLOW_ANONYMOUS: 'false' }).config.allowAnonymous).toBe(true);
  });

  it('the last of --allow-anonymous / --no-allow-anonymous wins', () => {
    expect(load(['--allow-anonymous', '--no-allow-anonymous']).config.allowAnonymous).toBe(false);
    expect(load(['--no-allow-anonymous', '--allow-anonymous']).config.allowAnonymous).toBe(true);
  });

  it('--port takes = or a separate value', () => {
    expect(load(['--port=0']).config.port).toBe(0);
    expect(load(['--port', '65535']).config.port).toBe(65535);
  });

  it('a bad --port names the flag', () => {
    const message = failure(['--port', 'abc']);
    expect(message).toContain('--port');
  });

  it('--jwt-public-key is comma-separated like its variable', () => {
    expect(load(['--jwt-public-key', 'a.pem,b.pem']).config.jwt.publicKeys).toEqual(['a.pem', 'b.pem']);
  });

  it('a bad enum flag names the flag and the allowed values', () => {
    const message = failure(['--log-level', 'loud']);
    expect(message).toContain('--log-level');
    expect(message).toContain('silent');
  });

  it('an unknown flag is refused, naming it and pointing at --help', () => {
    const message = failure(['--bogus']);
    expect(message).toContain('--bogus');
    expect(message).toContain('--help');
  });

  it('a positional argument is refused', () => {
    failure(['serve']);
  });

  it('a flag missing its value is refused', () => {
    expect(failure(['--port'])).toContain('--port');
  });

  it('--help is reported, with the rest still loaded', () => {
    const { help, config } = load(['--help', '--port', '1']);
    expect(help).toBe(true);
    expect(config.port).toBe(1);
    expect(load([]).help).toBe(false);
  });
});

describe('authorization rules (realms.<realm>.roles)', () => {
  const roles = {
    user: {
      allow: { publish: ['sensors.#', 'chat.+'], subscribe: ['sensors.+.temp'], call: ['api.echo'], register: [] },
      deny: { publish: ['sensors.secret.#'] },
    },
    anonymous: {},
  };

  it('accepts roles with allow and deny lists per action', () => {
    const { config } = load(['--config', file({ realms: { realm1: { roles }, 'com.example': { uriCheck: 'strict', roles: { admin: { deny: { call: ['#'] } } } } } })]);
    expect(config.realms.realm1?.roles).toEqual(roles);
    expect(config.realms['com.example']?.roles?.admin?.deny?.call).toEqual(['#']);
  });

  it('no roles by default', () => {
    expect(load().config.realms).toEqual({});
  });

  it.each([
    ['sensors..x', 'empty component'],
    ['sensors.#.x', "'#' may only be the whole last component"],
    ['sensors.x#', 'whole components'],
    ['', 'empty'],
    ['a b', 'whitespace'],
  ])('a bad pattern %j stops start-up, naming the key and the file (%s)', (pattern, why) => {
    const config = file({ realms: { realm1: { roles: { user: { allow: { publish: ['ok.#'] }, deny: { subscribe: ['ok', pattern] } } } } } });
    const message = failure(['--config', config]);
    expect(message).toContain("'realms.realm1.roles.user.deny.subscribe.1'");
    expect(message).toContain(why);
    expect(message).toContain(config);
  });

  it.each([
    [{ user: { allow: { publsh: ['a'] } } }, 'publsh'],
    [{ user: { permit: { publish: ['a'] } } }, 'permit'],
    [{ user: { allow: { publish: 'a.#' } } }, 'realms.realm1.roles.user.allow.publish'],
    [{ user: { allow: { publish: [7] } } }, 'realms.realm1.roles.user.allow.publish.0'],
    [{ '': {} }, 'realms.realm1.roles'],
  ])('refuses a malformed role %j, naming %s', (badRoles, named) => {
    expect(failure(['--config', file({ realms: { realm1: { roles: badRoles } } })])).toContain(named);
  });

  it('jwt.claims.permissions defaults to "permissions" and can be renamed', () => {
    expect(load().config.jwt.claims.permissions).toBe('permissions');
    const { config } = load(['--config', file({ jwt: { claims: { permissions: 'scope_rules' } } })]);
    expect(config.jwt.claims).toEqual({ ...DEFAULTS.jwt.claims, permissions: 'scope_rules' });
    expect(failure(['--config', file({ jwt: { claims: { permissions: '' } } })])).toContain('jwt.claims.permissions');
  });
});
