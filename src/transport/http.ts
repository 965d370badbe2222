import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { serveStaticFile } from './static-files.js';
import { tlsServerOptions, type TlsMaterial } from './tls.js';

/** The router's own paths: a served directory never answers them, whatever files it holds. */
const RESERVED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface HttpRoutes {
  /** Body of GET /healthz (liveness: the process answers). */
  health(): Record<string, unknown>;
  /** GET /readyz (readiness): why the router is not ready to take connections, or undefined when it is. */
  notReady(): string | undefined;
  /** GET /metrics in Prometheus text format, when served on this port. */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** A directory whose files GET requests for other paths are answered from (`serveStatic`). */
  staticDir?: string;
}

/** A server that only answers GET /metrics, for `metrics.port`. */
export function createMetricsServer(metrics: () => Promise<{ contentType: string; body: string }>): Server {
  return createServer((request, response) => {
    if (request.method === 'GET' && (request.url ?? '').split('?')[0] === '/metrics') {
      serveMetrics(response, metrics);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('not found\n');
  });
}

function serveMetrics(response: ServerResponse, metrics: () => Promise<{ contentType: string; body: string }>): void {
  metrics().then(
    ({ contentType, body }) => {
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      response.end(body);
    },
    () => {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('metrics unavailable\n');
    },
  );
}

/**
 * The HTTP side of the one port: health, readiness and metrics endpoints, the `serveStatic` directory, and a hint
 * for browsers that open it as a page. WebSocket upgrades never reach this handler (the server's `upgrade` event
 * takes them), so static files cannot shadow them. With TLS material it is HTTPS, and upgrades on it are `wss://`.
 */
export function createHttpServer(routes: HttpRoutes, tls?: TlsMaterial): Server {
  const handler: RequestListener = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method === 'GET' && path === '/healthz') {
      const body = JSON.stringify(routes.health());
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(body);
      return;
    }
    if (request.method === 'GET' && path === '/metrics' && routes.metrics !== undefined) {
      serveMetrics(response, routes.metrics);
      return;
    }
    if (request.method === 'GET' && path === '/readyz') {
      const why = routes.notReady();
      response.writeHead(why === undefined ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(why === undefined ? { status: 'ready' } : { status: 'not ready', reason: why }));
      return;
    }
    const { staticDir } = routes;
    if (staticDir !== undefined && (request.method === 'GET' || request.method === 'HEAD') && !RESERVED_PATHS.has(path)) {
      serveStaticFile(staticDir, request, response).then(
        (answered) => {
          if (!answered) fallback(request, response, path);
        },
        () => {
          if (!response.headersSent) {
            response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
            response.end('internal error\n');
          } else response.destroy();
        },
      );
      return;
    }
    fallback(request, response, path);
  };
  // An HTTPS server is an HTTP server for everything used here (upgrade, close, closeAllConnections).
  return tls === undefined ? createServer(handler) : (createHttpsServer(tlsServerOptions(tls), handler) as unknown as Server);
}

/** What a path no route and no static file answers gets: a hint on `/`, else 404. */
function fallback(request: IncomingMessage, response: ServerResponse, path: string): void {
  if (request.method === 'GET' && path === '/') {
    response.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
    response.end('Switchboard: connect with WebSocket, subprotocol wamp.2.json, wamp.2.cbor or mqtt.\n');
    return;
  }
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  response.end('not found\n');
}
