/**
 * Binary values inside JSON text, as the WAMP spec defines for `wamp.2.json`: a byte array travels as a
 * string made of a NUL character followed by the bytes in base64. The MQTT payload envelope uses the same
 * convention, so one pair of helpers serves both.
 */

const NUL = '\u0000';

/** True when a JSON-decoded string is an encoded byte array. */
export function isEncodedBinary(value: string): boolean {
  return value.length > 0 && value.charCodeAt(0) === 0;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return NUL + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  }
  return value;
}

/** JSON.stringify that writes byte arrays in the NUL + base64 form. Call it only when bytes may be present. */
export function stringifyWithBinary(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** True when a value holds a byte array anywhere inside it. */
export function containsBinary(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (containsBinary(item)) return true;
    return false;
  }
  for (const key in value) {
    if (containsBinary((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * Turns every NUL + base64 string inside a JSON-decoded value back into a Buffer, in place where it can.
 * Call it only when the raw text contained an escaped NUL, which keeps the common path free of the walk.
 */
export function reviveBinary(value: unknown): unknown {
  if (typeof value === 'string') {
    return isEncodedBinary(value) ? Buffer.from(value.slice(1), 'base64') : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBinary(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) record[key] = reviveBinary(record[key]);
  return value;
}
