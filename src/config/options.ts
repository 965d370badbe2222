/**
 * Environment variables and CLI flags, each mapped onto a config key of `defaults.ts`. This table also
 * writes `switchboard --help` and the README's configuration reference, so the three never disagree.
 */
export type OptionType = 'string' | 'int' | 'bool' | 'list';

export interface OptionSpec {
  /** Dotted config key. */
  key: string;
  env: string;
  flag: string;
  type: OptionType;
  help: string;
}

export const CONFIG_FILE_ENV = 'SWITCHBOARD_CONFIG';
export const CONFIG_FILE_FLAG = 'config';

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'host', env: 'SWITCHBOARD_HOST', flag: 'host', type: 'string', help: 'Interface to bind. Default: 127.0.0.1 in development mode, else 0.0.0.0.' },
  { key: 'port', env: 'SWITCHBOARD_PORT', flag: 'port', type: 'int', help: 'WebSocket and HTTP port (0 picks a free one). Default: 8080.' },
  { key: 'realm', env: 'SWITCHBOARD_REALM', flag: 'realm', type: 'string', help: 'The default realm. Default: realm1.' },
  { key: 'allowAnonymous', env: 'SWITCHBOARD_ALLOW_ANONYMOUS', flag: 'allow-anonymous', type: 'bool', help: 'Admit sessions without credentials. Default: only in development mode.' },
  { key: 'anonymousRole', env: 'SWITCHBOARD_ANONYMOUS_ROLE', flag: 'anonymous-role', type: 'string', help: 'Authrole of anonymous sessions. Default: anonymous.' },
  { key: 'defaultProtocol', env: 'SWITCHBOARD_DEFAULT_PROTOCOL', flag: 'default-protocol', type: 'string', help: 'Subprotocol for WebSocket clients that offer none. Default: none (refused).' },
  { key: 'callTimeout', env: 'SWITCHBOARD_CALL_TIMEOUT', flag: 'call-timeout', type: 'int', help: 'Seconds before a call without its own timeout fails; 0: never. Default: 60.' },
  { key: 'jwt.secret', env: 'SWITCHBOARD_JWT_SECRET', flag: 'jwt-secret', type: 'string', help: 'HS256/384/512 shared secret for JWTs.' },
  { key: 'jwt.publicKeys', env: 'SWITCHBOARD_JWT_PUBLIC_KEY', flag: 'jwt-public-key', type: 'list', help: 'PEM public key file(s) for RS/PS/ES/EdDSA JWTs, comma-separated.' },
  { key: 'jwt.jwks', env: 'SWITCHBOARD_JWKS', flag: 'jwks', type: 'string', help: 'JWKS file path or https:// URL (cached).' },
  { key: 'jwt.issuer', env: 'SWITCHBOARD_JWT_ISSUER', flag: 'jwt-issuer', type: 'string', help: 'Required iss claim.' },
  { key: 'jwt.audience', env: 'SWITCHBOARD_JWT_AUDIENCE', flag: 'jwt-audience', type: 'string', help: 'Required aud claim.' },
  { key: 'jwt.algorithms', env: 'SWITCHBOARD_JWT_ALGORITHMS', flag: 'jwt-algorithms', type: 'list', help: 'Accepted alg values, comma-separated. Default: HS*, RS*, PS*, ES*, EdDSA.' },
  { key: 'jwt.enforceExpiry', env: 'SWITCHBOARD_JWT_ENFORCE_EXPIRY', flag: 'jwt-enforce-expiry', type: 'bool', help: 'End sessions when their token expires. Default: true.' },
  { key: 'jwt.expiryGraceSec', env: 'SWITCHBOARD_JWT_EXPIRY_GRACE', flag: 'jwt-expiry-grace', type: 'int', help: 'Seconds a session may outlive its token. Default: 0.' },
  { key: 'jwt.claims.permissions', env: 'SWITCHBOARD_JWT_PERMISSIONS_CLAIM', flag: 'jwt-permissions-claim', type: 'string', help: 'Claim that narrows a role. Default: permissions.' },
  { key: 'jwt.cookie', env: 'SWITCHBOARD_JWT_COOKIE', flag: 'jwt-cookie', type: 'string', help: 'Cookie that may carry the JWT on the upgrade. Default: switchboard_token.' },
  { key: 'jwt.defaultRole', env: 'SWITCHBOARD_JWT_DEFAULT_ROLE', flag: 'jwt-default-role', type: 'string', help: 'Authrole for tokens without a role claim. Default: user.' },
  { key: 'limits.handshakeTimeoutSec', env: 'SWITCHBOARD_HANDSHAKE_TIMEOUT', flag: 'handshake-timeout', type: 'int', help: 'Seconds a connection has to log in (WELCOME/CONNACK); 0: no limit. Default: 10.' },
  { key: 'limits.maxConnections', env: 'SWITCHBOARD_MAX_CONNECTIONS', flag: 'max-connections', type: 'int', help: 'Most open connections; 0: no limit. Default: 0.' },
  { key: 'limits.connectionRatePerIp', env: 'SWITCHBOARD_CONNECTION_RATE_PER_IP', flag: 'connection-rate-per-ip', type: 'int', help: 'New connections per second from one IP; 0: no limit. Default: 0.' },
  { key: 'limits.connectionRate', env: 'SWITCHBOARD_CONNECTION_RATE', flag: 'connection-rate', type: 'int', help: 'New connections per second in total; 0: no limit. Default: 0.' },
  { key: 'limits.slowConsumerBytes', env: 'SWITCHBOARD_SLOW_CONSUMER_BYTES', flag: 'slow-consumer-bytes', type: 'int', help: 'Buffered bytes past which QoS 0/WAMP events for a socket are dropped. Default: 1048576.' },
  { key: 'limits.maxBufferedBytes', env: 'SWITCHBOARD_MAX_BUFFERED_BYTES', flag: 'max-buffered-bytes', type: 'int', help: 'Buffered bytes past which a slow consumer is disconnected. Default: 16777216.' },
  { key: 'heartbeat.intervalSec', env: 'SWITCHBOARD_PING_INTERVAL', flag: 'ping-interval', type: 'int', help: 'Seconds between WebSocket pings; 0: off. Default: 30.' },
  { key: 'heartbeat.timeoutSec', env: 'SWITCHBOARD_PING_TIMEOUT', flag: 'ping-timeout', type: 'int', help: 'Seconds of silence before a WebSocket peer is dropped. Default: 75.' },
  { key: 'allowedOrigins', env: 'SWITCHBOARD_ALLOWED_ORIGINS', flag: 'allowed-origins', type: 'list', help: "Origins browsers may connect from, comma-separated ('*': any). Default: empty, every origin." },
  { key: 'store.engine', env: 'SWITCHBOARD_STORE', flag: 'store', type: 'string', help: 'lmdb (embedded, on disk) or memory (nothing survives a restart). Default: lmdb.' },
  { key: 'store.dataDir', env: 'SWITCHBOARD_DATA_DIR', flag: 'data-dir', type: 'string', help: 'Directory of the embedded store. Default: ./data.' },
  { key: 'store.fsync', env: 'SWITCHBOARD_FSYNC', flag: 'fsync', type: 'string', help: 'always (each commit), batch (every --fsync-batch-ms) or os. Default: always.' },
  { key: 'store.batchMs', env: 'SWITCHBOARD_FSYNC_BATCH_MS', flag: 'fsync-batch-ms', type: 'int', help: 'With --fsync batch, longest wait for the disk in ms. Default: 10.' },
  { key: 'serveStatic', env: 'SWITCHBOARD_SERVE_STATIC', flag: 'serve-static', type: 'string', help: 'Directory served over HTTP on the main port. Default: off.' },
  { key: 'metrics.enabled', env: 'SWITCHBOARD_METRICS', flag: 'metrics', type: 'bool', help: 'Serve Prometheus metrics at /metrics. Default: true.' },
  { key: 'metrics.port', env: 'SWITCHBOARD_METRICS_PORT', flag: 'metrics-port', type: 'int', help: 'Port for /metrics; 0: the main port. Default: 0.' },
  { key: 'shutdownTimeoutSec', env: 'SWITCHBOARD_SHUTDOWN_TIMEOUT', flag: 'shutdown-timeout', type: 'int', help: 'Seconds to wait for sessions on shutdown. Default: 10.' },
  { key: 'limits.maxMessageSize', env: 'SWITCHBOARD_MAX_MESSAGE_SIZE', flag: 'max-message-size', type: 'int', help: 'Largest WebSocket message in bytes (close 1009 past it). Default: 1048576.' },
  { key: 'mqtt.port', env: 'SWITCHBOARD_MQTT_PORT', flag: 'mqtt-port', type: 'int', help: 'MQTT over TCP port; 0 turns it off. Default: 1883.' },
  { key: 'mqtt.tlsPort', env: 'SWITCHBOARD_MQTT_TLS_PORT', flag: 'mqtt-tls-port', type: 'int', help: 'MQTT over TLS port (with tls.cert/key); 0 turns it off. Default: 8883.' },
  { key: 'compression.enabled', env: 'SWITCHBOARD_COMPRESSION', flag: 'compression', type: 'bool', help: 'WebSocket permessage-deflate. Default: false.' },
  { key: 'compression.thresholdBytes', env: 'SWITCHBOARD_COMPRESSION_THRESHOLD', flag: 'compression-threshold', type: 'int', help: 'Smallest message compressed, in bytes. Default: 1024.' },
  { key: 'tls.cert', env: 'SWITCHBOARD_TLS_CERT', flag: 'tls-cert', type: 'string', help: 'PEM certificate file: serve https/wss and MQTT over TLS.' },
  { key: 'tls.key', env: 'SWITCHBOARD_TLS_KEY', flag: 'tls-key', type: 'string', help: 'PEM private key file for tls.cert.' },
  { key: 'tls.clientCa', env: 'SWITCHBOARD_TLS_CLIENT_CA', flag: 'tls-client-ca', type: 'string', help: 'PEM CA for client certificates on MQTT/TLS and wss (login by certificate).' },
  { key: 'tls.requireClientCert', env: 'SWITCHBOARD_TLS_REQUIRE_CLIENT_CERT', flag: 'tls-require-client-cert', type: 'bool', help: 'Refuse MQTT/TLS clients without a valid certificate. Default: false.' },
  { key: 'tls.clientCertRole', env: 'SWITCHBOARD_TLS_CLIENT_CERT_ROLE', flag: 'tls-client-cert-role', type: 'string', help: 'Authrole for certificate logins. Default: device.' },
  { key: 'mqtt.maxKeepalive', env: 'SWITCHBOARD_MQTT_MAX_KEEPALIVE', flag: 'mqtt-max-keepalive', type: 'int', help: 'Cap on MQTT keepalive in seconds; 0: no cap. Default: 0.' },
  { key: 'mqtt.maxPacketSize', env: 'SWITCHBOARD_MQTT_MAX_PACKET_SIZE', flag: 'mqtt-max-packet-size', type: 'int', help: 'Largest MQTT packet in bytes. Default: 1048576.' },
  { key: 'mqtt.maxInflight', env: 'SWITCHBOARD_MQTT_MAX_INFLIGHT', flag: 'mqtt-max-inflight', type: 'int', help: 'Receive Maximum, and QoS 1/2 messages in flight per client. Default: 100.' },
  { key: 'mqtt.maxQueued', env: 'SWITCHBOARD_MQTT_MAX_QUEUED', flag: 'mqtt-max-queued', type: 'int', help: 'QoS 1/2 messages queued per session. Default: 1000.' },
  { key: 'mqtt.maxSubscriptions', env: 'SWITCHBOARD_MQTT_MAX_SUBSCRIPTIONS', flag: 'mqtt-max-subscriptions', type: 'int', help: 'Subscriptions per session; 0: no limit. Default: 0.' },
  { key: 'mqtt.topicAliasMaximum', env: 'SWITCHBOARD_MQTT_TOPIC_ALIAS_MAXIMUM', flag: 'mqtt-topic-alias-maximum', type: 'int', help: 'Topic Alias Maximum announced to clients. Default: 10.' },
  { key: 'mqtt.maxTopicLength', env: 'SWITCHBOARD_MQTT_MAX_TOPIC_LENGTH', flag: 'mqtt-max-topic-length', type: 'int', help: 'Longest topic in bytes. Default: 65535.' },
  { key: 'mqtt.maxTopicLevels', env: 'SWITCHBOARD_MQTT_MAX_TOPIC_LEVELS', flag: 'mqtt-max-topic-levels', type: 'int', help: 'Most levels in a topic. Default: 128.' },
  { key: 'mqtt.maxSessionExpiry', env: 'SWITCHBOARD_MQTT_MAX_SESSION_EXPIRY', flag: 'mqtt-max-session-expiry', type: 'int', help: 'Cap on session expiry in seconds (also 3.1.1 persistent sessions); 0: no cap. Default: 0.' },
  { key: 'mqtt.requireUsernameMatch', env: 'SWITCHBOARD_MQTT_REQUIRE_USERNAME_MATCH', flag: 'mqtt-require-username-match', type: 'bool', help: 'Require the MQTT username to equal the token subject. Default: false.' },
  { key: 'mqtt.sysInterval', env: 'SWITCHBOARD_MQTT_SYS_INTERVAL', flag: 'mqtt-sys-interval', type: 'int', help: 'Seconds between $SYS updates; 0: off. Default: 10.' },
  { key: 'log.pretty', env: 'SWITCHBOARD_LOG_PRETTY', flag: 'log-pretty', type: 'bool', help: 'Human-readable logs instead of JSON. Default: only on a terminal.' },
  { key: 'log.level', env: 'SWITCHBOARD_LOG_LEVEL', flag: 'log-level', type: 'string', help: 'fatal, error, warn, info, debug, trace or silent. Default: info.' },
];
