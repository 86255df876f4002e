// What a subscriber does: reads AnnotatedDocuments from an output topic until a number of
// distinct documents are complete. The demo and the serving benchmark wait on it.
import type { Kafka } from 'kafkajs';
import { decodeAnnotatedDocument } from '../domain/avro.js';
import type { AnnotatedDocument } from '../domain/types.js';
import { avroBody } from '../domain/wire-format.js';

export async function readAnnotated(
  kafka: Kafka,
  topic: string,
  expected: number,
  onProgress?: (received: number) => void,
): Promise<AnnotatedDocument[]> {
  const consumer = kafka.consumer({ groupId: `bioner-reader-${process.pid}-${Date.now()}` });
  const received = new Map<string, AnnotatedDocument>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const annotated = decodeAnnotatedDocument(avroBody(message.value!));
          received.set(annotated.document.id, annotated);
          onProgress?.(received.size);
          if (received.size >= expected) resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return [...received.values()];
}
