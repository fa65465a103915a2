/**
 * The --metrics endpoint (main thread): GET /metrics (Prometheus text), /stats (the snapshot as
 * JSON), /health (200 ok / 200 degraded / 503 down). Each request takes a fresh snapshot.
 */
import http from 'node:http';
import { once } from 'node:events';
import { formatHostPort } from '../config/address.js';
import { RelayError } from '../errors.js';
import { health } from './health.js';
import { renderPrometheus } from './prometheus.js';
import type { Snapshot } from './snapshot-types.js';

/** The Prometheus text format's content type. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Starts the endpoint on host:port; resolves with the server and its bound address (http://HOST:PORT). */
export async function serveMetrics(host: string, port: number, snapshot: () => Promise<Snapshot>): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const reply = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
    };
    const routes: Record<string, (s: Snapshot) => void> = {
      '/metrics': (s) => reply(200, PROMETHEUS_CONTENT_TYPE, renderPrometheus(s)),
      '/stats': (s) => reply(200, 'application/json', `${JSON.stringify(s)}\n`),
      '/health': (s) => {
        const { httpStatus, body } = health(s);
        reply(httpStatus, 'application/json', `${JSON.stringify(body)}\n`);
      },
    };
    const route = routes[path ?? ''];
    if (!route) {
      reply(404, 'text/plain', 'not found: try /metrics, /stats or /health\n');
      return;
    }
    snapshot().then(route, (error: Error) => reply(500, 'text/plain', `${error.message}\n`));
  });
  server.listen(port, host);
  try {
    // once() rejects with the server's 'error' (EADDRINUSE, EACCES…) if that comes first.
    await once(server, 'listening');
  } catch (error) {
    throw new RelayError('ERR_METRICS_BIND', `cannot serve --metrics on ${formatHostPort(host, port)}: ${(error as Error).message}`, { cause: error });
  }
  const bound = server.address() as { address: string; port: number };
  return { server, url: `http://${formatHostPort(bound.address, bound.port)}` };
}
