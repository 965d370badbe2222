/**
 * mqtt.js clients that speak Switchboard's `$rpc/` conventions (DESIGN.md, "RPC across protocols"), for black-box
 * RPC tests: a device that registers procedures and answers invocations, and a caller that calls procedures and
 * collects the replies. Both work over MQTT 5.0 (Response Topic, Correlation Data, user property `wamp_error`) and
 * 3.1.1 (the JSON envelope). Clients are made with `connectClient`, so `endAll` ends them.
 *
 * The payload mapping is reimplemented here from the documented convention (not imported from src/), so that the
 * tests check the router against the documentation rather than against itself.
 */
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { connectClient, urlOf, type Transport, type Version } from './mqtt.js';
import type { TestRouter } from './router.js';

export interface Args {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

/** Arguments to bytes, as DESIGN.md "Payloads" says (WAMP to MQTT). */
export function encodePayload({ args, kwargs }: Args): Buffer {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (!hasKwargs && args !== undefined && args.length === 1) {
    const only = args[0];
    if (typeof only === 'string') return Buffer.from(only, 'utf8');
    return Buffer.from(JSON.stringify(only), 'utf8');
  }
  return Buffer.from(JSON.stringify(hasKwargs ? { args: args ?? [], kwargs } : { args: args ?? [] }), 'utf8');
}

/** Bytes to arguments, as DESIGN.md "Payloads" says (MQTT to WAMP); the JSON envelope is unwrapped. */
export function decodePayload(bytes: Buffer): { args: unknown[]; kwargs: Record<string, unknown> } {
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { args: [text], kwargs: {} };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const record = value as Record<string, unknown>;
    if (keys.length > 0 && keys.every((key) => key === 'args' || key === 'kwargs')) {
      return { args: (record.args as unknown[] | undefined) ?? [], kwargs: (record.kwargs as Record<string, unknown> | undefined) ?? {} };
    }
  }
  return { args: [value], kwargs: {} };
}

function json(bytes: Buffer): Record<string, unknown> {
  return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
}

/** Waits for items pushed later, in order. */
class Queue<T> {
  readonly items: T[] = [];
  private taken = 0;
  private waiters: Array<() => void> = [];

  push(item: T): void {
    this.items.push(item);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async next(ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    while (this.taken >= this.items.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items[this.taken++]!;
  }

  /** True when nothing new arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    const before = this.items.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.items.length === before && this.taken >= this.items.length;
  }
}

/** The SUBACK for one filter: its reason code, and the 5.0 reason string if any. */
export interface Suback {
  code: number;
  reasonString: string | undefined;
}

/** An invocation as an MQTT device sees it. */
export interface DeviceInvocation {
  topic: string;
  /** The PUBLISH as received (qos, retain, properties). */
  packet: IPublishPacket;
  /** The raw payload. */
  payload: Buffer;
  /** Where to answer: the 5.0 Response Topic or the 3.1.1 envelope's `reply_to`. */
  replyTo: string | undefined;
  /** 5.0 Correlation Data, or the 3.1.1 envelope's `id`. */
  correlation: Buffer | unknown;
  /** The arguments, decoded per the mapping (5.0) or from the envelope (3.1.1). */
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Answers with a result. */
  reply(result: Args, qos?: 0 | 1 | 2): Promise<void>;
  /** Answers with an application error. */
  fail(uri: string, payload?: Args, qos?: 0 | 1 | 2): Promise<void>;
}

export class RpcDevice {
  readonly invocations = new Queue<DeviceInvocation>();

  private constructor(
    readonly client: MqttClient,
    readonly version: Version,
  ) {
    client.on('message', (topic, payload, packet) => {
      if (topic.startsWith('$rpc/')) this.invocations.push(this.toInvocation(topic, payload, packet));
    });
  }

  static async connect(router: TestRouter, transport: Transport, version: Version, options: IClientOptions = {}): Promise<RpcDevice> {
    return new RpcDevice(await connectClient(urlOf(router, transport), version, options), version);
  }

  /** Subscribes to one `$rpc/...` filter (a registration) and returns the SUBACK code instead of throwing. */
  register(filter: string, qos: 0 | 1 | 2 = 1): Promise<Suback> {
    return subscribeOne(this.client, filter, qos);
  }

  nextInvocation(ms = 3000): Promise<DeviceInvocation> {
    return this.invocations.next(ms, 'an invocation');
  }

  private toInvocation(topic: string, payload: Buffer, packet: IPublishPacket): DeviceInvocation {
    const client = this.client;
    if (this.version === 5) {
      const properties = packet.properties ?? {};
      const replyTo = properties.responseTopic;
      const correlation = properties.correlationData;
      const decoded = decodePayload(payload);
      const send = (body: Buffer, qos: 0 | 1 | 2, error?: string): Promise<void> =>
        client
          .publishAsync(replyTo!, body, {
            qos,
            properties: {
              ...(correlation === undefined ? {} : { correlationData: correlation }),
              ...(error === undefined ? {} : { userProperties: { wamp_error: error } }),
            },
          })
          .then(() => undefined);
      return {
        topic,
        packet,
        payload,
        replyTo,
        correlation,
        ...decoded,
        reply: (result, qos = 1) => send(encodePayload(result), qos),
        fail: (uri, args = {}, qos = 1) => send(encodePayload(args), qos, uri),
      };
    }
    const envelope = json(payload);
    const replyTo = envelope.reply_to as string | undefined;
    const send = (body: Record<string, unknown>, qos: 0 | 1 | 2): Promise<void> =>
      client.publishAsync(replyTo!, JSON.stringify({ id: envelope.id, ...body }), { qos }).then(() => undefined);
    return {
      topic,
      packet,
      payload,
      replyTo,
      correlation: envelope.id,
      args: (envelope.args as unknown[] | undefined) ?? [],
      kwargs: (envelope.kwargs as Record<string, unknown> | undefined) ?? {},
      reply: (result, qos = 1) => send({ ...result }, qos),
      fail: (uri, args = {}, qos = 1) => send({ error: uri, ...args }, qos),
    };
  }
}

export function subscribeOne(client: MqttClient, filter: string, qos: 0 | 1 | 2): Promise<Suback> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos }, (error, _granted, packet) => {
      const suback = (packet ?? (error as { packet?: unknown } | null)?.packet) as
        | { granted: number[]; properties?: { reasonString?: string } }
        | undefined;
      if (suback === undefined) {
        reject(error ?? new Error('no SUBACK'));
        return;
      }
      resolve({ code: suback.granted[0]!, reasonString: suback.properties?.reasonString });
    });
  });
}

