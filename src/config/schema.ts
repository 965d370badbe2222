import { z } from 'zod';
import { patternProblem } from '../auth/rules.js';
import { JWT_ALGORITHMS, type Config } from './defaults.js';

const realmName = z.string().regex(/^([^\s.#\u0000]+\.)*([^\s.#\u0000]+)$/, 'must be a WAMP URI such as realm1 or com.example');

/** A rule pattern: checked here, so that a bad one stops start-up with its key named. */
const rulePattern = z.string().superRefine((value, ctx) => {
  const problem = patternProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const patternList = z.array(rulePattern).optional();
const actionPatterns = z.strictObject({ publish: patternList, subscribe: patternList, call: patternList, register: patternList });
const roleRules = z.strictObject({ allow: actionPatterns.optional(), deny: actionPatterns.optional() });

const realmOptions = z.strictObject({
  uriCheck: z.enum(['loose', 'strict']).optional(),
  roles: z.record(z.string().min(1), roleRules).optional(),
});

/** The validated shape of the merged configuration; unknown keys are refused. */
export const configSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535),
  realm: realmName,
  realms: z.record(realmName, realmOptions),
  allowAnonymous: z.boolean().optional(),
  anonymousRole: z.string().min(1),
  defaultProtocol: z.enum(['wamp.2.json', 'wamp.2.cbor']).optional(),
  callTimeout: z.number().int().min(0).max(2_000_000),
  jwt: z.strictObject({
    secret: z.string().min(1).optional(),
    publicKeys: z.array(z.string().min(1)),
    jwks: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1),
    clockToleranceSec: z.number().int().min(0),
    enforceExpiry: z.boolean(),
    expiryGraceSec: z.number().int().min(0),
    claims: z.strictObject({
      authid: z.string().min(1),
      authrole: z.string().min(1),
      realm: z.string().min(1),
      permissions: z.string().min(1),
    }),
    defaultRole: z.string().min(1),
    cookie: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a cookie name'),
  }),
  mqtt: z.strictObject({
    port: z.number().int().min(0).max(65535),
    tlsPort: z.number().int().min(0).max(65535),
    maxKeepalive: z.number().int().min(0).max(65535),
    maxPacketSize: z.number().int().min(1024).max(268_435_460),
    maxInflight: z.number().int().min(1).max(65535),
    maxQueued: z.number().int().min(0),
    maxSubscriptions: z.number().int().min(0),
    topicAliasMaximum: z.number().int().min(0).max(65535),
    maxTopicLength: z.number().int().min(1).max(65535),
    maxTopicLevels: z.number().int().min(1),
    maxSessionExpiry: z.number().int().min(0).max(4_294_967_295),
    requireUsernameMatch: z.boolean(),
    sysInterval: z.number().int().min(0),
  }),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    pretty: z.boolean().optional(),
  }),
  limits: z.strictObject({
    maxMessageSize: z.number().int().min(1024),
    handshakeTimeoutSec: z.number().int().min(0).max(3600),
    maxConnections: z.number().int().min(0),
    connectionRatePerIp: z.number().min(0),
    connectionRate: z.number().min(0),
    slowConsumerBytes: z.number().int().min(1024),
    maxBufferedBytes: z.number().int().min(1024),
  }),
  heartbeat: z.strictObject({
    intervalSec: z.number().int().min(0).max(3600),
    timeoutSec: z.number().int().min(1).max(86400),
  }),
  allowedOrigins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, "must be '*' or an origin such as https://app.example.com")),
  shutdownTimeoutSec: z.number().int().min(0).max(3600),
  compression: z.strictObject({ enabled: z.boolean(), thresholdBytes: z.number().int().min(0) }),
  tls: z
    .strictObject({
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
      clientCa: z.string().min(1).optional(),
      requireClientCert: z.boolean(),
      clientCertRole: z.string().min(1),
    })
    .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), 'tls.cert and tls.key go together: set both or neither'),
  store: z.strictObject({
    engine: z.enum(['lmdb', 'memory']),
    dataDir: z.string().min(1),
    fsync: z.enum(['always', 'batch', 'os']),
    batchMs: z.number().int().min(1).max(10_000),
  }),
  serveStatic: z.string().min(1).optional(),
  metrics: z.strictObject({ enabled: z.boolean(), port: z.number().int().min(0).max(65535) }),
}) satisfies z.ZodType<Config>;
