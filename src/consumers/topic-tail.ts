// What `bioner-stream tail` reads: a topic's records as they arrive, under a throwaway group
// that never commits, so a tail neither joins nor moves the worker's group.
import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';
import type { SourceRecord } from '../domain/records.js';

export type TailedRecord = SourceRecord & { headers: Record<string, string> };

/**
 * Hands each record of `topic` to `onRecord`, one at a time (in order within a partition),
 * until `stop` is aborted; then leaves. Rejects if the consumer fails for good.
 */
export async function tailTopic(
  kafka: Kafka,
  topic: string,
  options: { fromBeginning: boolean; stop: AbortSignal },
  onRecord: (record: TailedRecord) => Promise<void>,
): Promise<void> {
  const { fromBeginning, stop } = options;
  const consumer = kafka.consumer({ groupId: `bioner-tail-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning });
    await new Promise<void>((resolve, reject) => {
      if (stop.aborted) return resolve();
      stop.addEventListener('abort', () => resolve(), { once: true });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (stop.aborted) return;
          await onRecord({
            topic, partition, offset: BigInt(message.offset), key: message.key, value: message.value,
            timestamp: Number(message.timestamp), headers: headerStrings(message.headers),
          });
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [name, [value!].flat().map(String).join(',')]));
}
