// The worker's default topic names, and creating the topics with their partitions and retention.
import type { Kafka } from 'kafkajs';
import type { Topics } from '../domain/records.js';

export const DEFAULT_TOPICS: Topics = {
  documents: 'bioner.documents.v1',
  entities: 'bioner.entities.v1',
  annotated: 'bioner.annotated-documents.v1',
  deadLetters: 'bioner.documents.dlq.v1',
};

const DAY_MS = 24 * 3600 * 1000;

/** Creates the missing topics and returns their names; dead letters are kept longest, since someone must look at them. */
export async function ensureTopics(kafka: Kafka, topics: Topics, partitions: number, replicationFactor = 1): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(Object.values(topics))].filter((topic) => !existing.has(topic));
    const retention = (topic: string) => (topic === topics.deadLetters ? 30 : 7) * DAY_MS;
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor,
          configEntries: [{ name: 'retention.ms', value: String(retention(topic)) }],
        })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}
