// The load generator's wire layer: raw `net` sockets that speak just enough WebSocket (RFC 6455) and MQTT
// framing to send pre-built bytes and to find message boundaries in what comes back, with no per-message
// objects. Full client libraries (ws, mqtt.js, autobahn) cost more per message than a fast router does, and a
// generator that is slower than the system under test measures itself.
import net from 'node:net';

// RFC 6455 section 1.3's sample nonce. Servers only hash it; a fixed key is fine for a load generator.
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

export const OP_TEXT = 1;
export const OP_BINARY = 2;

/** Resolves with a connected TCP socket (Nagle off: a benchmark of latency must not wait for ACKs). */
export function tcpConnect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Opens a WebSocket by hand; resolves with the socket and any bytes that followed the 101 response. */
export async function wsConnect(port, path, protocol) {
  const socket = await tcpConnect(port);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    const onData = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
      const head = buffered.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      // The caller attaches its reader in a microtask, before the next I/O callback can emit data.
      resolve({ socket, rest: buffered.subarray(end + 4) });
    };
    const onClose = () => reject(new Error('closed during the upgrade'));
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', onClose);
  });
}

/**
 * A client frame: FIN, the opcode, and the mask bit with an all-zero key. The RFC wants a random key to defeat
 * proxy cache poisoning, which cannot happen on loopback; with a zero key the payload goes out unchanged, so a
 * frame is built once and written any number of times. Returns the frame and where its payload starts.
 */
export function wsFrame(payload, opcode = OP_BINARY) {
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | length, 0, 0, 0, 0]);
  } else if (length < 65536) {
    header = Buffer.alloc(8);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(14);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return { frame: Buffer.concat([header, payload]), offset: header.length };
}

const PONG_EMPTY = Buffer.from([0x8a, 0x80, 0, 0, 0, 0]);

/**
 * One connection of the generator. `kind` is the transport (`tcp` or `ws`); `mode` is how messages are
 * delimited: `mqtt` finds MQTT packets in the byte stream (over TCP, or in the concatenated WebSocket payloads,
 * since a broker may split or merge packets across frames), `msg` takes each WebSocket message as one.
 *
 * `onPacket(buf, start, body, end)` is called for each message, with `body` the start of an MQTT packet's
 * variable header (for `msg` mode, equal to `start`). The buffer is only valid during the call. Until a
 * handler is installed, messages queue for `next()`, which the handshakes use.
 */
export class Link {
  constructor(socket, kind, mode, rest) {
    this.socket = socket;
    this.kind = kind;
    this.mode = mode;
    this.wsPending = null;
    this.mqttPending = null;
    this.queue = [];
    this.waiters = [];
    this.out = [];
    this.closed = false;
    this.onPacket = (buf, start, _body, end) => this.deliverToWaiter(Buffer.from(buf.subarray(start, end)));
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows; the scenario sees the loss as missing messages
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiters) waiter.reject(new Error('connection closed'));
      this.waiters = [];
    });
    if (rest !== undefined && rest.length > 0) this.onData(rest);
  }

  deliverToWaiter(packet) {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(packet);
    else this.queue.push(packet);
  }

  /** The next message, copied, for handshakes; rejects after `timeoutMs`. */
  next(timeoutMs = 10000) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs);
      this.waiters.push({
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
  }

  /** Writes bytes as they are (already framed for this transport). */
  write(bytes) {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Frames one application message for this transport (WebSocket) or sends it raw (TCP). */
  send(payload, opcode = OP_BINARY) {
    this.write(this.kind === 'ws' ? wsFrame(payload, opcode).frame : payload);
  }

  /** Queues a framed message to go out with the others produced by the same input chunk, in one write. */
  queueOut(framed) {
    this.out.push(framed);
  }

  flush() {
    if (this.out.length === 0) return;
    const bytes = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out);
    this.out = [];
    this.write(bytes);
  }

  onData(chunk) {
    if (this.kind === 'ws') this.readWs(chunk);
    else this.readMqtt(chunk);
    this.flush();
  }

  readWs(chunk) {
    const buf = this.wsPending === null ? chunk : Buffer.concat([this.wsPending, chunk]);
    this.wsPending = null;
    const n = buf.length;
    let off = 0;
    while (off + 2 <= n) {
      const b1 = buf[off + 1];
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (off + 4 > n) break;
        length = buf.readUInt16BE(off + 2);
        header = 4;
      } else if (length === 127) {
        if (off + 10 > n) break;
        length = Number(buf.readBigUInt64BE(off + 2));
        header = 10;
      }
      if (off + header + length > n) break;
      const opcode = buf[off] & 0x0f;
      const start = off + header;
      const end = start + length;
      if (opcode === 9) this.write(length === 0 ? PONG_EMPTY : wsFrame(buf.subarray(start, end), 0xa).frame);
      else if (opcode === 8 || opcode === 0xa) {
        // close or pong: nothing to count
      } else if (this.mode === 'mqtt') this.readMqtt(buf.subarray(start, end));
      else this.onPacket(buf, start, start, end);
      off = end;
    }
    if (off < n) this.wsPending = buf.subarray(off);
  }

  readMqtt(chunk) {
    const buf = this.mqttPending === null ? chunk : Buffer.concat([this.mqttPending, chunk]);
    this.mqttPending = null;
    const n = buf.length;
    let off = 0;
    while (off + 2 <= n) {
      // Remaining Length: up to four 7-bit groups, least significant first (MQTT 3.1.1 section 2.2.3).
      let length = 0;
      let multiplier = 1;
      let pos = off + 1;
      let complete = false;
      while (pos < n && pos < off + 5) {
        const byte = buf[pos++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || pos + length > n) break;
      this.onPacket(buf, off, pos, pos + length);
      off = pos + length;
    }
    if (off < n) this.mqttPending = buf.subarray(off);
  }

  close() {
    this.socket.destroy();
  }
}

