import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoupeError } from '@loupe/contracts';

/** What the server needs of the app it hands over to: Fastify's request handler and its socket timeouts. */
export interface RoutingApp {
  routing(request: http.IncomingMessage, response: http.ServerResponse): void;
  readonly initialConfig: { readonly keepAliveTimeout?: number; readonly requestTimeout?: number; readonly connectionTimeout?: number };
}

export interface EarlyServer {
  readonly url: string;
  /** From now on every request goes to the app, which must be ready (its routes compiled). */
  handOff(app: RoutingApp): void;
  /** Stops accepting connections and closes the idle ones; resolves when the last one ended. */
  close(): Promise<void>;
}

const json = (response: http.ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...(status === 503 && { 'retry-after': '1' }) });
  response.end(JSON.stringify(body));
};

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const STARTING_METRICS = [
  '# HELP loupe_starting Whether the process is still loading its services: its full metrics follow once they are loaded',
  '# TYPE loupe_starting gauge',
  'loupe_starting 1',
  '',
].join('\n');

/**
 * Opens the port before the services load: loading their modules, compiling the API's schemas
 * and warming models take seconds, and an orchestrator that sees no /healthz by then restarts
 * the process. Until the app takes over, /healthz says the process lives, /readyz that it is
 * starting, /metrics that it is starting, and every other route answers 503 with LOUPE_ERR_NOT_READY. The same socket then
 * serves the app: no moment where the port is closed between the two.
 */
export async function listenEarly(opts: { port: number; host: string }): Promise<EarlyServer> {
  let app: RoutingApp | undefined;
  const server = http.createServer((request, response) => {
    if (app) return app.routing(request, response);
    const route = request.url?.split('?')[0];
    if (request.method === 'GET' && route === '/healthz') return json(response, 200, { status: 'ok' });
    if (request.method === 'GET' && route === '/readyz') return json(response, 503, { status: 'starting', services: {} });
    // A scrape while models load finds the target up and starting, not failing.
    if (request.method === 'GET' && route === '/metrics') return void response.writeHead(200, { 'content-type': PROMETHEUS_TEXT }).end(STARTING_METRICS);
    json(response, 503, new LoupeError('LOUPE_ERR_NOT_READY', 'loupe is starting: its services are loading').toJSON());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    handOff(ready) {
      // Fastify sets these on a server it creates itself; this one is ours, so they are carried over.
      const { keepAliveTimeout, requestTimeout, connectionTimeout } = ready.initialConfig;
      if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
      if (requestTimeout !== undefined) server.requestTimeout = requestTimeout;
      if (connectionTimeout !== undefined) server.timeout = connectionTimeout;
      app = ready;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
