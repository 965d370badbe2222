import { randomBytes } from 'node:crypto';

/** The largest id WAMP allows: 2^53 - 1, so every id survives a JSON round trip. */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

const POOL_IDS = 512;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * A random id in [1, 2^53 - 1], as WAMP's global scope requires (session and publication ids).
 * Random bytes come from a pooled buffer so that a publish does not pay for a crypto call each time.
 */
export function randomId(): number {
  if (offset + 8 > pool.length) {
    pool = randomBytes(POOL_IDS * 8);
    offset = 0;
  }
  const hi = pool.readUInt32BE(offset) & 0x1fffff; // 21 bits
  const lo = pool.readUInt32BE(offset + 4);
  offset += 8;
  const id = hi * 0x100000000 + lo;
  return id === 0 ? 1 : id;
}

/** Sequential ids in [1, 2^53 - 1] for router and session scopes, wrapping past the top. */
export class IdSequence {
  private last = 0;
  next(): number {
    this.last = this.last >= MAX_ID ? 1 : this.last + 1;
    return this.last;
  }
}

/** True for a valid WAMP id: an integer in [1, 2^53 - 1]. */
export function isValidId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID;
}
