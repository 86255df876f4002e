// A real Schema Registry for the tests that need one (Apicurio's Confluent-compatible API):
// scripts/schema-registry.mjs starts it; a test stops it.
import { projectPath } from '../../src/project.js';

export interface Registry {
  /** Base URL of the Confluent-compatible API: http://127.0.0.1:PORT/apis/ccompat/v7 */
  url: string;
  port: number;
  dataDir: string;
  /** `keepData` keeps dataDir, so startRegistry({ port, dataDir }) brings back its schemas and ids. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

const registryScript: string = projectPath('scripts', 'schema-registry.mjs');

export async function startRegistry(options: { port?: number; dataDir?: string } = {}): Promise<Registry> {
  const { startRegistry: start } = await import(registryScript);
  return start(options);
}
