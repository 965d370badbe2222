/**
 * The composition root: the only place that knows every part. It builds the core, authentication, the
 * protocol modules and the listeners from a validated Config, and tears them down in order.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createMqttModule } from '../protocols/mqtt/index.js';
import { createWampModule } from '../protocols/wamp/index.js';
import { createAuthorizer } from './auth/authorizer.js';
import { JwtAuthenticator } from './auth/jwt.js';
import { hasAnyKey, loadKeys } from './auth/keys.js';
import { RouterAuth } from './auth/service.js';
import { extractUpgradeToken } from './auth/token-source.js';
import type { Config } from './config/defaults.js';
import { Router } from './core/router.js';
import { openStore } from './store/open.js';
import { createLogger } from './observability/logger.js';
import type { ModuleContext, ProtocolModule } from './port.js';
import { PrometheusMetrics, routerStats } from './observability/prometheus.js';
import { createHttpServer, createMetricsServer } from './transport/http.js';
import type { Server as TlsServer } from 'node:tls';
import { Admission } from './transport/admission.js';
import { loadTlsMaterial, secureContextOptions } from './transport/tls.js';
import { cookieOriginAllowed } from './transport/origin.js';
import { TcpListener } from './transport/tcp.js';
import { WebSocketListener } from './transport/websocket.js';

export interface StartOptions {
  /** A logger to use instead of one built from `config.log`. */
  logger?: Logger;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** MQTT over TCP port, or undefined when that listener is off. */
  readonly mqttPort: number | undefined;
  /** MQTT over TLS port, or undefined when TLS is not configured or that listener is off. */
  readonly mqttTlsPort: number | undefined;
  /** Reads the TLS certificate and key again; new connections use them. False when TLS is not configured. */
  reloadTls(): boolean;
  /** `ws://host:port/` */
  readonly url: string;
  readonly router: Router;
  readonly developmentMode: boolean;
  /**
   * Applies new authorization rules (the realms' `roles`) without dropping connections: new operations follow
   * them at once, and subscriptions and registrations they no longer allow are removed. Throws on a bad rule,
   * keeping the old ones.
   */
  reloadAuthorization(realms: Config['realms']): { revoked: number };
  /** Says goodbye to every session, closes the listeners and resolves when they are closed. */
  close(): Promise<void>;
}

