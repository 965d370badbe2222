import type { Database, Key } from 'lmdb';
import type { FsyncPolicy } from '../../config/defaults.js';

/**
 * Issues writes and answers "is everything so far durable?". lmdb-js already puts the writes of one event-loop
 * turn into one transaction (with `commitDelay`, those of a longer window), committed on its own thread; this
 * class only remembers the latest write, whose commit covers every earlier one.
 */
export class Writer {
  private last: Promise<unknown> | undefined;
  private barrierFor: Promise<unknown> | undefined;
  private barrierPromise: Promise<void> | undefined;
  /** The first write failure, kept so that every later barrier fails too: acknowledgements must stop. */
  private failure: Error | undefined;

  constructor(
    private readonly db: Database,
    private readonly fsync: FsyncPolicy,
  ) {}

  put(key: Key, value: unknown): void {
    this.track(this.db.put(key, value));
  }

  remove(key: Key): void {
    this.track(this.db.remove(key));
  }

  private track(write: Promise<unknown>): void {
    this.last = write;
    write.then(undefined, (error: unknown) => {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
    });
  }

  /**
   * Settles once every write issued so far is committed and, unless the policy is `os`, flushed to disk. One
   * promise serves every caller of the same turn.
   */
  barrier(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const last = this.last;
    if (last === undefined) return undefined;
    if (this.barrierFor === last) return this.barrierPromise;
    this.barrierFor = last;
    this.barrierPromise = last.then(async () => {
      // `flushed` is read after the commit, so it covers that commit.
      if (this.fsync !== 'os') await this.db.flushed;
      if (this.last === last) this.last = undefined;
    });
    return this.barrierPromise;
  }

  async drain(): Promise<void> {
    await this.barrier()?.catch(() => undefined);
    await this.db.flushed;
  }
}
