/**
 * The one defaults object. Every config key exists here with its default; `schema.ts` validates the
 * merged result and `options.ts` maps environment variables and CLI flags onto these keys.
 */

export type UriCheck = 'loose' | 'strict';
export type StoreEngine = 'lmdb' | 'memory';
/** When a durable write reaches the disk: each commit (`always`), at most every `batchMs` (`batch`), or when the OS decides (`os`). */
export type FsyncPolicy = 'always' | 'batch' | 'os';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/**
 * Topic or URI patterns for each of the four actions. Components are separated by `.`; `+` as a whole component
 * stands for exactly one component, and `#` as the whole last component for zero or more trailing components
 * (`sensors.#` covers `sensors`, `sensors.x`, `sensors.x.y`). A pattern without wildcards is exact. Patterns
 * apply to MQTT topics (split on `/`) and WAMP URIs (split on `.`) alike. A `+` first or a root `#` does not
 * allow `$` topics (name them: `$SYS.#`); under `deny` they do refuse them.
 */
export interface ActionPatterns {
  /** Topics published to. */
  publish?: string[];
  /** Topics or topic filters subscribed to. A filter must be covered as a whole: every topic it can match. */
  subscribe?: string[];
  /** Procedure URIs called. */
  call?: string[];
  /** Procedure URIs or URI patterns registered. A pattern must be covered as a whole, like a subscription. */
  register?: string[];
}

/**
 * What one authrole may do in one realm. Once any role is configured in any realm, everything not allowed is
 * denied, and deny wins over allow. A role listed here with nothing for an action may do nothing of it.
 * `admin` may do everything unless it is listed; other roles (`anonymous` included) that are not listed may do
 * nothing.
 */
export interface RoleConfig {
  /** Patterns the role may act on, per action. Missing: nothing is allowed for that action. */
  allow?: ActionPatterns;
  /** Patterns the role may never act on, per action, whatever `allow` says. */
  deny?: ActionPatterns;
}

export interface RealmConfig {
  /** WAMP URI rule for this realm: `loose` (default) or `strict` (lower-case letters, digits, `_`). */
  uriCheck: UriCheck;
  /**
   * Authorization rules by authrole. Unset everywhere (the default): every admitted session may do everything.
   * See {@link RoleConfig}.
   */
  roles: Record<string, RoleConfig>;
}

export interface JwtConfig {
  /** HS256/384/512 shared secret. Unset: no HMAC tokens. */
  secret?: string;
  /** Paths of PEM public keys (RSA, EC or Ed25519) that verify RS/PS/ES/EdDSA tokens. */
  publicKeys: string[];
  /** A JWKS: a file path, or an https:// URL (fetched and cached by jose). */
  jwks?: string;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
  /** Accepted `alg` values. `none` is never accepted. */
  algorithms: JwtAlgorithm[];
  /** Allowed clock skew, in seconds, for `exp` and `nbf`. */
  clockToleranceSec: number;
  /** End a session when its token's `exp` passes. */
  enforceExpiry: boolean;
  /** Seconds a session may outlive its token's `exp` before it is ended. */
  expiryGraceSec: number;
  /** Claim names mapped to the principal. */
  claims: {
    /** Claim that becomes the authid. */
    authid: string;
    /** Claim that becomes the authrole. */
    authrole: string;
    /** Claim that names the realm the token is for. */
    realm: string;
    /**
     * Claim that may narrow what the session's role allows: an object with optional `publish`, `subscribe`,
     * `call` and `register` lists of patterns (same syntax as role rules). An action is then allowed only when
     * both the role and the claim allow it; a list left out does not narrow its action, an empty list allows
     * nothing. A claim of any other shape denies the session everything.
     */
    permissions: string;
  };
  /** Authrole for a token without a role claim. */
  defaultRole: string;
  /** Cookie that may carry the token on the WebSocket upgrade. */
  cookie: string;
}

export interface MqttConfig {
  /** MQTT over plain TCP; 0 turns the listener off. */
  port: number;
  /** MQTT over TLS, when `tls.cert` and `tls.key` are set; 0 turns it off. */
  tlsPort: number;
  /** Cap on the keepalive a client may ask for, in seconds; 0: no cap. */
  maxKeepalive: number;
  /** Largest MQTT packet accepted and announced, in bytes. */
  maxPacketSize: number;
  /** Receive Maximum announced, and most QoS 1/2 messages in flight to one client. */
  maxInflight: number;
  /** Most QoS 1/2 messages queued for one session. */
  maxQueued: number;
  /** Most subscriptions per session; 0: no limit. */
  maxSubscriptions: number;
  /** Topic Alias Maximum announced to clients. */
  topicAliasMaximum: number;
  /** Longest topic name or filter, in bytes. */
  maxTopicLength: number;
  /** Most levels in a topic name or filter. */
  maxTopicLevels: number;
  /** Cap on Session Expiry Interval in seconds (and the expiry of 3.1.1 persistent sessions); 0: no cap. */
  maxSessionExpiry: number;
  /** Refuse a login whose MQTT username differs from the token's subject. */
  requireUsernameMatch: boolean;
  /** Seconds between $SYS/broker/... updates; 0 turns them off. */
  sysInterval: number;
}

