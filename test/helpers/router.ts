/**
 * Starts the real router in-process on an ephemeral loopback port, with a silent (or captured) logger, and
 * stops it after the test. Black-box tests talk to it only over sockets.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { DEFAULTS, type Config } from '../../src/config/defaults.js';
import { configSchema } from '../../src/config/schema.js';
import { startServer, type RunningServer } from '../../src/server.js';

export type ConfigPatch = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

export interface TestRouter extends RunningServer {
  /** Log lines written so far, parsed. */
  logs: Array<Record<string, unknown>>;
}

export function testConfig(patch: ConfigPatch = {}): Config {
  const merged = structuredClone(DEFAULTS) as Config;
  for (const [key, value] of Object.entries(patch)) {
    const current = (merged as unknown as Record<string, unknown>)[key];
    (merged as unknown as Record<string, unknown>)[key] =
      current !== null && typeof current === 'object' && !Array.isArray(current) && typeof value === 'object'
        ? { ...current, ...value }
        : value;
  }
  merged.host = patch.host ?? '127.0.0.1';
  merged.port = 0;
  return configSchema.parse(merged) as Config;
}

export async function startTestRouter(patch: ConfigPatch = {}): Promise<TestRouter> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const server = await startServer(testConfig(patch), { logger });
  return Object.assign(server, { logs });
}
