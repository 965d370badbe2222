import { cborSerializer } from './cbor.js';
import { jsonSerializer } from './json.js';
import type { Serializer } from './types.js';

export type { Serializer } from './types.js';

/** Serializers by WebSocket subprotocol. */
export const serializers: ReadonlyMap<string, Serializer> = new Map([
  [jsonSerializer.protocol, jsonSerializer],
  [cborSerializer.protocol, cborSerializer],
]);
