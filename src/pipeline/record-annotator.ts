// One input record to its output records: decode and check the Document, annotate it (with
// retries), encode the entities and the AnnotatedDocument. Bad input becomes a dead letter; an
// unavailable inference server or schema registry makes the record wait, never a dead letter.
import { setTimeout as sleep } from 'node:timers/promises';
import { backOff, backoffMs, type Backoff } from '../backoff.js';
import { annotatedDocumentType, entityRecordType, toAvroAnnotated } from '../domain/avro.js';
import { deadLetter, type DeadLetterReason } from '../domain/dead-letter.js';
import type { OutputMessage, SourceRecord, Topics } from '../domain/records.js';
import { RegistryUnavailableError, UnknownSchemaError, type SchemaRegistry } from '../domain/schema-registry.js';
import type { AnnotatedDocument, Document } from '../domain/types.js';
import { decodeDocumentBytes, encodeFramed } from '../domain/wire-format.js';
import { InferenceUnavailableError } from '../inference/model-backend.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { TooManySentencesError, type Annotator } from './annotator.js';

/** While no inference server or registry answers, a document waits 1 s, doubling up to 30 s: gentle on servers that restart. */
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
  log: (message: string) => void;
  /** True once the worker shuts down: retries stop and the record is abandoned, not committed. */
  stopping: () => boolean;
}

/** Why a record becomes a dead letter: a value returned, never thrown, so every refusal takes the same path. */
class Rejected {
  constructor(readonly reason: DeadLetterReason, readonly message: string) {}
}

/** Thrown when shutdown ends a wait: the record stays uncommitted and is consumed again. */
class AbandonedError extends Error {}

export class RecordAnnotator {
  constructor(private readonly options: RecordAnnotatorOptions) {}

  /** Bad input is a dead letter and an unavailable dependency a wait; it rejects when shutdown abandons the record, or on a fault of the worker itself. */
  readonly handle = async (record: SourceRecord): Promise<OutputMessage[]> => {
    const { metrics, topics } = this.options;
    // A tombstone (null value) deletes a key in a compacted topic: there is no document to annotate.
    if (record.value === null) {
      metrics.documents.inc({ outcome: 'tombstone' });
      return [];
    }
    const decoded = await this.decode(record);
    const outcome = decoded instanceof Rejected ? decoded : await this.annotateWithRetries(decoded);
    if (outcome instanceof Rejected) {
      metrics.deadLetters.inc({ reason: outcome.reason });
      metrics.documents.inc({ outcome: 'dead_lettered' });
      return [deadLetter(topics.deadLetters, record, outcome.reason, outcome.message)];
    }
    this.count(outcome);
    return this.whileRegistryDown(record, () => this.encode(outcome));
  };

  private async decode(record: SourceRecord): Promise<Document | Rejected> {
    if (!record.value || record.value.length === 0) return new Rejected('undecodable', 'empty message');
    let document: Document;
    try {
      document = await this.whileRegistryDown(record, () => decodeDocumentBytes(this.options.registry, record.value!));
    } catch (error) {
      if (error instanceof AbandonedError) throw error;
      const reason = error instanceof UnknownSchemaError ? 'unknown_schema' : 'undecodable';
      return new Rejected(reason, `not an Avro Document: ${(error as Error).message}`);
    }
    if (document.id.trim() === '') return new Rejected('invalid_document', 'document id is empty');
    if (document.text.trim() === '') return new Rejected('empty_text', `document ${document.id} has no text`);
    if (document.text.includes('\0')) return new Rejected('invalid_document', `document ${document.id} has NUL characters in its text (binary data?)`);
    if (document.text.length > this.options.maxDocumentChars) {
      return new Rejected('oversized_text',
        `document ${document.id} has ${document.text.length} characters; the limit is ${this.options.maxDocumentChars}`);
    }
    // No types: the defaults. Unknown or repeated ones: refused as annotate and serve refuse them.
    const problem = document.types?.length ? this.options.entityTypes.typeListProblem(document.types) : undefined;
    return problem === undefined ? document : new Rejected('invalid_document', `document ${document.id}: ${problem}`);
  }

  /** An unavailable registry is not the record's fault: it waits for the registry while the worker runs. */
  private async whileRegistryDown<T>(record: SourceRecord, work: () => Promise<T>): Promise<T> {
    for (let waits = 0; ; waits++) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof RegistryUnavailableError)) throw error;
        if (this.options.stopping()) throw new AbandonedError(`shutting down: offset ${record.offset} not finished`);
        this.options.metrics.registryUnavailable.inc();
        const wait = backoffMs(waits, UNAVAILABLE_BACKOFF);
        this.options.log(`partition ${record.partition} offset ${record.offset} waits ${wait} ms for the schema registry: ${error.message}`);
        await sleep(wait);
      }
    }
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
        if (error instanceof TooManySentencesError) return new Rejected('too_many_sentences', error.message);
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
