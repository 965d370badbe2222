/**
 * The built binary, as a user runs it: `--help`, configuration errors that stop start-up with the key's
 * name, development mode, and a clean exit on SIGTERM. Needs `npm run build` first (npm test does it).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/options.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { killAllRouters, launchRouter, MAIN } from '../helpers/router-process.js';

afterEach(() => killAllRouters());

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', SWITCHBOARD_STORE: 'memory', ...env }, encoding: 'utf8', timeout: 10_000 });
}

/** Starts the router configured by environment only; resolves with its port once it listens, and its log lines. */
function startRouter(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; lines: Array<Record<string, any>> }> {
  return launchRouter([], { SWITCHBOARD_PORT: '0', SWITCHBOARD_MQTT_PORT: '0', SWITCHBOARD_STORE: 'memory', ...env });
}

describe('switchboard CLI', () => {
  it('--help lists every environment variable and flag', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    for (const spec of OPTIONS) {
      expect(result.stdout).toContain(spec.env);
      expect(result.stdout).toContain(spec.type === "bool" ? `--[no-]${spec.flag}` : `--${spec.flag} `);
    }
    expect(result.stdout).toContain('SWITCHBOARD_CONFIG');
  });

  it('a bad value stops start-up with a message naming the key and where it came from', () => {
    const result = run([], { SWITCHBOARD_PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('SWITCHBOARD_PORT');
    const level = run(['--log-level', 'loud']);
    expect(level.status).toBe(2);
    expect(level.stderr).toContain("'log.level'");
    expect(level.stderr).toContain('--log-level');
    expect(level.stderr).toMatch(/debug/);
  });

  it('an unknown key in the config file stops start-up and is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ port: 0, jwt: { secrett: 'x' } }));
      const result = run(['--config', file]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("'jwt.secrett'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with no auth configured it runs in development mode on loopback, and SIGTERM exits cleanly', async () => {
    const { child, port, lines } = await startRouter({});
    expect(lines.some((line) => line.level === 40 && String(line.msg).includes('DEVELOPMENT MODE'))).toBe(true);
    expect(lines.find((line) => line.msg === 'switchboard listening')?.host).toBe('127.0.0.1');
    const [client, welcome] = await RawWamp.session(`ws://127.0.0.1:${port}/`, 'json');
    expect(welcome[0]).toBe(2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await client.next()).toEqual([6, { message: 'the router is shutting down' }, 'wamp.close.system_shutdown']);
    client.send([6, {}, 'wamp.close.goodbye_and_out']);
    expect(await exited).toBe(0);
    client.close();
  });

  it('with a JWT secret it leaves development mode: anonymous is refused', async () => {
    const { port, lines } = await startRouter({ SWITCHBOARD_JWT_SECRET: 'a-secret-long-enough-for-hs256-tokens!', SWITCHBOARD_HOST: '127.0.0.1' });
    expect(lines.some((line) => String(line.msg).includes('DEVELOPMENT MODE'))).toBe(false);
    const [client, abort] = await RawWamp.session(`ws://127.0.0.1:${port}/`, 'json');
    expect(abort[2]).toBe('wamp.error.no_matching_auth_method');
    client.close();
  });
});
