// Publishes finished documents' records and commits their input offsets, in one of two modes:
// at-least-once (send, await the acks, then commit) or exactly-once (one transaction carrying
// both the records and the offsets; downstream reads with isolation.level=read_committed).
import { KafkaJSError, type Consumer, type Kafka, type Producer, type TopicPartitionOffsetAndMetadata } from 'kafkajs';
import type { OutputMessage } from '../domain/records.js';

export type DeliveryMode = 'at-least-once' | 'exactly-once';

export interface PublisherOptions {
  mode: DeliveryMode;
  groupId: string;
  /** Stable per worker instance, so a restarted instance fences its predecessor's open transaction. */
  transactionalId: string;
  /** Short, so a crashed worker's open transaction does not stall read_committed readers for long. */
  transactionTimeoutMs: number;
}

/** One step of a delivery, retried on its own. */
export interface DeliveryStep {
  name: 'send' | 'commit' | 'transaction';
  run(): Promise<void>;
}

export class OutputPublisher {
  private constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly options: PublisherOptions,
  ) {}

  static async connect(kafka: Kafka, consumer: Consumer, options: PublisherOptions): Promise<OutputPublisher> {
    const transactional = options.mode === 'exactly-once';
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: transactional ? 1 : 5,
      ...(transactional
        ? { transactionalId: options.transactionalId, transactionTimeout: options.transactionTimeoutMs }
        : {}),
    });
    await producer.connect();
    return new OutputPublisher(producer, consumer, options);
  }

  /**
   * The steps that deliver outputs with their input offsets. The caller retries each step alone,
   * so a retry never repeats a step that succeeded: at-least-once sends (awaiting the acks),
   * then commits; exactly-once is one transaction, which a failure aborts whole.
   */
  deliverySteps(outputs: OutputMessage[], offsets: TopicPartitionOffsetAndMetadata[]): DeliveryStep[] {
    const topicMessages = groupByTopic(outputs);
    if (this.options.mode === 'at-least-once') {
      return [
        {
          name: 'send',
          run: async () => {
            if (topicMessages.length > 0) await this.producer.sendBatch({ topicMessages, acks: -1 });
          },
        },
        { name: 'commit', run: () => this.consumer.commitOffsets(offsets) },
      ];
    }
    return [{ name: 'transaction', run: () => this.transact(topicMessages, offsets) }];
  }

  private async transact(topicMessages: ReturnType<typeof groupByTopic>, offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    const transaction = await this.producer.transaction();
    try {
      if (topicMessages.length > 0) await transaction.sendBatch({ topicMessages, acks: -1 });
      await transaction.sendOffsets({ consumerGroupId: this.options.groupId, topics: byTopic(offsets) });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }

  /** Errors no retry can mend: another instance took over this transactional id. */
  isFatal(error: unknown): boolean {
    const type = (error as KafkaJSError & { type?: string }).type;
    return type === 'PRODUCER_FENCED' || type === 'INVALID_PRODUCER_EPOCH' || type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

function groupByTopic(outputs: OutputMessage[]) {
  const byName = new Map<string, OutputMessage[]>();
  for (const message of outputs) {
    const list = byName.get(message.topic) ?? [];
    list.push(message);
    byName.set(message.topic, list);
  }
  return [...byName].map(([topic, messages]) => ({
    topic,
    messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
  }));
}

function byTopic(offsets: TopicPartitionOffsetAndMetadata[]) {
  const topics = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset }]);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
