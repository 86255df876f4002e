// The Schema Registry client against a real registry: Apicurio Registry's Confluent-compatible
// API, started by scripts/schema-registry.mjs, with its base path in the URL.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import avro from 'avsc';
import { documentType, entityRecordType, toAvroDocument } from '../src/domain/avro.js';
import { HttpSchemaRegistry, RegistryUnavailableError, UnknownSchemaError } from '../src/domain/schema-registry.js';
import type { Document } from '../src/domain/types.js';
import { decodeDocumentBytes } from '../src/domain/wire-format.js';
import { workerConfig } from '../src/cli/run-command.js';
import { projectPath, readJson } from '../src/project.js';
import { framedWithId, registerSchema, startRegistry, type Registry } from './support/schema-registry.js';

const JSON_TYPE = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
let registry: Registry;

before(async () => {
  registry = await startRegistry();
});
after(() => registry?.stop());

/** What another producer or an operator does: talk to the registry directly. */
async function registryCall(path: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(registry.url + path, { method, headers: JSON_TYPE, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: HTTP ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as Record<string, unknown>;
}

const client = (url = registry.url, authorization?: string) =>
  new HttpSchemaRegistry(url, { timeoutMs: 2000, ...(authorization ? { authorization } : {}) });

describe('schema registry client on Apicurio Registry', () => {
  test('registers on first publish, as a version the BACKWARD check accepts after the old one', async () => {
    const topic = 'registry-test.entities';
    const subject = `${topic}-value`;
    const oldSchema = readJson<avro.Schema>(projectPath('test', 'fixtures', 'schemas', 'EntityRecord.v1.avsc'));
    const oldVersion = await registryCall(`/subjects/${subject}/versions`, 'POST', { schema: JSON.stringify(avro.Type.forSchema(oldSchema).schema()) });
    await registryCall(`/config/${subject}`, 'PUT', { compatibility: 'BACKWARD' });

    const id = await client().idFor('EntityRecord', topic);
    assert.notEqual(id, oldVersion.id, 'a new version');
    assert.deepEqual(await registryCall(`/subjects/${subject}/versions`, 'GET'), [1, 2]);
    const stored = await registryCall(`/schemas/ids/${id}`, 'GET');
    assert.ok(avro.Type.forSchema(JSON.parse(stored.schema as string)).equals(entityRecordType), 'the registered schema is ours');
    assert.equal(await client().idFor('EntityRecord', topic), id, 'the same id again');
  });

  test('decodes a Document written with an evolved schema registered by another producer', async () => {
    const evolved = JSON.parse(JSON.stringify(documentType.schema())) as { fields: unknown[] };
    evolved.fields.push({ name: 'journal', type: ['null', 'string'], default: null });
    const writer = avro.Type.forSchema(evolved as avro.Schema);
    const id = await registerSchema(registry.url, 'registry-test.documents-value', evolved as avro.Schema);
    const document: Document = { id: 'PMID:1', source: 'pubmed', text: 'Aspirin and fever.' };
    const bytes = framedWithId(id, writer, { ...toAvroDocument(document), journal: 'Lancet' });
    const decoded = await decodeDocumentBytes(client(), bytes);
    assert.equal(decoded.id, 'PMID:1');
    assert.equal(decoded.text, 'Aspirin and fever.');
  });

  test('an unknown id is UnknownSchemaError; no answer is RegistryUnavailableError, and not cached', async () => {
    await assert.rejects(client().typeFor(99_999), UnknownSchemaError);

    // A peer that accepts connections and never answers: the request timeout ends the wait.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/apis/ccompat/v7`;
    try {
      await assert.rejects(client(silentUrl).idFor('Document', 't'), (e: Error) => e instanceof RegistryUnavailableError && /no answer within 2000 ms/.test(e.message));
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }

    // Down, then up on the same port: the failure was not kept.
    const restarted = await startRegistry();
    const flaky = client(restarted.url);
    await restarted.stop({ keepData: true });
    await assert.rejects(flaky.idFor('Document', 'registry-test.flaky'), RegistryUnavailableError);
    const again = await startRegistry({ port: restarted.port, dataDir: restarted.dataDir });
    try {
      assert.ok(await flaky.idFor('Document', 'registry-test.flaky') > 0, 'asked again once the registry is back');
    } finally {
      await again.stop();
    }
  });

  test('--schema-registry-user/-password and --schema-registry-token reach the registry as authorization', async () => {
    // The registry behind a proxy that demands credentials, as deployments put it.
    const seen: string[] = [];
    const upstream = new URL(registry.url);
    const proxy = createHttpServer((request, response) => {
      seen.push(request.headers.authorization ?? '');
      if (!['Basic Ym9iOnMzY3JldA==', 'Bearer t0ken'].includes(request.headers.authorization ?? '')) {
        return response.writeHead(401).end();
      }
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => (response.writeHead(answer.statusCode!, answer.headers), answer.pipe(response)));
      request.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${upstream.pathname}`;
    try {
      const base = ['--model', 'oracle:x', '--schema-registry-url', url];
      const basic = workerConfig([...base, '--schema-registry-user', 'bob'], { BIONER_SCHEMA_REGISTRY_PASSWORD: 's3cret' }).schemaRegistry!;
      const bearer = workerConfig(base, { BIONER_SCHEMA_REGISTRY_TOKEN: 't0ken' }).schemaRegistry!;
      assert.ok(await new HttpSchemaRegistry(basic.url, basic).idFor('Document', 'registry-test.auth') > 0);
      assert.ok(await new HttpSchemaRegistry(bearer.url, bearer).idFor('Document', 'registry-test.auth') > 0);
      await assert.rejects(client(url).idFor('Document', 'registry-test.auth'), /HTTP 401/);
      assert.deepEqual(seen, ['Basic Ym9iOnMzY3JldA==', 'Bearer t0ken', '']);
      assert.throws(() => workerConfig([...base, '--schema-registry-user', 'bob', '--schema-registry-token', 't']), /not both/);
    } finally {
      proxy.close();
    }
  });
});
