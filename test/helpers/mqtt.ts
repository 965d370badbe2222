/** mqtt.js clients and a raw TCP client for black-box MQTT tests. Every client made here is ended by `endAll`. */
import { connect as netConnect } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import WebSocket from 'ws';
import type { TestRouter } from './router.js';

export type Transport = 'ws' | 'tcp';
export type Version = 4 | 5;

const opened: MqttClient[] = [];
const rawOpened: RawMqtt[] = [];

export function urlOf(router: TestRouter, transport: Transport): string {
  if (transport === 'ws') return router.url;
  if (router.mqttPort === undefined) throw new Error('start the router with { tcp: true } for MQTT over TCP');
  return `mqtt://127.0.0.1:${router.mqttPort}`;
}

/** Connects an mqtt.js client and waits for CONNACK (rejects on a refusal or after 5 s). */
export async function connectClient(url: string, version: Version, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  opened.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return client;
}

/** Ends every client opened through this helper; call it in afterEach. */
export async function endAll(): Promise<void> {
  await Promise.all(opened.splice(0).map((client) => client.endAsync(true).catch(() => undefined)));
  for (const raw of rawOpened.splice(0)) raw.destroy();
}

/** The two ways a raw client reaches the router: a TCP socket or a WebSocket (subprotocol `mqtt`). */
interface Pipe {
  write(bytes: Buffer): void;
  destroy(): void;
}

/**
 * A raw MQTT client over TCP or WebSocket: sends packets built with mqtt-packet (or any bytes) and records what
 * the router sends back, decoded, and as raw bytes. For malformed input and exact wire checks.
 */
export class RawMqtt {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly chunks: Buffer[] = [];
  private readonly parser: ReturnType<typeof mqttPacket.parser>;
  private waiters: Array<() => void> = [];
  private cursor = 0;
  private pipe!: Pipe;

  private constructor(private readonly version: Version) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (packet: Packet) => {
      this.packets.push(packet);
      this.wake();
    });
    this.parser.on('error', () => undefined);
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.parser.parse(chunk);
  }

  private ended(): void {
    this.closed = true;
    this.wake();
  }

  /** Over TCP, to the router's `mqtt.port`. */
  static connect(port: number, version: Version = 4): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const raw = new RawMqtt(version);
      const socket = netConnect(port, '127.0.0.1', () => {
        rawOpened.push(raw);
        resolve(raw);
      });
      raw.pipe = { write: (bytes) => socket.write(bytes), destroy: () => socket.destroy() };
      socket.on('data', (chunk: Buffer) => raw.received(chunk));
      socket.on('close', () => raw.ended());
      socket.once('error', reject);
      socket.on('error', () => undefined);
    });
  }

  /** Over WebSocket, with subprotocol `mqtt`, one packet per message as sent. */
  static connectWebSocket(url: string, version: Version = 4): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const raw = new RawMqtt(version);
      const socket = new WebSocket(url, 'mqtt');
      socket.binaryType = 'nodebuffer';
      raw.pipe = { write: (bytes) => socket.send(bytes), destroy: () => socket.terminate() };
      socket.on('message', (data: Buffer) => raw.received(data));
      socket.on('close', () => raw.ended());
      socket.once('open', () => {
        rawOpened.push(raw);
        resolve(raw);
      });
      socket.once('error', reject);
      socket.on('error', () => undefined);
    });
  }

  /** Every byte the router sent, in order. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(packet: Record<string, unknown>): void {
    this.pipe.write(mqttPacket.generate(packet as unknown as Packet, { protocolVersion: this.version } as never));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.pipe.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private wait(until: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The next packet not yet taken; throws if the connection closes or nothing comes in time. */
  async next(timeoutMs = 3000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.packets.length) {
      if (this.closed) throw new Error('connection closed while waiting for a packet');
      if (Date.now() >= deadline) throw new Error('timed out waiting for a packet');
      await this.wait(deadline);
    }
    return this.packets[this.cursor++]!;
  }

  /** Resolves true once the router has closed the connection. */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.wait(deadline);
    return this.closed;
  }

  destroy(): void {
    this.pipe.destroy();
  }
}
