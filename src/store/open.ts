import type { Logger } from 'pino';
import type { Config } from '../config/defaults.js';
import { LmdbStore } from './lmdb/store.js';
import { MemoryStore } from './memory/store.js';
import type { Store } from './types.js';

export { StoreDamagedError } from './lmdb/store.js';

/** Builds the store the config names. Throws StoreDamagedError when an existing on-disk store cannot be read. */
export function openStore(options: Config['store'], log: Logger): Store {
  return options.engine === 'memory' ? new MemoryStore() : LmdbStore.open(options, log);
}
