// One input record to its output records: decode and check the Document, annotate it (with
// retries), encode the entities and the AnnotatedDocument. Bad input becomes a dead letter.
import { backOff, type Backoff } from '../backoff.js';
import { annotatedDocumentType, entityRecordType, toAvroAnnotated } from '../domain/avro.js';
import { deadLetter, type DeadLetterReason } from '../domain/dead-letter.js';
import type { OutputMessage, SourceRecord, Topics } from '../domain/records.js';
import { UnknownSchemaError, type SchemaRegistry } from '../domain/schema-registry.js';
import type { AnnotatedDocument, Document } from '../domain/types.js';
import { decodeDocumentBytes, encodeFramed } from '../domain/wire-format.js';
import { InferenceUnavailableError } from '../inference/model-backend.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { EntityTypes } from '../stages/entity-types.js';
import type { Annotator } from './annotator.js';

/** While no inference server answers, a document waits 1 s, doubling up to 30 s: gentle on servers that restart. */
const UNAVAILABLE_BACKOFF: Backoff = { baseMs: 1000, capMs: 30_000 };

export interface RecordAnnotatorOptions {
  annotator: Annotator;
  entityTypes: EntityTypes;
  registry: SchemaRegistry;
  topics: Topics;
  maxDocumentChars: number;
  /** Attempts at annotating one document before it becomes a dead letter. */
  attempts: number;
  retryBackoffMs: number;
  metrics: WorkerMetrics;
  /** True once the worker shuts down: retries stop and the record is abandoned, not committed. */
  stopping: () => boolean;
}

class Rejected extends Error {
  constructor(readonly reason: DeadLetterReason, message: string) {
    super(message);
  }
}

class AbandonedError extends Error {}

export class RecordAnnotator {
  constructor(private readonly options: RecordAnnotatorOptions) {}

  readonly handle = async (record: SourceRecord): Promise<OutputMessage[]> => {
    const { metrics, topics } = this.options;
    let document: Document;
    try {
      document = await this.decode(record);
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      metrics.deadLetters.inc({ reason: error.reason });
      metrics.documents.inc({ outcome: 'dead_lettered' });
      return [deadLetter(topics.deadLetters, record, error.reason, error.message)];
    }
    const annotated = await this.annotateWithRetries(document);
    if (annotated instanceof Rejected) {
      metrics.deadLetters.inc({ reason: annotated.reason });
      metrics.documents.inc({ outcome: 'dead_lettered' });
      return [deadLetter(topics.deadLetters, record, annotated.reason, annotated.message)];
    }
    this.count(annotated);
    return this.encode(annotated);
  };

  private async decode(record: SourceRecord): Promise<Document> {
    if (!record.value || record.value.length === 0) throw new Rejected('undecodable', 'empty message');
    let document: Document;
    try {
      document = await decodeDocumentBytes(this.options.registry, record.value);
    } catch (error) {
      const reason = error instanceof UnknownSchemaError ? 'unknown_schema' : 'undecodable';
      throw new Rejected(reason, `not an Avro Document: ${(error as Error).message}`);
    }
    if (document.id.trim() === '') throw new Rejected('invalid_document', 'document id is empty');
    if (document.text.trim() === '') throw new Rejected('empty_text', `document ${document.id} has no text`);
    if (document.text.length > this.options.maxDocumentChars) {
      throw new Rejected('oversized_text',
        `document ${document.id} has ${document.text.length} characters; the limit is ${this.options.maxDocumentChars}`);
    }
    for (const type of document.types ?? []) {
      try {
        this.options.entityTypes.canonical(type);
      } catch (error) {
        throw new Rejected('invalid_document', (error as Error).message);
      }
    }
    return document;
  }

  /**
   * Failures use up the document's attempts, except unavailable inference: that is not the
   * document's fault, so it waits for a server for as long as the worker runs.
   */
  private async annotateWithRetries(document: Document): Promise<AnnotatedDocument | Rejected> {
    const { attempts, retryBackoffMs, metrics } = this.options;
    let lastError: unknown;
    let failures = 0;
    let waits = 0;
    while (failures < attempts) {
      if (this.options.stopping()) throw new AbandonedError(`shutting down: ${document.id} not finished`);
      try {
        return await this.options.annotator.annotate(document);
      } catch (error) {
        if (error instanceof InferenceUnavailableError) {
          metrics.inferenceUnavailable.inc();
          await backOff(waits++, UNAVAILABLE_BACKOFF);
          continue;
        }
        lastError = error;
        if (++failures < attempts) await backOff(failures - 1, { baseMs: retryBackoffMs, capMs: UNAVAILABLE_BACKOFF.capMs });
      }
    }
    if (this.options.stopping()) throw new AbandonedError(`shutting down: ${document.id} not finished`);
    return new Rejected('processing_failed', `failed after ${attempts} attempts: ${(lastError as Error)?.message ?? lastError}`);
  }

  private count(annotated: AnnotatedDocument): void {
    const { metrics } = this.options;
    metrics.documents.inc({ outcome: 'annotated' });
    metrics.sentences.inc(annotated.sentence_count);
    metrics.ungroundedAnswers.inc(annotated.ungrounded_count);
    metrics.invalidAnswers.inc(annotated.invalid_answer_count);
    for (const entity of annotated.entities) metrics.entities.inc({ type: entity.type });
  }

  private async encode(annotated: AnnotatedDocument): Promise<OutputMessage[]> {
    const { registry, topics } = this.options;
    const key = annotated.document.id;
    const entities = await Promise.all(annotated.entities.map(async (entity) => ({
      topic: topics.entities,
      key,
      value: await encodeFramed(registry, 'EntityRecord', topics.entities, entityRecordType, entity),
    })));
    const document = {
      topic: topics.annotated,
      key,
      value: await encodeFramed(registry, 'AnnotatedDocument', topics.annotated, annotatedDocumentType, toAvroAnnotated(annotated)),
    };
    // The AnnotatedDocument goes last: a subscriber that sees it knows the document is complete.
    return [...entities, document];
  }
}
