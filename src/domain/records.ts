// The Kafka records the worker reads and writes, and the topics they travel on; plain data, so
// every layer can name them without importing kafkajs.

/** A record to publish. */
export interface OutputMessage {
  topic: string;
  key: string | Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
}

/** An input record and where it sits in the input topic. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's timestamp, milliseconds since the epoch. */
  timestamp: number;
}

/** The worker's topics: its input, its two outputs and its dead letters. */
export interface Topics {
  documents: string;
  entities: string;
  annotated: string;
  deadLetters: string;
}
