/**
 * A deliberately dumb WAMP client over `ws`: it sends whatever it is told (including garbage) and records
 * every message and the close, so tests can check the router's exact wire behaviour.
 */
import { Decoder, Encoder } from 'cbor-x';
import WebSocket from 'ws';

const encoder = new Encoder({ useRecords: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);

export type Serialization = 'json' | 'cbor';

export class RawWamp {
  readonly received: unknown[][] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly serialization: Serialization,
  ) {
    ws.on('message', (data: Buffer, isBinary) => {
      const value = serialization === 'cbor' ? decoder.decode(data) : JSON.parse(data.toString());
      this.received.push(value as unknown[]);
      this.rawFrames.push(data);
      this.frames.push(isBinary ? 'binary' : 'text');
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  readonly frames: Array<'binary' | 'text'> = [];
  /** The bytes of every message, as received. */
  readonly rawFrames: Buffer[] = [];

  static connect(url: string, serialization: Serialization = 'json', headers: Record<string, string> = {}): Promise<RawWamp> {
    const ws = new WebSocket(url, [`wamp.2.${serialization}`], { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawWamp(ws, serialization)));
      ws.once('error', reject);
    });
  }

  /** Connects and completes an anonymous HELLO; returns the client and the WELCOME. */
  static async session(url: string, serialization: Serialization = 'json', details: Record<string, unknown> = {}): Promise<[RawWamp, unknown[]]> {
    const client = await RawWamp.connect(url, serialization);
    client.send([1, 'realm1', { roles: { publisher: {}, subscriber: {}, caller: {}, callee: {} }, ...details }]);
    const welcome = await client.next();
    return [client, welcome];
  }

  send(message: unknown): void {
    this.ws.send(this.serialization === 'cbor' ? encoder.encode(message) : JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private cursor = 0;

  /** The next message not yet taken, waiting for it up to `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.received.length) {
      if (this.closed) throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for a message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received[this.cursor++]!;
  }

  /** Resolves once the connection is closed, with the close code and reason. */
  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  /** True when no further message arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    const before = this.received.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received.length === before;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