export interface Config {
  /** Interface to bind. Unset: 127.0.0.1 in development mode, else 0.0.0.0. */
  host?: string;
  /** WebSocket and HTTP port. 0 picks a free port. */
  port: number;
  /** The default realm, always present. */
  realm: string;
  /** Further realms, and options for any realm (the default one included). */
  realms: Record<string, Partial<RealmConfig>>;
  /** Allow sessions without credentials. Unset: allowed only in development mode (no auth configured). */
  allowAnonymous?: boolean;
  /** Authrole given to anonymous sessions. */
  anonymousRole: string;
  /** Subprotocol to use when a WebSocket client offers none. Unset: such upgrades are refused. */
  defaultProtocol?: string;
  /** Seconds before a call without its own `timeout` fails with `wamp.error.timeout`; 0: never. */
  callTimeout: number;
  jwt: JwtConfig;
  mqtt: MqttConfig;
  log: {
    level: LogLevel;
    /** Human-readable lines (pino-pretty) instead of JSON. Unset: only when standard output is a terminal. */
    pretty?: boolean;
  };
  limits: {
    /** Largest accepted WebSocket message, in bytes (close 1009 past it). */
    maxMessageSize: number;
    /** Seconds a new connection has to complete its login (WAMP WELCOME, MQTT CONNACK); 0: no limit. */
    handshakeTimeoutSec: number;
    /** Most open connections, all transports together; 0: no limit. */
    maxConnections: number;
    /** New connections accepted per second from one IP address; 0: no limit. */
    connectionRatePerIp: number;
    /** New connections accepted per second in total; 0: no limit. */
    connectionRate: number;
    /** Bytes waiting on a socket past which QoS 0 messages and WAMP events for it are dropped (and counted). */
    slowConsumerBytes: number;
    /** Bytes waiting on a socket past which the connection is closed as a slow consumer. */
    maxBufferedBytes: number;
  };
  /** WebSocket pings: every `intervalSec` a ping; a peer silent (no message, no pong) for `timeoutSec` is dropped. */
  heartbeat: {
    /** 0 turns pings off. */
    intervalSec: number;
    timeoutSec: number;
  };
  /**
   * Origins a browser may open a WebSocket from (`https://app.example.com`; `*` for any). Empty: every origin.
   * Upgrades without an Origin header (devices, servers) are not affected, and development mode allows every
   * origin. A token in a cookie counts only from the router's own host or a listed origin.
   */
  allowedOrigins: string[];
  /** Seconds the router waits for sessions to close on SIGTERM/SIGINT before it exits anyway. */
  shutdownTimeoutSec: number;
  /** WebSocket permessage-deflate (RFC 7692): smaller frames for more CPU. */
  compression: {
    enabled: boolean;
    /** Messages smaller than this many bytes are sent uncompressed. */
    thresholdBytes: number;
  };
  /** TLS: with a certificate and key, the main port serves `https://` and `wss://`, and MQTT over TLS opens. */
  tls: {
    /** PEM certificate (chain) file. */
    cert?: string;
    /** PEM private key file. */
    key?: string;
    /**
     * PEM CA bundle that signs client certificates. Set: MQTT over TLS asks clients for a certificate, and one
     * signed by this CA logs in without other credentials (authid: its common name).
     */
    clientCa?: string;
    /** Refuse MQTT over TLS connections without a valid client certificate. */
    requireClientCert: boolean;
    /** Authrole of sessions that logged in with a client certificate. */
    clientCertRole: string;
  };
  /** Where retained messages, persistent MQTT sessions and WAMP retained events are kept. */
  store: {
    /** `lmdb`: the embedded on-disk store in `dataDir` (default); `memory`: nothing survives a restart. */
    engine: StoreEngine;
    /** Directory of the embedded store; created when missing. */
    dataDir: string;
    /** Durability of a commit; acknowledgements wait for it. See {@link FsyncPolicy}. */
    fsync: FsyncPolicy;
    /** With `fsync: batch`, the longest a commit waits for the disk, in milliseconds. */
    batchMs: number;
  };
  /** A directory whose files the HTTP port serves (`GET /...`), for a browser app next to the router. Unset: off. */
  serveStatic?: string;
  metrics: {
    /** Serve Prometheus metrics at `/metrics`. */
    enabled: boolean;
    /** 0: on the main HTTP port; otherwise a port of its own (same host). */
    port: number;
  };
}

export const DEFAULTS: Config = {
  host: undefined,
  port: 8080,
  realm: 'realm1',
  realms: {},
  allowAnonymous: undefined,
  anonymousRole: 'anonymous',
  defaultProtocol: undefined,
  callTimeout: 60,
  jwt: {
    secret: undefined,
    publicKeys: [],
    jwks: undefined,
    issuer: undefined,
    audience: undefined,
    algorithms: [...JWT_ALGORITHMS],
    clockToleranceSec: 0,
    enforceExpiry: true,
    expiryGraceSec: 0,
    claims: { authid: 'sub', authrole: 'role', realm: 'realm', permissions: 'permissions' },
    defaultRole: 'user',
    cookie: 'switchboard_token',
  },
  mqtt: {
    port: 1883,
    tlsPort: 8883,
    maxKeepalive: 0,
    maxPacketSize: 1024 * 1024,
    maxInflight: 100,
    maxQueued: 1000,
    maxSubscriptions: 0,
    topicAliasMaximum: 10,
    maxTopicLength: 65535,
    maxTopicLevels: 128,
    maxSessionExpiry: 0,
    requireUsernameMatch: false,
    sysInterval: 10,
  },
  log: { level: 'info' },
  limits: { maxMessageSize: 1024 * 1024, handshakeTimeoutSec: 10, maxConnections: 0, connectionRatePerIp: 0, connectionRate: 0, slowConsumerBytes: 1024 * 1024, maxBufferedBytes: 16 * 1024 * 1024 },
  heartbeat: { intervalSec: 30, timeoutSec: 75 },
  allowedOrigins: [],
  shutdownTimeoutSec: 10,
  compression: { enabled: false, thresholdBytes: 1024 },
  tls: { requireClientCert: false, clientCertRole: 'device' },
  store: { engine: 'lmdb', dataDir: './data', fsync: 'always', batchMs: 10 },
  serveStatic: undefined,
  metrics: { enabled: true, port: 0 },
};
