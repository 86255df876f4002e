// Schema ids for the Confluent wire format. Without a registry the schemas in schemas/ have
// fixed ids; with one, they are registered under `<topic>-value` and ids are looked up there.
import avro from 'avsc';
import { annotatedDocumentType, documentType, entityRecordType } from './avro.js';

export type WireSchema = 'Document' | 'EntityRecord' | 'AnnotatedDocument';

const LOCAL_TYPES: Record<WireSchema, avro.Type> = {
  Document: documentType,
  EntityRecord: entityRecordType,
  AnnotatedDocument: annotatedDocumentType,
};

/** Ids used when no registry is configured; producers that share them interoperate. */
export const FIXED_SCHEMA_IDS: Record<WireSchema, number> = { Document: 1, EntityRecord: 2, AnnotatedDocument: 3 };

/** The registry does not know the schema id: the message can never be decoded. */
export class UnknownSchemaError extends Error {}

/** The registry did not answer as it should (down, timed out, refused us): a wait may mend it. */
export class RegistryUnavailableError extends Error {}

export interface SchemaRegistry {
  /** The id to frame `schema` with when writing to `topic`. */
  idFor(schema: WireSchema, topic: string): Promise<number>;
  /** The writer schema behind an id read off the wire. */
  typeFor(id: number): Promise<avro.Type>;
}

export class FixedSchemaRegistry implements SchemaRegistry {
  async idFor(schema: WireSchema): Promise<number> {
    return FIXED_SCHEMA_IDS[schema];
  }

  async typeFor(id: number): Promise<avro.Type> {
    const name = (Object.keys(FIXED_SCHEMA_IDS) as WireSchema[]).find((s) => FIXED_SCHEMA_IDS[s] === id);
    if (!name) throw new UnknownSchemaError(`unknown schema id ${id} (no registry configured; known ids 1-3)`);
    return LOCAL_TYPES[name];
  }
}

export interface HttpRegistryOptions {
  /** An `authorization` header value: `Basic …` or `Bearer …`. */
  authorization?: string;
  /** Bound on each request. */
  timeoutMs: number;
}

/**
 * Confluent Schema Registry REST API (also Apicurio's `/apis/ccompat/v7`): registers subjects,
 * fetches schemas by id. Answers are cached; failures are not, so a later call asks again.
 */
export class HttpSchemaRegistry implements SchemaRegistry {
  private readonly ids = new Map<string, Promise<number>>();
  private readonly types = new Map<number, Promise<avro.Type>>();
  private readonly base: string;

  constructor(url: string, private readonly options: HttpRegistryOptions) {
    this.base = url.replace(/\/+$/, ''); // paths append to it: a base path such as /apis/ccompat/v7 stays
  }

  idFor(schema: WireSchema, topic: string): Promise<number> {
    const subject = `${topic}-value`;
    return cached(this.ids, subject, () => {
      // Defaults and docs must travel: the registry's compatibility check needs the defaults of added fields.
      const body = JSON.stringify({ schema: JSON.stringify(LOCAL_TYPES[schema].schema({ exportAttrs: true })) });
      return this.request(`/subjects/${encodeURIComponent(subject)}/versions`, body).then((r) => r.id as number);
    });
  }

  typeFor(id: number): Promise<avro.Type> {
    return cached(this.types, id, () => this.request(`/schemas/ids/${id}`).then((r) => avro.Type.forSchema(JSON.parse(r.schema as string))));
  }

  private async request(path: string, body?: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          'content-type': 'application/vnd.schemaregistry.v1+json',
          ...(this.options.authorization ? { authorization: this.options.authorization } : {}),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const cause = (error as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : describe(error);
      throw new RegistryUnavailableError(`schema registry ${this.base}${path}: ${cause}`);
    }
    if (response.status === 404 && body === undefined) throw new UnknownSchemaError(`schema registry has no ${path}`);
    if (!response.ok) {
      const detail = (await response.text().catch(() => '')).slice(0, 200);
      throw new RegistryUnavailableError(`schema registry ${this.base}${path}: HTTP ${response.status} ${detail}`.trimEnd());
    }
    return (await response.json()) as Record<string, unknown>;
  }
}

/** Where the registry is, if there is one. */
export type SchemaRegistrySettings = HttpRegistryOptions & { url: string };

/** The registry at `settings.url`, or the fixed ids when none is configured. */
export function createSchemaRegistry(settings: SchemaRegistrySettings | undefined): SchemaRegistry {
  return settings ? new HttpSchemaRegistry(settings.url, settings) : new FixedSchemaRegistry();
}

/** The cached promise for `key`, made by `make` unless one is cached; a rejected one is dropped. */
function cached<K, V>(cache: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    value.catch(() => cache.delete(key));
    cache.set(key, value);
  }
  return value;
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, …) in its cause. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
