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

export class UnknownSchemaError extends Error {}

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

/** Confluent Schema Registry REST API: register subjects, fetch schemas by id; both cached. */
export class HttpSchemaRegistry implements SchemaRegistry {
  private readonly ids = new Map<string, Promise<number>>();
  private readonly types = new Map<number, Promise<avro.Type>>();

  constructor(
    private readonly url: string,
    private readonly authorization?: string,
  ) {}

  idFor(schema: WireSchema, topic: string): Promise<number> {
    const subject = `${topic}-value`;
    if (!this.ids.has(subject)) {
      // Defaults and docs must travel: the registry's compatibility check needs the defaults of added fields.
      const body = JSON.stringify({ schema: JSON.stringify(LOCAL_TYPES[schema].schema({ exportAttrs: true })) });
      this.ids.set(subject, this.request(`/subjects/${encodeURIComponent(subject)}/versions`, body).then((r) => r.id as number));
    }
    return this.ids.get(subject)!;
  }

  typeFor(id: number): Promise<avro.Type> {
    if (!this.types.has(id)) {
      const type = this.request(`/schemas/ids/${id}`).then((r) => avro.Type.forSchema(JSON.parse(r.schema as string)));
      type.catch(() => this.types.delete(id)); // a failed lookup may succeed later
      this.types.set(id, type);
    }
    return this.types.get(id)!;
  }

  private async request(path: string, body?: string): Promise<Record<string, unknown>> {
    const response = await fetch(new URL(path, this.url), {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        'content-type': 'application/vnd.schemaregistry.v1+json',
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      body,
    });
    if (response.status === 404) throw new UnknownSchemaError(`schema registry has no ${path}`);
    if (!response.ok) throw new Error(`schema registry ${path}: HTTP ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }
}
