/**
 * Stable error codes of the core. RPC errors travel between protocols as URIs (a WAMP callee's
 * `com.example.oops` reaches an MQTT caller unchanged), so the core's own codes are the WAMP URIs too;
 * each protocol maps them to its wire in one place (`protocols/wamp/errors.ts`, `protocols/mqtt/...`).
 */
export const CoreError = {
  InvalidUri: 'wamp.error.invalid_uri',
  NotAuthorized: 'wamp.error.not_authorized',
  NoSuchProcedure: 'wamp.error.no_such_procedure',
  ProcedureAlreadyExists: 'wamp.error.procedure_already_exists',
  NoSuchSubscription: 'wamp.error.no_such_subscription',
  NoSuchRegistration: 'wamp.error.no_such_registration',
  NoSuchRealm: 'wamp.error.no_such_realm',
  NoSuchSession: 'wamp.error.no_such_session',
  Canceled: 'wamp.error.canceled',
  Timeout: 'wamp.error.timeout',
  InvalidArgument: 'wamp.error.invalid_argument',
  OptionNotAllowed: 'wamp.error.option_not_allowed',
  LimitExceeded: 'wamp.error.limit_exceeded',
} as const;

export type CoreErrorUri = (typeof CoreError)[keyof typeof CoreError];

/** A synchronous core operation either succeeds with a value or fails with a stable code. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: CoreErrorUri; message?: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: CoreErrorUri, message?: string): Result<T> {
  return message === undefined ? { ok: false, error } : { ok: false, error, message };
}
