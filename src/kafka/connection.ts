// One place that turns connection settings into a kafkajs client, so the worker, the demo and
// the tests reach a local broker or a secured cluster the same way.
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    brokers: connection.brokers,
    clientId: connection.clientId,
    ssl: connection.ssl ?? false,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    logLevel: logLevel.WARN,
    // Keep retrying through a broker restart instead of giving up after ~30 s.
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}