// ---- MQTT 3.1.1 packets, built by hand where the generator patches them per message ----

/** The packet id and payload start of a PUBLISH whose variable header starts at `body`. */
export function publishLayout(buf, start, body) {
  const qos = (buf[start] >> 1) & 3;
  const topicLength = (buf[body] << 8) | buf[body + 1];
  const idAt = body + 2 + topicLength;
  return qos === 0 ? { qos, packetId: 0, payload: idAt } : { qos, packetId: (buf[idAt] << 8) | buf[idAt + 1], payload: idAt + 2 };
}

/** PUBACK for `packetId`, framed for the transport. */
export function pubackFrame(kind, packetId) {
  const packet = [0x40, 0x02, packetId >> 8, packetId & 0xff];
  return kind === 'ws' ? Buffer.from([0x82, 0x84, 0, 0, 0, 0, ...packet]) : Buffer.from(packet);
}

// ---- The stamp: which message this is, written into every payload ----

// A payload starts with `|` + ten decimal digits of a sequence number + `|`. The generator keeps each send time
// under its sequence number, so a receiver needs only these 12 bytes to compute end-to-end latency, whatever
// the protocol wrapped around them. Plain ASCII that is not JSON, so it crosses from MQTT to WAMP as a string.
export const STAMP_LENGTH = 12;
const BAR = 0x7c;

export function stampPayload(size = 64) {
  const payload = Buffer.alloc(size, 'x');
  payload.write('|0000000000|', 0, 'latin1');
  return payload;
}

/** The same as a JSON string (quotes included in `size`), for peers that take MQTT payloads as JSON. */
export function jsonStampPayload(size = 64) {
  const payload = stampPayload(size);
  payload.copyWithin(1, 0, size - 2);
  payload[0] = 0x22;
  payload[size - 1] = 0x22;
  return payload;
}

/** Writes `seq` as ten digits at `at` (the position of the first `|`). */
export function writeStamp(buf, at, seq) {
  for (let i = at + 10; i > at; i--) {
    buf[i] = 48 + (seq % 10);
    seq = Math.floor(seq / 10);
  }
}

/** Reads the sequence number of a stamp at `at`, or -1 when there is none there. */
export function readStampAt(buf, at) {
  if (buf[at] !== BAR || buf[at + 11] !== BAR) return -1;
  let seq = 0;
  for (let i = at + 1; i <= at + 10; i++) seq = seq * 10 + (buf[i] - 48);
  return seq;
}

/** Finds a stamp anywhere in [start, end): for WAMP frames, whose layout depends on the router's ids. */
export function findStamp(buf, start, end, hint) {
  if (hint >= start && hint + STAMP_LENGTH <= end) {
    const seq = readStampAt(buf, hint);
    if (seq >= 0) return seq;
  }
  let at = buf.indexOf(BAR, start);
  while (at >= 0 && at + STAMP_LENGTH <= end) {
    const seq = readStampAt(buf, at);
    if (seq >= 0) return seq;
    at = buf.indexOf(BAR, at + 1);
  }
  return -1;
}