/** A reply as an MQTT caller sees it. */
export interface CallReply {
  topic: string;
  packet: IPublishPacket;
  payload: Buffer;
  /** The error URI (5.0 user property `wamp_error`, 3.1.1 `error`), if the call failed. */
  error: string | undefined;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** 3.1.1: the whole reply envelope. */
  envelope: Record<string, unknown> | undefined;
}

let callSequence = 0;

export class RpcCaller {
  /** Every PUBLISH received on a reply topic of this caller. */
  readonly replies = new Queue<CallReply>();
  readonly replyTopic: string;

  private constructor(
    readonly client: MqttClient,
    readonly version: Version,
  ) {
    this.replyTopic = `replies/${client.options.clientId ?? 'caller'}`;
    client.on('message', (topic, payload, packet) => {
      if (topic !== this.replyTopic) return;
      if (version === 5) {
        const marked = packet.properties?.userProperties?.wamp_error;
        const error = Array.isArray(marked) ? marked[0] : marked;
        this.replies.push({ topic, packet, payload, error, ...decodePayload(payload), envelope: undefined });
        return;
      }
      const envelope = json(payload);
      this.replies.push({
        topic,
        packet,
        payload,
        error: envelope.error as string | undefined,
        args: (envelope.args as unknown[] | undefined) ?? [],
        kwargs: (envelope.kwargs as Record<string, unknown> | undefined) ?? {},
        envelope,
      });
    });
  }

  static async connect(router: TestRouter, transport: Transport, version: Version, options: IClientOptions = {}): Promise<RpcCaller> {
    return new RpcCaller(await connectClient(urlOf(router, transport), version, options), version);
  }

  /**
   * Publishes a call of `procedure` (`a.b.c`) to `$rpc/a/b/c`. 5.0: `args` goes through the payload mapping, or
   * `raw` is sent as is; 3.1.1: the envelope with a fresh id. Returns the correlation (5.0 data or 3.1.1 id).
   */
  async send(procedure: string, payload: Args & { raw?: Buffer | string }, options: { qos?: 0 | 1 | 2; retain?: boolean } = {}): Promise<string | number> {
    const topic = `$rpc/${procedure.split('.').join('/')}`;
    const qos = options.qos ?? 1;
    const retain = options.retain ?? false;
    if (this.version === 5) {
      const correlation = `c-${++callSequence}`;
      const body = payload.raw ?? encodePayload(payload);
      await this.client.publishAsync(topic, body, {
        qos,
        retain,
        properties: { responseTopic: this.replyTopic, correlationData: Buffer.from(correlation) },
      });
      return correlation;
    }
    const id = ++callSequence;
    const envelope: Record<string, unknown> = { id, reply_to: this.replyTopic, args: payload.args ?? [] };
    if (payload.kwargs !== undefined) envelope.kwargs = payload.kwargs;
    await this.client.publishAsync(topic, JSON.stringify(envelope), { qos, retain });
    return id;
  }

  /** Sends a call and waits for its reply, checking that the reply is correlated to it. */
  async call(procedure: string, payload: Args & { raw?: Buffer | string } = {}, options: { qos?: 0 | 1 | 2; retain?: boolean; ms?: number } = {}): Promise<CallReply> {
    const correlation = await this.send(procedure, payload, options);
    const reply = await this.replies.next(options.ms ?? 3000, `the reply to ${procedure}`);
    const echoed = this.version === 5 ? reply.packet.properties?.correlationData?.toString('utf8') : reply.envelope?.id;
    if (echoed !== correlation) throw new Error(`reply correlated to ${JSON.stringify(echoed)}, expected ${JSON.stringify(correlation)}`);
    return reply;
  }
}
