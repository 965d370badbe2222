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
  { key: 'jwt.secret', env: 'SWITCHBOARD_JWT_SECRET', flag: 'jwt-secret', type: 'string', help: 'HS256/384/512 shared secret for JWTs.' },
  { key: 'jwt.publicKeys', env: 'SWITCHBOARD_JWT_PUBLIC_KEY', flag: 'jwt-public-key', type: 'list', help: 'PEM public key file(s) for RS/PS/ES/EdDSA JWTs, comma-separated.' },
  { key: 'jwt.jwks', env: 'SWITCHBOARD_JWKS', flag: 'jwks', type: 'string', help: 'JWKS file path or https:// URL (cached).' },
  { key: 'jwt.issuer', env: 'SWITCHBOARD_JWT_ISSUER', flag: 'jwt-issuer', type: 'string', help: 'Required iss claim.' },
  { key: 'jwt.audience', env: 'SWITCHBOARD_JWT_AUDIENCE', flag: 'jwt-audience', type: 'string', help: 'Required aud claim.' },
  { key: 'jwt.algorithms', env: 'SWITCHBOARD_JWT_ALGORITHMS', flag: 'jwt-algorithms', type: 'list', help: 'Accepted alg values, comma-separated. Default: HS*, RS*, PS*, ES*, EdDSA.' },
  { key: 'jwt.cookie', env: 'SWITCHBOARD_JWT_COOKIE', flag: 'jwt-cookie', type: 'string', help: 'Cookie that may carry the JWT on the upgrade. Default: switchboard_token.' },
  { key: 'jwt.defaultRole', env: 'SWITCHBOARD_JWT_DEFAULT_ROLE', flag: 'jwt-default-role', type: 'string', help: 'Authrole for tokens without a role claim. Default: user.' },
  { key: 'limits.maxMessageSize', env: 'SWITCHBOARD_MAX_MESSAGE_SIZE', flag: 'max-message-size', type: 'int', help: 'Largest WebSocket message in bytes (close 1009 past it). Default: 1048576.' },
  { key: 'log.level', env: 'SWITCHBOARD_LOG_LEVEL', flag: 'log-level', type: 'string', help: 'fatal, error, warn, info, debug, trace or silent. Default: info.' },
];
