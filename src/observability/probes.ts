// /metrics for Prometheus, /healthz for liveness, /readyz for readiness (Kubernetes probes): one
// handler, which the worker serves on a port of its own and the inference server next to its API.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** False once the process cannot recover by itself: the pod should be restarted. */
  healthy(): boolean;
  /** True while the process takes work (the worker: in its group, with its model loaded). */
  ready(): boolean;
}

/** Answers a probe path; false for any other path, which is left to the caller. */
export async function answerProbe(path: string, response: ServerResponse, registry: Registry, health: HealthSource): Promise<boolean> {
  if (path === '/metrics') {
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(await registry.metrics());
    return true;
  }
  if (path !== '/healthz' && path !== '/readyz') return false;
  const ok = path === '/healthz' ? health.healthy() : health.ready();
  response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
  response.end(ok ? 'ok\n' : 'not ok\n');
  return true;
}

/** A server for the probes alone. */
export async function startProbeServer(port: number, host: string, registry: Registry, health: HealthSource): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (!(await answerProbe(path, response, registry, health))) response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
