#!/usr/bin/env node
/**
 * CLI entry: load the config, start the router, reload authorization rules on SIGHUP or when the config file
 * changes, and drain on SIGTERM/SIGINT (a second signal forces the exit).
 */
import { watchFile } from 'node:fs';
import { helpText } from './config/help.js';
import { ConfigError, loadConfig } from './config/load.js';
import { startServer } from './server.js';
import { StoreDamagedError } from './store/open.js';

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ argv: process.argv.slice(2), env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (loaded.help) {
    process.stdout.write(helpText());
    return;
  }
  const server = await startServer(loaded.config);
  const reload = (why: string) => {
    try {
      const fresh = loadConfig({ argv: process.argv.slice(2), env: process.env });
      server.reloadAuthorization(fresh.config.realms);
    } catch (error) {
      // A bad edit keeps the rules in force; the operator sees why.
      process.stderr.write(`switchboard: ${why}: authorization not reloaded: ${(error as Error).message}\n`);
    }
  };
  const reloadTls = (why: string) => {
    try {
      server.reloadTls();
    } catch (error) {
      process.stderr.write(`switchboard: ${why}: TLS certificate not reloaded: ${(error as Error).message}\n`);
    }
  };
  process.on('SIGHUP', () => {
    reload('SIGHUP');
    reloadTls('SIGHUP');
  });
  for (const file of [loaded.config.tls.cert, loaded.config.tls.key]) {
    if (file === undefined) continue;
    watchFile(file, { interval: 2000 }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs) reloadTls('certificate file changed');
    }).unref?.();
  }
  if (loaded.file !== undefined) {
    // Polling survives editors that replace the file instead of writing it in place.
    watchFile(loaded.file, { interval: 1000 }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs) reload('config file changed');
    }).unref?.();
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`switchboard: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StoreDamagedError) {
    // Its own exit code: a supervisor must not restart in a loop over a store that needs a person.
    process.stderr.write(`switchboard: ${error.message}\n`);
    process.exit(3);
  }
  process.stderr.write(`switchboard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
