import { reviveBinary, stringifyWithBinary } from '../../../src/port.js';
import { Type } from '../codes.js';
import { routerRoles } from '../features.js';
import type { Serializer } from './types.js';

/** The router's roles in WELCOME, written once: stringifying them was most of a WELCOME's encoding per connect. */
const ROLES = JSON.stringify(routerRoles);

/**
 * `wamp.2.json`: text frames. Byte arrays travel as a string of NUL followed by base64 (WAMP RFC draft,
 * "Binary conversion of JSON strings").
 */
export const jsonSerializer: Serializer = {
  protocol: 'wamp.2.json',
  binary: false,
  encode(message, mayHaveBinary) {
    return Buffer.from(mayHaveBinary ? stringifyWithBinary(message) : JSON.stringify(message), 'utf8');
  },
  encodeWelcome(sessionId, details) {
    // The same text as JSON.stringify([WELCOME, sessionId, { ...details, roles }]).
    const head = JSON.stringify(details);
    const open = head === '{}' ? '{' : `${head.slice(0, -1)},`;
    return Buffer.from(`[${Type.WELCOME},${JSON.stringify(sessionId)},${open}"roles":${ROLES}}]`, 'utf8');
  },
  decode(data) {
    const text = data.toString('utf8');
    const value: unknown = JSON.parse(text);
    // An escaped NUL can only start an encoded byte array, so only then is the walk needed.
    return text.includes('\\u0000') ? reviveBinary(value) : value;
  },
};
