import { containsBinary, reviveBinary, stringifyWithBinary } from './binary-json.js';

/**
 * An application payload, held in the form it arrived in and converted to the other form at most once.
 * WAMP speaks positional and keyword arguments; MQTT speaks bytes. The mapping between them is the
 * cross-protocol convention of the README ("Payload mapping"):
 *
 * bytes -> arguments:
 * - valid UTF-8 JSON becomes `args=[value]`, except the envelope: an object whose only keys are `args`
 *   (an array) and/or `kwargs` (an object) is unwrapped into args and kwargs;
 * - other valid UTF-8 becomes `args=[text]`;
 * - anything else becomes `args=[bytes]`.
 *
 * arguments -> bytes:
 * - exactly one positional argument and no keyword arguments: a string is sent as UTF-8, bytes are sent raw,
 *   any other value as JSON, except an object that would read back as the envelope, which is wrapped in one so
 *   that it round-trips;
 * - anything else is the JSON envelope `{"args":[...],"kwargs":{...}}` (kwargs only when not empty).
 *
 * Because a fan-out hands the same Payload to every receiver, each conversion happens once per publication.
 */
export class Payload {
  private argsValue: unknown[] | undefined;
  private kwargsValue: Record<string, unknown> | undefined;
  private bytesValue: Uint8Array | undefined;
  private converted = false;
  private binaryMemo: boolean | undefined;

  private constructor(
    /** The form the payload arrived in. */
    readonly origin: 'args' | 'bytes',
  ) {}

  static fromArgs(args?: unknown[], kwargs?: Record<string, unknown>): Payload {
    const payload = new Payload('args');
    payload.argsValue = args;
    payload.kwargsValue = kwargs;
    return payload;
  }

  static fromBytes(bytes: Uint8Array): Payload {
    const payload = new Payload('bytes');
    payload.bytesValue = bytes;
    return payload;
  }

  /** Positional arguments (undefined when there are none). */
  get args(): unknown[] | undefined {
    if (this.origin === 'bytes' && !this.converted) this.toArgs();
    return this.argsValue;
  }

  /** Keyword arguments (undefined when there are none). */
  get kwargs(): Record<string, unknown> | undefined {
    if (this.origin === 'bytes' && !this.converted) this.toArgs();
    return this.kwargsValue;
  }

  /** The payload as bytes. */
  get bytes(): Uint8Array {
    if (this.bytesValue === undefined) this.bytesValue = argsToBytes(this.argsValue, this.kwargsValue);
    return this.bytesValue;
  }

  /** True when the arguments hold a byte array somewhere (JSON serializers need to know). Memoized. */
  get hasBinary(): boolean {
    if (this.binaryMemo === undefined) {
      this.binaryMemo = containsBinary(this.args) || containsBinary(this.kwargs);
    }
    return this.binaryMemo;
  }

  private toArgs(): void {
    this.converted = true;
    const mapped = bytesToArgs(this.bytesValue ?? EMPTY);
    this.argsValue = mapped.args;
    this.kwargsValue = mapped.kwargs;
  }
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function bytesToArgs(bytes: Uint8Array): { args: unknown[]; kwargs?: Record<string, unknown> } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { args: [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { args: [text] };
  }
  if (text.includes('\\u0000')) value = reviveBinary(value);
  const envelope = asEnvelope(value);
  return envelope ?? { args: [value] };
}

/** The `{"args": [...], "kwargs": {...}}` envelope, when the value is exactly that. */
function asEnvelope(value: unknown): { args: unknown[]; kwargs?: Record<string, unknown> } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  let keys = 0;
  for (const key in record) {
    if (key !== 'args' && key !== 'kwargs') return undefined;
    keys++;
  }
  if (keys === 0) return undefined;
  const { args, kwargs } = record;
  if (args !== undefined && !Array.isArray(args)) return undefined;
  if (kwargs !== undefined && (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs))) {
    return undefined;
  }
  return kwargs === undefined
    ? { args: args ?? [] }
    : { args: args ?? [], kwargs: kwargs as Record<string, unknown> };
}

export function argsToBytes(args: unknown[] | undefined, kwargs: Record<string, unknown> | undefined): Uint8Array {
  const hasKwargs = kwargs !== undefined && Object.keys(kwargs).length > 0;
  if (!hasKwargs && args !== undefined && args.length === 1) {
    const only = args[0];
    if (typeof only === 'string') return Buffer.from(only, 'utf8');
    if (only instanceof Uint8Array) return only;
    if (asEnvelope(only) === undefined) return Buffer.from(toJson(only), 'utf8');
  }
  const envelope: Record<string, unknown> = { args: args ?? [] };
  if (hasKwargs) envelope.kwargs = kwargs;
  return Buffer.from(toJson(envelope), 'utf8');
}

function toJson(value: unknown): string {
  return containsBinary(value) ? stringifyWithBinary(value) : JSON.stringify(value) ?? 'null';
}
