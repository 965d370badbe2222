/**
 * Starts the real router in-process on an ephemeral loopback port, with a silent (or captured) logger, and
 * stops it after the test. Black-box tests talk to it only over sockets.
 */
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  // MQTT over TCP stays off unless a test asks for it (then with a free port: see startTestRouter).
  merged.mqtt.port = patch.mqtt?.port ?? 0;
  merged.mqtt.tlsPort = patch.mqtt?.tlsPort ?? 0;
  // In-process routers keep nothing on disk unless a test asks for the embedded store (with its own dataDir), or
  // SWITCHBOARD_TEST_STORE=lmdb runs every suite over a fresh embedded store in a temporary directory.
  if (patch.store?.engine === undefined && process.env.SWITCHBOARD_TEST_STORE === 'lmdb') {
    merged.store.engine = 'lmdb';
    merged.store.dataDir = mkdtempSync(join(tmpdir(), 'sb-test-store-'));
  } else {
    merged.store.engine = patch.store?.engine ?? 'memory';
  }
  // Tests close routers often; waiting out slow clients for 10 s each time would only slow the suite down.
  merged.shutdownTimeoutSec = patch.shutdownTimeoutSec ?? 2;
  return configSchema.parse(merged) as Config;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a router. `tcp: true` also opens MQTT over TCP on a free port (retrying if another process took the
 * port between the probe and the listen).
 */
export async function startTestRouter(patch: ConfigPatch = {}, { tcp = false }: { tcp?: boolean } = {}): Promise<TestRouter> {
  if (tcp) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await startTestRouter({ ...patch, mqtt: { ...patch.mqtt, port: await freePort() } });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw error;
      }
    }
  }
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const config = testConfig(patch);
  const server = await startServer(config, { logger });
  if (config.store.engine === 'lmdb' && patch.store?.dataDir === undefined) {
    const close = server.close.bind(server);
    server.close = async () => {
      await close();
      rmSync(config.store.dataDir, { recursive: true, force: true });
    };
  }
  return Object.assign(server, { logs });
}
