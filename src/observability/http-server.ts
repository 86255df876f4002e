// /metrics for Prometheus, /healthz for liveness, /readyz for readiness (Kubernetes probes).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** False once the process cannot recover by itself: the pod should be restarted. */
  healthy(): boolean;
  /** True while the worker takes work: in its group, with its model loaded. */
  ready(): boolean;
}

export async function startHttpServer(port: number, registry: Registry, health: HealthSource): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(await registry.metrics());
    } else if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? health.healthy() : health.ready();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      response.end(ok ? 'ok\n' : 'not ok\n');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return server;
}
