// Puts Documents on the input topic as the worker reads them: Avro in the Confluent wire format,
// keyed by document id, so every version of a document lands in one partition, in order.
import { Partitioners, type Kafka } from 'kafkajs';
import { documentType, toAvroDocument } from '../domain/avro.js';
import type { SchemaRegistry } from '../domain/schema-registry.js';
import type { Document } from '../domain/types.js';
import { encodeFramed } from '../domain/wire-format.js';

/** Documents per request; each request waits for every replica's ack. */
const BATCH_SIZE = 100;

/** Sends `documents` in order; `onSent(n)` after each batch the brokers acknowledged. */
export async function produceDocuments(
  kafka: Kafka,
  registry: SchemaRegistry,
  topic: string,
  documents: readonly Document[],
  onSent: (count: number) => void,
): Promise<void> {
  // One request at a time keeps the order through retries; a retried request may write a batch
  // twice, which the worker annotates again with the same entity ids. The Java client's
  // partitioner, so a key lands where Kafka Connect and other producers put it.
  const producer = kafka.producer({ maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < documents.length; i += BATCH_SIZE) {
      const batch = documents.slice(i, i + BATCH_SIZE);
      const messages = await Promise.all(batch.map(async (document) => ({
        key: document.id,
        value: await encodeFramed(registry, 'Document', topic, documentType, toAvroDocument(document)),
      })));
      await producer.send({ topic, messages, acks: -1 });
      onSent(batch.length);
    }
  } finally {
    await producer.disconnect();
  }
}
