// A real Schema Registry for the tests that need one (Apicurio's Confluent-compatible API):
// scripts/schema-registry.mjs starts it; a test stops it.
import type avro from 'avsc';
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

/** What another producer does: registers `schema` under `subject`; resolves to its id. */
export async function registerSchema(url: string, subject: string, schema: avro.Schema): Promise<number> {
  const response = await fetch(`${url}/subjects/${subject}/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  if (!response.ok) throw new Error(`register ${subject}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

/** `value` written with `type`, framed with a registry's schema id (Confluent wire format). */
export function framedWithId(id: number, type: avro.Type, value: unknown): Buffer {
  const header = Buffer.from([0, 0, 0, 0, 0]);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}