/** True when nothing about authentication was configured: the router then runs in development mode. */
export function isDevelopmentMode(config: Config): boolean {
  return !hasAnyKey(config.jwt) && config.allowAnonymous === undefined;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY === true });
  const developmentMode = isDevelopmentMode(config);
  const host = config.host ?? (developmentMode ? '127.0.0.1' : '0.0.0.0');

  const tokens = hasAnyKey(config.jwt) ? new JwtAuthenticator(config.jwt, await loadKeys(config.jwt)) : undefined;
  const auth = new RouterAuth({
    tokens,
    anonymousAllowed: config.allowAnonymous ?? developmentMode,
    anonymousRole: config.anonymousRole,
    certificateRole: config.tls.clientCertRole,
  });
  if (developmentMode) {
    const where = isLoopback(host)
      ? 'it listens on loopback only'
      : `it listens on ${host}, reachable from other machines, because the host was set explicitly`;
    log.warn(
      { host },
      `DEVELOPMENT MODE: no authentication is configured, so anonymous clients may do everything, and ${where}. ` +
        'Configure jwt.* (or allowAnonymous) before exposing it.',
    );
  } else if (!auth.tokensEnabled && !auth.anonymousAllowed) {
    log.warn('no JWT keys are configured and anonymous access is off: no client can log in');
  }
  const authorizer = createAuthorizer({ realms: config.realms, permissionsClaim: config.jwt.claims.permissions });
  if (!authorizer.hasRules) {
    log.warn('no authorization rules are configured: every admitted session may publish, subscribe, call and register');
  }

  // Opened first: a damaged store stops start-up before any port is taken.
  const store = openStore(config.store, log);
  const metrics = new PrometheusMetrics({ router: () => routerStats(router)() });
  const router: Router = new Router(
    authorizer,
    {
      joined: (session) => log.debug({ session: session.id, realm: session.realm.name }, 'session joined realm'),
      left: (session) => log.debug({ session: session.id, realm: session.realm.name }, 'session left realm'),
    },
    (realm) => store.retained(realm),
    metrics,
  );
  const realmDefaults = {
    tokenExpiryGraceMs: config.jwt.enforceExpiry ? config.jwt.expiryGraceSec * 1000 : undefined,
    callTimeoutMs: config.callTimeout * 1000,
  };
  router.addRealm(config.realm, { uriCheck: config.realms[config.realm]?.uriCheck ?? 'loose', ...realmDefaults });
  for (const [name, realmOptions] of Object.entries(config.realms)) {
    router.addRealm(name, { uriCheck: realmOptions.uriCheck ?? 'loose', ...realmDefaults });
  }

  const context: ModuleContext = {
    realm: (name) => router.realm(name),
    realmNames: () => router.realmNames,
    defaultRealm: config.realm,
    auth,
    log,
    handshakeTimeoutMs: config.limits.handshakeTimeoutSec * 1000,
    metrics,
    backpressure: { softBytes: config.limits.slowConsumerBytes, hardBytes: config.limits.maxBufferedBytes },
    persistence: store,
  };
  const mqtt = createMqttModule(context, config.mqtt);
  const modules: ProtocolModule[] = [createWampModule(context), mqtt];

  const admission = new Admission({
    maxConnections: config.limits.maxConnections,
    ratePerIp: config.limits.connectionRatePerIp,
    rate: config.limits.connectionRate,
  });
  const listener = new WebSocketListener({
    modules,
    defaultProtocol: config.defaultProtocol,
    maxMessageSize: config.limits.maxMessageSize,
    compression: config.compression.enabled ? { thresholdBytes: config.compression.thresholdBytes } : undefined,
    log,
    admission,
    metrics,
    allowedOrigins: config.allowedOrigins,
    allowAllOrigins: developmentMode,
    heartbeat: { intervalMs: config.heartbeat.intervalSec * 1000, timeoutMs: config.heartbeat.timeoutSec * 1000 },
    upgradeAuth: (request) => {
      const token = extractUpgradeToken(request, config.jwt.cookie, (req) =>
        cookieOriginAllowed(req.headers.origin, req.headers.host, config.allowedOrigins),
      );
      return token === undefined ? undefined : auth.verifyToken(token, 'jwt');
    },
  });
  const startedAt = Date.now();
  let stopping = false;
  const scrape = async () => ({ contentType: metrics.contentType, body: await metrics.text() });
  const tlsFiles =
    config.tls.cert !== undefined && config.tls.key !== undefined ? { cert: config.tls.cert, key: config.tls.key } : undefined;
  // The main port asks wss clients for a certificate too, but never requires one: browsers, health checks and
  // token logins use the same port.
  const httpTlsFiles = tlsFiles === undefined ? undefined : { ...tlsFiles, clientCa: config.tls.clientCa };
  const tlsMaterial = httpTlsFiles === undefined ? undefined : loadTlsMaterial(httpTlsFiles);
  // MQTT over TLS may also ask devices for client certificates.
  const mqttTlsFiles = tlsFiles === undefined ? undefined : { ...tlsFiles, clientCa: config.tls.clientCa, requireClientCert: config.tls.requireClientCert };
  const http = createHttpServer({
    notReady: () => (stopping ? 'shutting down' : undefined),
    ...(config.metrics.enabled && config.metrics.port === 0 ? { metrics: scrape } : {}),
    ...(config.serveStatic !== undefined ? { staticDir: config.serveStatic } : {}),
    health: () => ({
      status: 'ok',
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
      connections: listener.connections.size,
      sessions: router.sessionCount,
    }),
  }, tlsMaterial);
  http.on('upgrade', (request, socket, head) => listener.handleUpgrade(request, socket, head));
  http.on('clientError', (error, socket) => {
    log.debug({ err: error.message }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  try {
    await listen(http, config.port, host);
  } catch (error) {
    await store.close();
    throw error;
  }
  const port = (http.address() as AddressInfo).port;
  let tcp: TcpListener | undefined;
  let mqttPort: number | undefined;
  if (config.mqtt.port > 0) {
    tcp = new TcpListener({ module: mqtt, protocol: 'mqtt', log, idPrefix: 't', admission, metrics });
    try {
      mqttPort = await tcp.listen(config.mqtt.port, host);
    } catch (error) {
      http.close();
      await store.close();
      throw error;
    }
  }
  let mqttTls: TcpListener | undefined;
  let mqttTlsPort: number | undefined;
  if (tlsMaterial !== undefined && config.mqtt.tlsPort > 0) {
    const withClientCerts = loadTlsMaterial(mqttTlsFiles!);
    mqttTls = new TcpListener({ module: mqtt, protocol: 'mqtt', log, idPrefix: 's', admission, metrics, tls: withClientCerts });
    try {
      mqttTlsPort = await mqttTls.listen(config.mqtt.tlsPort, host);
    } catch (error) {
      http.close();
      await tcp?.close(0);
      await store.close();
      throw error;
    }
  }
  let metricsServer: Server | undefined;
  if (config.metrics.enabled && config.metrics.port > 0) {
    metricsServer = createMetricsServer(scrape);
    await listen(metricsServer, config.metrics.port, host);
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log.info(
    {
      host,
      port,
      tls: tlsMaterial !== undefined,
      mqttPort: mqttPort ?? null,
      mqttTlsPort: mqttTlsPort ?? null,
      realm: config.realm,
      protocols: modules.flatMap((m) => m.subprotocols),
    },
    'switchboard listening',
  );

  return {
    host,
    port,
    mqttPort,
    mqttTlsPort,
    url: `${tlsMaterial === undefined ? 'ws' : 'wss'}://${urlHost}:${port}/`,
    router,
    developmentMode,
    reloadTls: () => {
      if (httpTlsFiles === undefined) return false;
      (http as unknown as TlsServer).setSecureContext(secureContextOptions(loadTlsMaterial(httpTlsFiles)));
      mqttTls?.setSecureContext(loadTlsMaterial(mqttTlsFiles!));
      log.info('TLS certificate reloaded');
      return true;
    },
    reloadAuthorization: (realms) => {
      authorizer.reload(realms);
      const revoked = router.revalidate();
      log.info({ revoked, rules: authorizer.hasRules }, 'authorization rules reloaded');
      return { revoked };
    },
    close: async () => {
      // Readiness goes first, so a load balancer stops sending clients here; then every session is told.
      stopping = true;
      listener.close();
      for (const module of modules) module.shutdown?.('wamp.close.system_shutdown');
      await Promise.all([
        closeHttp(http, listener, config.shutdownTimeoutSec * 1000),
        tcp?.close(config.shutdownTimeoutSec * 1000),
        mqttTls?.close(config.shutdownTimeoutSec * 1000),
      ]);
      if (metricsServer !== undefined) await new Promise((resolve) => metricsServer!.close(resolve));
      metrics.stop();
      // Last: the modules may still have written while their sessions closed.
      await store.close();
      log.info('switchboard stopped');
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, gives connections a moment to finish their closing handshakes, then drops the rest. */
async function closeHttp(server: Server, listener: WebSocketListener, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + graceMs;
  while (listener.connections.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const connection of listener.connections) connection.terminate('shutdown deadline');
  server.closeAllConnections();
  await closed;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
