/**
 * The key layout of the embedded store: one LMDB database, array keys (ordered-binary), so that each kind of
 * record is one contiguous key range.
 *
 *   ['v']                        format version
 *   ['r', realm, topicJson]      retained message of a topic
 *   ['s', sid]                   persistent session record: { key, record }
 *   ['m', bodyId]                message body, shared by the entries of every session it was queued for
 *   ['p', recordId]              QoS 1 fan-out record: the message and the sessions that still owe it (fanout.ts)
 *   ['q', sid, seq]              QoS 2 entry: [bodyId, qos, retain, subscriptionIds, packetId, released]
 *   ['i', sid, packetId]         QoS 2 packet id received, PUBREL not yet received
 *
 * Sessions get a small number (`sid`) so that their many entry keys stay short.
 */
export const FORMAT_VERSION = 1;

export const VERSION_KEY = ['v'];
export const RETAINED = 'r';
export const SESSION = 's';
export const BODY = 'm';
export const ENTRY = 'q';
export const FANOUT = 'p';
export const RECEIVED = 'i';

/** Every key that starts with `prefix`: from the prefix itself to just before the next value of its last part. */
export function range(...prefix: Array<string | number>): { start: Array<string | number>; end: Array<string | number> } {
  return { start: prefix, end: [...prefix, END] };
}

/** Sorts after any string or number inside an array key. */
const END = '\uffff';
